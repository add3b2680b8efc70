/**
 * "Find the best model for this device": the search spec a user writes (CLI `pocketbench search
 * spec.json`, the wizard) and the result the search stage stores. A spec becomes an ordinary
 * recipe (teacher stage + `search` stage), so a search is a run like any other: progress, cancel,
 * resume and history come from the pipeline.
 */
import { z } from 'zod';
import { datasetSchema, searchStage, templateNames, type RecipeInput, type RecipeIssue, type SearchPrecision } from './recipe';

const teacherSchema = z.union([
  z.object({
    /** Train a built-in template first. */
    template: z.enum(templateNames, { error: `must be one of ${templateNames.join(', ')}` }),
    width: z.number().min(0.03).max(8).default(1),
    epochs: z.number().int().min(1).max(1000).default(10),
  }),
  z.object({ artifactId: z.number().int().min(1) }),
  z.object({ path: z.string().min(1, 'give the path of the teacher model') }),
]);

const stage = searchStage.omit({ kind: true });

export const searchSpecSchema = z.object({
  name: z.string().min(1).max(120).optional(),
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(42),
  dataset: datasetSchema,
  teacher: teacherSchema,
  target: stage.shape.target,
  budget: stage.shape.budget,
  space: stage.shape.space,
  strategy: stage.shape.strategy,
  bench: stage.shape.bench,
});
export type SearchSpec = z.infer<typeof searchSpecSchema>;
export type SearchSpecInput = z.input<typeof searchSpecSchema>;

/** The recipe a search spec runs as: a teacher stage, then the search stage. */
export function searchRecipe(spec: SearchSpec): RecipeInput {
  const t = spec.teacher;
  const teacher =
    'template' in t
      ? { kind: 'train-teacher' as const, model: { template: t.template, width: t.width }, epochs: t.epochs }
      : 'artifactId' in t
        ? { kind: 'load-teacher' as const, artifactId: t.artifactId }
        : { kind: 'load-teacher' as const, path: t.path };
  return {
    name: spec.name ?? `Find the best model for ${spec.target === 'host' ? 'this computer' : spec.target}`,
    seed: spec.seed,
    dataset: spec.dataset,
    stages: [teacher, { kind: 'search', target: spec.target, budget: spec.budget, space: spec.space, strategy: spec.strategy, bench: spec.bench }],
  } as RecipeInput;
}

/** One architecture the search trains: template, width, input side. */
export interface SearchArch {
  template: string;
  width: number;
  /** Input side length (square images); null for tabular data. */
  resolution: number | null;
}

export type DropReason =
  | 'size'
  | 'latency-model'
  | 'halving'
  | 'accuracy'
  | 'fidelity'
  | 'latency'
  | 'dominated'
  | 'failed';

export interface SearchCandidate {
  /** Stable id: `lenet w0.5 r28 s0.5 int8`. */
  id: string;
  arch: SearchArch;
  sparsity: number | null;
  precision: SearchPrecision | null;
  /** The rung it reached (0-based) and the epochs it trained. */
  rung: number;
  epochs: number;
  status: 'recommended' | 'meets-budget' | 'dropped';
  droppedBecause?: DropReason;
  /** Why it was dropped, or what it missed, in words. */
  reason?: string;
  /** Validation accuracy (0..1): of the exported .tflite in LiteRT for finished candidates, of the TF.js model at a rung. */
  valAccuracy?: number;
  /** Agreement with the teacher's top-1 on validation (0..1), .tflite candidates only. */
  fidelity?: number;
  bytes?: number;
  gzipBytes?: number;
  params?: number;
  latencyMs?: number;
  /** Distribution-free interval of the median of trial means, when measured with ≥ 2 trials. */
  latencyCiMs?: [number, number] | null;
  /** The latency model's prediction made before this candidate was measured (or instead of measuring). */
  predictedLatencyMs?: number;
  measured?: boolean;
  /** The measurement came from the cache (same file content measured before on this target). */
  cached?: boolean;
  benchmarkId?: number;
  /** The TF.js artifact (trained student) and the .tflite artifact. */
  modelArtifactId?: number;
  tfliteArtifactId?: number;
  keptInFloat?: string[];
}

export interface SearchBudget {
  maxAccuracyDrop?: number;
  maxFidelityDrop?: number;
  maxLatencyMs?: number;
  maxBytes?: number;
}

export interface LatencyModelReport {
  /** Feature names and fitted costs (µs per unit: per MAC for convolutions, per weight byte for dense layers, per operator). */
  features: string[];
  coefficients: number[];
  /** Measurements the final fit used. */
  measurements: number;
  /** Candidates predicted before they were measured: how far off the prediction was. */
  heldOut: { n: number; medianRelError: number | null; maxRelError: number | null };
  /** Candidates not measured because the prediction put them out of the latency budget. */
  skipped: number;
}

export interface SearchResult {
  target: string;
  budget: SearchBudget;
  teacher: {
    artifactId: number;
    tfliteArtifactId: number;
    valAccuracy: number;
    testAccuracy: number;
    latencyMs: number;
    latencyCiMs: [number, number] | null;
    bytes: number;
  };
  candidates: SearchCandidate[];
  /** Candidate ids on the Pareto frontier (validation accuracy against latency, against file size). */
  frontier: { latency: string[]; size: string[] };
  recommended: null | {
    id: string;
    /** Measured once, at the end, on the test split with the exported .tflite in LiteRT. */
    testAccuracy: number;
    testDrop: number;
    valDrop: number;
    fidelity: number | null;
    latencyMs: number;
    latencyCiMs: [number, number] | null;
    bytes: number;
    /** How far inside each budget it is (budget − value; accuracy and fidelity in points). */
    margins: { accuracy?: number; fidelity?: number; latencyMs?: number; bytes?: number };
    /**
     * Teacher FP32 latency ÷ recommended latency, from a paired measurement at the end (teacher,
     * recommended, teacher, recommended, back to back, so both see the same machine load); the
     * search-time figures of both are in `teacher.latencyMs` and the candidate's row.
     */
    speedup: number;
    paired: { teacherMs: number[]; recommendedMs: number[] };
    sizeRatio: number;
    tfliteArtifactId: number;
    modelArtifactId: number;
  };
  /** When nothing meets the budget: the candidate that misses it by least, and by how much. */
  closest: null | { id: string; misses: string[] };
  verdict: string;
  latencyModel: LatencyModelReport;
  elapsedMs: number;
  /** Work done: training epochs (all candidates), exports, benchmarks. */
  work: { trainedEpochs: number; exports: number; benchmarks: number; cachedBenchmarks: number };
}

export function archId(a: SearchArch): string {
  return `${a.template} w${a.width}${a.resolution ? ` r${a.resolution}` : ''}`;
}

export function candidateId(a: SearchArch, sparsity: number, precision: SearchPrecision): string {
  return `${archId(a)} s${sparsity} ${precision}`;
}

/** What a search will do before it runs: its recipe (start it with `runs.start`) and the size of the work. */
export interface SearchPlan {
  ok: boolean;
  errors: RecipeIssue[];
  recipe?: RecipeInput;
  architectures?: number;
  /** Architectures trained at each rung and their total epochs at its end. */
  rungs?: { size: number; epochs: number }[];
  /** Finalist variants (finalists × sparsities × precisions) exported and measured at most. */
  candidates?: number;
  target?: string;
}

