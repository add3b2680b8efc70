/**
 * How much memory a training step takes, foreseen from the model's graph, and how to split a batch
 * so that it fits (issue 14). On the wasm backend every tensor lives in one WebAssembly heap of at
 * most 4 GiB; when an allocation fails there, the module dies with "table index is out of bounds"
 * (or "memory access out of bounds") and takes the run with it. So the step is planned before it runs:
 *
 *   bytes(step) ≈ fixed + batch × Σ_layers outputElements(layer) × floatsKept(layer class) × 4
 *
 * `floatsKept` is what a layer's forward and backward keep alive per output element while a tape
 * records: its output, the tensors its gradient saves and the transient gradient buffers (measured
 * with `tf.profile` on one-layer models; `memory.test.ts` checks the estimate stays above the real
 * peak and within a small factor of it on small MobileNet- and ResNet-like graphs). When a batch does
 * not fit the budget, it is split into micro-batches whose gradients are accumulated before one
 * optimizer update (`createTrainStep`); when a single image does not fit, training is refused with
 * a message that says what to change.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';

/** Floats kept per output element and sample, by layer class (training step with a tape, wasm backend). */
const FLOATS_KEPT: Record<string, number> = {
  InputLayer: 1,
  Conv2D: 5,
  Dense: 5,
  DepthwiseConv2D: 4,
  BatchNormalization: 5, // one taped op (tf/fused-norm.ts); tfjs-layers' own op chain kept ~12
  ReLU: 2, // ReLU6 as one taped op saving its output (fused-norm.ts), or a plain ReLU
  Activation: 2,
  Add: 2,
  ZeroPadding2D: 2,
  MaxPooling2D: 3,
  AveragePooling2D: 3,
  GlobalAveragePooling2D: 1,
  Flatten: 1,
  Dropout: 3,
};
const DEFAULT_FLOATS_KEPT = 4;
/** Headroom over the one-layer measurements: a layer's transient gradient buffers overlap its neighbours' in a deep graph. */
const MARGIN = 1.3;

/** Memory a step may use for activations unless told otherwise: 1.5 GiB (the wasm heap holds 4 GiB at most). */
export const DEFAULT_STEP_MEMORY_BYTES = 1536 * 2 ** 20;

/** The step memory budget: POCKETBENCH_STEP_MEMORY_MB when set (64 MiB to 3.5 GiB), else the default. */
export function stepMemoryBudget(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.POCKETBENCH_STEP_MEMORY_MB?.trim();
  if (raw) {
    const mb = Number(raw);
    if (!(Number.isFinite(mb) && mb >= 64 && mb <= 3584)) {
      throw new AppError('INVALID_ARGS', `POCKETBENCH_STEP_MEMORY_MB must be a number of MiB from 64 to 3584 (got "${raw}").`);
    }
    return mb * 2 ** 20;
  }
  return DEFAULT_STEP_MEMORY_BYTES;
}

const prod = (xs: (number | null)[]) => xs.reduce<number>((a, b) => a * (b ?? 1), 1);

function outputElements(layer: tfl.layers.Layer): number {
  const shape = layer.outputShape as (number | null)[] | (number | null)[][];
  const shapes = Array.isArray(shape[0]) ? (shape as (number | null)[][]) : [shape as (number | null)[]];
  return shapes.reduce((s, sh) => s + prod(sh.slice(1)), 0);
}

/** Without the fused BatchNorm / ReLU6 ops (any backend but wasm) tfjs-layers' own op chains keep more. */
const UNFUSED_FLOATS_KEPT: Record<string, number> = { BatchNormalization: 12, ReLU: 4 };

function floatsKept(layer: tfl.layers.Layer): number {
  const cls = layer.getClassName();
  if (tf.getBackend() !== 'wasm' && cls in UNFUSED_FLOATS_KEPT) return UNFUSED_FLOATS_KEPT[cls];
  return FLOATS_KEPT[cls] ?? DEFAULT_FLOATS_KEPT;
}

export interface StepMemory {
  /** Bytes per sample of the batch while a training step runs. */
  perSampleBytes: number;
  /** Bytes that do not grow with the batch: weights, their gradients, Adam's two moments. */
  fixedBytes: number;
  /** The three layers that keep the most per sample, for messages. */
  heaviest: { name: string; bytes: number }[];
}

