/**
 * Engine result types shared by the backend (src-main/data, src-main/models) and the UI: dataset
 * previews, model summaries and student/teacher capacity figures. The backend modules re-export them.
 */
import type { ModelMeta, ModelSourceFormat } from './model-io';
import type { ArtifactSummary } from './types';

export interface ClassPreview {
  name: string;
  count: number;
  /** Small PNG data URLs (images only). */
  samples: string[];
}

export interface DatasetPreview {
  kind: 'fashion-mnist' | 'image-folder' | 'csv';
  source: string;
  modality: 'image' | 'tabular';
  classes: ClassPreview[];
  total: number;
  /** What a load with the same source would produce as one sample's shape. */
  inputShape: number[];
  /** Images: every distinct size found, most common first. */
  imageSizes?: { width: number; height: number; count: number; example: string }[];
  /** Tabular: every column of the file, and which are features. */
  columns?: string[];
  featureNames?: string[];
  /** Things the user should know before loading (skipped files, mixed sizes that will need resizing). */
  warnings: string[];
}

export interface LayerSummary {
  name: string;
  type: string;
  /** Output shape of one sample (no batch dimension). */
  outputShape: number[];
  params: number;
  trainableParams: number;
  nonZeroParams: number;
  macs: number;
  /** Parameters × 4. */
  bytes: number;
  /** Activation, when the layer has one (Dense/Conv2D fused, Activation layers, ReLU caps). */
  activation?: string;
  note?: string;
}

export interface ModelSummary {
  name: string;
  inputShape: number[];
  outputShape: number[];
  /** Whether the model ends in a softmax (imported models) or gives logits (templates). */
  output: 'logits' | 'probabilities';
  layers: LayerSummary[];
  totals: {
    params: number;
    trainableParams: number;
    nonZeroParams: number;
    /** Sum of the layers' MACs. */
    macs: number;
    /** MACs once BatchNormalization is folded into the layer before it, as in the exported .tflite. */
    macsDeployed: number;
    bytes: number;
    /** 1 - nonZero / params. */
    sparsity: number;
  };
}

export interface CapacityComparison {
  teacher: { params: number; macs: number };
  student: { params: number; macs: number };
  /** student / teacher. */
  paramsRatio: number;
  macsRatio: number;
}

export interface WidthSuggestion {
  /** The fraction of the teacher's parameters asked for. */
  target: number;
  width: number;
  params: number;
  macs: number;
  paramsRatio: number;
  macsRatio: number;
}

/** The template list shown in the model pickers. */
export interface TemplateInfo {
  name: 'mlp' | 'lenet' | 'mobilenet' | 'resnet';
  title: string;
  imageOnly: boolean;
  description: string;
}

export type CapacityLevel = 'ok' | 'warn' | 'severe';

/** The capacity check's verdict on a student for a teacher (see src-main/compress/train/capacity.ts for the rule). */
export interface CapacityReport {
  level: CapacityLevel;
  comparison: CapacityComparison;
  /** One sentence per finding, worst first; empty when the student looks able to follow the teacher. */
  findings: { level: Exclude<CapacityLevel, 'ok'>; message: string }[];
  /** Student widths at 1/4, 1/8 and 1/16 of the teacher's parameters (templates only). */
  suggestions: WidthSuggestion[];
  /** The rule in words, for the UI's help text. */
  rule: string;
}

/** What a recipe will cost on this computer, measured on the active backend. */
export interface RecipeEstimate {
  backend: string | null;
  trainSamples: number;
  stages: { index: number; kind: string; batches: number; msPerBatch: number | null; ms: number | null; note?: string }[];
  /** Sum of the stages that could be estimated. */
  totalMs: number;
  teacher?: { params: number; macs: number; bytes: number };
  student?: { params: number; macs: number; bytes: number };
}

/** What `models.import` and `pocketbench import` report about a model brought from outside. */
export interface ModelImportResult {
  /** The stored artifact (a flat TF.js Layers model with its meta). */
  artifact: ArtifactSummary;
  /** The file read and its format. */
  file: string;
  format: ModelSourceFormat;
  meta: ModelMeta;
  summary: ModelSummary;
  /** Things to know that did not stop the import (guessed normalization, labels not found…). */
  warnings: string[];
  /** How the input normalization was chosen, and whether it is a guess to check. */
  normalization: { source: string; reason: string; guessed: boolean };
  labelsSource: string | null;
  /** Nested models expanded into the flat graph. */
  nestedModels: number;
}

/** The built-in dataset arriving on first use (event `datasets.download`, and a run's progress). */
export interface DatasetDownloadProgress {
  /** The file being fetched or checked now. */
  file: string;
  /** 0-based index of that file among the ones being downloaded, and how many there are. */
  index: number;
  files: number;
  /** Bytes of all files being downloaded so far, and their total when known. */
  bytes: number;
  total: number | null;
  /** True when this file continued an earlier, interrupted download. */
  resumed: boolean;
  phase: 'download' | 'verify' | 'done';
}
