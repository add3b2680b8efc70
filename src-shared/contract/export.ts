/** Contract area: export (.tflite writer, inspector, import) and "This computer" (LiteRT on the host). */
import { z } from 'zod';
import { benchOptionsSchema } from './devices';
import { method } from '../rpc';
import type { ArtifactSummary, BenchmarkSummary, DeviceSummary, LatencyStats, Precision } from '../types';
import { id, none } from './common';

export type TflitePrecision = Precision;

export interface TfliteTensorInfo {
  name: string;
  shape: number[];
  dtype: string;
  scale?: number;
  zeroPoint?: number;
}

/** A model as nodes (operators or layers, plus inputs and outputs) and the edges between them, for the graph view. */
export interface ModelGraph {
  format: 'tflite' | 'tfjs-layers';
  nodes: { id: string; kind: 'input' | 'op' | 'output'; op: string; label: string; shape: number[]; /** Execution order (TFLite operator index). */ index?: number }[];
  edges: { from: string; to: string }[];
}

/** What a .tflite file holds (any converter's). */
export interface TfliteInfo {
  name: string;
  path?: string;
  bytes: number;
  sha256: string;
  schemaVersion: number;
  precision: TflitePrecision;
  inputs: TfliteTensorInfo[];
  outputs: TfliteTensorInfo[];
  /** One row per operator type and version, with how many times it occurs. */
  operators: { op: string; version: number; count: number }[];
  operatorCount: number;
  subgraphs: number;
  /** Elements of constant (weight) tensors, and their bytes. */
  params: number;
  weightBytes: number;
  hasTfliteMetadata: boolean;
  producer?: string;
  recipeHash?: string;
  labels?: string[];
  /** From the standard TFLite metadata (TFLITE_METADATA), when present. */
  metadata?: {
    name?: string;
    description?: string;
    version?: string;
    author?: string;
    normalization?: { mean: number[]; std: number[] };
    associatedFiles: string[];
  };
}

export interface DesktopAccuracy {
  artifactId: number;
  /** Top-1 accuracy of the .tflite file on the whole test split, LiteRT on this computer's CPU. */
  deployedAccuracy: number;
  /** The TF.js model's accuracy on the same split, when known. */
  tfjsAccuracy: number | null;
  samples: number;
  ms: number;
}

export interface HostBenchmark {
  benchmark: BenchmarkSummary;
  stats: LatencyStats;
}

export const exportMethods = {
  'export.tflite': method<ArtifactSummary>()(
    z.object({
      artifactId: id,
      precision: z.enum(['fp32', 'fp16', 'int8-dynamic', 'int8']),
      io: z.enum(['float32', 'int8', 'uint8']).default('float32'),
      calibrationSamples: z.number().int().min(1).max(100_000).default(256),
    }),
    'Export a TF.js artifact to .tflite; records a tflite artifact whose parent is the source.',
  ),
  'export.inspect': method<TfliteInfo>()(z.object({ path: z.string().min(1).max(4096) }).or(z.object({ artifactId: id })), 'Inputs, outputs, operators with versions, precision and size of a .tflite file.'),
  'export.graph': method<ModelGraph>()(z.object({ artifactId: id }), 'The model of an artifact (.tflite or TF.js) as a graph of operators and the tensors between them.'),
  'export.import': method<ArtifactSummary>()(
    z.object({ path: z.string().min(1).max(4096), name: z.string().min(1).max(200).optional() }),
    'Import an existing .tflite (any converter) as an artifact, so it can be profiled and compared.',
  ),
  'export.desktopAccuracy': method<DesktopAccuracy>()(z.object({ artifactId: id }), 'Accuracy of a .tflite artifact on the whole test split with LiteRT on the CPU, stored beside the TF.js accuracy.'),
  'host.describe': method<DeviceSummary>()(none, 'This computer as a profiling target (kind "host").'),
  'host.benchmark': method<HostBenchmark>()(
    // The same options, defaults and method as "Profile on device → This computer" (benchOptionsSchema).
    z.object({ artifactId: id, warmup: benchOptionsSchema.shape.warmup, runs: benchOptionsSchema.shape.runs, trials: benchOptionsSchema.shape.trials }),
    'Run a .tflite artifact in LiteRT on this computer, exactly as profiling on the target "This computer" does (K trials of warm-up + N timed runs; the median of trial means); stored in the benchmarks table.',
  ),
} as const;
export const exportEvents = {} as const;