/** A training step's memory for this model, from its graph (see the module comment). */
export function estimateStepMemory(model: tfl.LayersModel): StepMemory {
  let perSample = 0;
  const per: { name: string; bytes: number }[] = [];
  for (const layer of model.layers) {
    const bytes = outputElements(layer) * floatsKept(layer) * 4 * MARGIN;
    perSample += bytes;
    per.push({ name: layer.name, bytes });
  }
  // Weights, gradients, two Adam moments and the updated copies.
  const fixedBytes = model.countParams() * 4 * 5;
  return { perSampleBytes: perSample, fixedBytes, heaviest: per.sort((a, b) => b.bytes - a.bytes).slice(0, 3) };
}

/** Inference (no tape): the largest input + output pair of a layer, per sample. */
export function estimateInferencePerSample(model: tfl.LayersModel): number {
  let worst = 0;
  for (const layer of model.layers) {
    const inputs = layer.inboundNodes[0]?.inboundLayers.reduce((s, l) => s + outputElements(l), 0) ?? 0;
    worst = Math.max(worst, (inputs + outputElements(layer)) * 4);
  }
  return worst * 2; // the tensors of the layer before may still be alive
}

export interface MicroBatchPlan {
  batch: number;
  /** Samples per micro-batch (= batch when it fits whole). */
  microBatch: number;
  /** Number of micro-batches a batch is split into. */
  count: number;
  /** Estimated bytes of one micro-batch step. */
  estimatedBytes: number;
  budgetBytes: number;
}

const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;

/**
 * The largest micro-batch (≤ batch) whose estimated step fits the budget, with the batch split into
 * micro-batches of nearly equal size. `extraPerSampleBytes` adds what the loss runs besides the model
 * (a distillation teacher's forward pass). Throws OUT_OF_MEMORY when one sample does not fit.
 */
export function planMicroBatches(batch: number, memory: StepMemory, budgetBytes: number, extraPerSampleBytes = 0): MicroBatchPlan {
  const perSample = memory.perSampleBytes + extraPerSampleBytes;
  const room = budgetBytes - memory.fixedBytes;
  const fits = Math.floor(room / perSample);
  if (fits < 1) {
    const heavy = memory.heaviest.map((h) => `${h.name} ${mib(h.bytes)}`).join(', ');
    throw new AppError(
      'OUT_OF_MEMORY',
      `One training image needs about ${mib(perSample + memory.fixedBytes)} for this model (largest layers per image: ${heavy}), more than the ${mib(budgetBytes)} a training step may use. ` +
        'Use a smaller input resolution or a narrower model (a lower width), or raise POCKETBENCH_STEP_MEMORY_MB (at most 3584) on a machine with more memory.',
      { perSampleBytes: perSample, fixedBytes: memory.fixedBytes, budgetBytes },
    );
  }
  const count = Math.ceil(batch / Math.min(batch, fits));
  const microBatch = Math.ceil(batch / count);
  return { batch, microBatch, count, estimatedBytes: memory.fixedBytes + microBatch * perSample, budgetBytes };
}

/** What a split means, for the run log; null when the batch runs whole. */
export function describePlan(plan: MicroBatchPlan): string | null {
  if (plan.count === 1) return null;
  return `A batch of ${plan.batch} does not fit in the ${mib(plan.budgetBytes)} a training step may use (about ${mib(plan.estimatedBytes)} per micro-batch): ` +
    `each batch runs as ${plan.count} micro-batches of up to ${plan.microBatch}, gradients summed before one update (the same update; BatchNormalization uses each micro-batch's statistics). ` +
    'A smaller batch or input resolution avoids the split; POCKETBENCH_STEP_MEMORY_MB raises the budget.';
}

/** Logs a split once per batch size (fit's `onMemoryPlan`), as the stages do. */
export function logPlan(ctx: { log(level: 'info' | 'warn', message: string): void }, plan: MicroBatchPlan): void {
  const message = describePlan(plan);
  if (message) ctx.log('info', message);
}

/** The largest inference batch (≤ wanted) whose forward pass fits the step memory budget. */
export function inferenceBatchSize(model: tfl.LayersModel, wanted: number, budgetBytes: number = stepMemoryBudget()): number {
  return Math.max(1, Math.min(wanted, Math.floor(budgetBytes / estimateInferencePerSample(model))));
}
