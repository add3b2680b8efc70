/**
 * What a stage runner is given and returns. Stage implementations live in their own areas
 * (compress/distill, compress/prune, compress/quantize, export, devices) and register here.
 */
import type { Recipe, StageKind, StageSpec } from '../../src-shared/recipe';
import type { RunProgress } from '../../src-shared/contract/pipeline';
import type { AppPaths } from '../host/paths';
import type { Store } from '../store';

/** A model handed from one stage to the next, by reference to its stored artifact. */
export interface ModelRef {
  artifactId: number;
  path: string;
  format: 'tfjs-layers' | 'tflite';
}

/**
 * The slots stages read and write. A stage that produces a student sets `current`; export sets
 * `tflite`. Slots hold artifact references only, so a resumed run rebuilds them from the store.
 */
export interface PipelineSlots {
  teacher?: ModelRef;
  current?: ModelRef;
  tflite?: ModelRef;
  /** Quantization parameters the export stage needs (written by quantize). */
  quant?: ModelRef;
}

export interface StageContext<S extends StageSpec = StageSpec> {
  runId: number;
  stageIndex: number;
  stageId: number;
  stage: S;
  recipe: Recipe;
  seed: number;
  signal: AbortSignal;
  store: Store;
  paths: AppPaths;
  slots: PipelineSlots;
  /** Folder for this stage's checkpoints; kept until the run succeeds. */
  checkpointDir: string;
  /** True when this stage was interrupted before and should continue from its checkpoint. */
  resuming: boolean;
  progress(p: Omit<RunProgress, 'runId' | 'stageIndex' | 'stageKind'>): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** Throws a CANCELLED error when the run was cancelled; call it between batches. */
  throwIfCancelled(): void;
}

export interface StageResult {
  /** Metrics shown in the results table (accuracy, params, bytes...). */
  metrics?: Record<string, unknown>;
  /** Training curves: name -> one value per epoch. */
  curves?: Record<string, number[]>;
  /** Slots this stage filled (merged into the pipeline's slots). */
  outputs?: Partial<PipelineSlots>;
}

export type StageRunner<K extends StageKind = StageKind> = (ctx: StageContext<Extract<StageSpec, { kind: K }>>) => Promise<StageResult>;

export type StageRegistry = { [K in StageKind]?: StageRunner<K> };
