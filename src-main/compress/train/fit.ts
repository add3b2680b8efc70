/**
 * The training loop every stage uses (train-teacher, distill, prune fine-tuning, QAT):
 *
 *   const result = await fit({ model, data: trainingView(ds), epochs: 10, batchSize: 64,
 *     optimizer: 'adam', lr: 1e-3, schedule: { kind: 'cosine', minFactor: 0.01 },
 *     earlyStopping: { patience: 3 }, seed: 42, signal, onBatch, onEpoch,
 *     checkpoint: { dir: ctx.checkpointDir, resume: ctx.resuming } });
 *
 * - Seeded: the sample order of epoch e depends only on (seed, e), so equal seeds repeat exactly
 *   and a resumed run continues with the same order.
 * - Only the train and validation splits are seen (`TrainingData` has no test split). Validation
 *   runs after every epoch (model selection and early stopping use it).
 * - Early stopping watches validation accuracy: stop after `patience` epochs without an improvement
 *   larger than `minDelta`, then restore the best epoch's weights.
 * - Cancel: `signal` / `throwIfCancelled` are checked before every batch, so at most the batch in
 *   flight finishes; a CANCELLED AppError is thrown.
 * - Hooks: `lossFn` replaces the loss (distillation, QAT custom forward), `afterStep` runs after
 *   every optimizer step (pruning re-applies its masks), `extraVariables` are trained too
 *   (adapters), `forward` replaces `model.predict` for validation.
 * - Checkpoint every epoch (weights, optimizer state, best weights, history) when `checkpoint` is
 *   given; with `resume: true` training continues after the last finished epoch.
 * - No tensor is left behind: `tf.memory().numTensors` is flat across epochs.
 */
import { cancelPoint } from '../../tf/cancel';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import type { TrainingData } from '../../data';
import type { ClassificationMetrics } from '../metrics';
import { epochOrder, evaluate, gatherBatch } from './batches';
import { checkCheckpointShapes, copyWeights, hasCheckpoint, readCheckpoint, writeCheckpoint } from './checkpoint';
import type { MicroBatchPlan } from './memory';
import { learningRateAt, type LrSchedule } from './schedule';
import { type BatchInfo, createOptimizer, createTrainStep, crossEntropyLoss, type LossFn, setLearningRate } from './step';

export interface BatchProgress {
  /** 1-based epoch in progress. */
  epoch: number;
  epochs: number;
  /** 1-based batch just finished. */
  batch: number;
  batches: number;
  /** This batch's loss and the running mean over the epoch so far. */
  loss: number;
  meanLoss: number;
  lr: number;
  /** 0..1 over the whole fit. */
  fraction: number;
  etaMs: number;
}

export interface EpochRecord {
  /** 1-based epoch just finished. */
  epoch: number;
  lr: number;
  loss: number;
  valAccuracy?: number;
  valLoss?: number;
  valTopK?: number;
  valEce?: number;
  ms: number;
}

export interface EpochProgress extends EpochRecord {
  epochs: number;
  fraction: number;
  etaMs: number;
  /** Full validation metrics of this epoch. */
  val?: ClassificationMetrics;
  isBest: boolean;
  /** Flat numbers for progress events: loss, lr, val_accuracy, val_loss... */
  metrics: Record<string, number>;
}

export interface FitOptions {
  model: tfl.LayersModel;
  data: TrainingData;
  epochs: number;
  /** Default 64. */
  batchSize?: number;
  /** A name (created here with `lr` and `momentum`, disposed at the end) or your own optimizer. Default 'adam'. */
  optimizer?: 'adam' | 'sgd' | tf.Optimizer;
  /** Base learning rate. Default 1e-3. */
  lr?: number;
  /** SGD momentum. Default 0. */
  momentum?: number;
  schedule?: LrSchedule;
  earlyStopping?: { patience: number; minDelta?: number };
  /**
   * 1-based first epoch that model selection (and early stopping) may pick. Earlier epochs are
   * trained and validated but never restored: gradual pruning raises the sparsity during its first
   * epochs, and restoring one of them would return weights trained under an earlier, less sparse mask.
   * Default 1. Above `epochs`: no selection, the last epoch's weights are kept.
   */
  selectFromEpoch?: number;
  /** Default 0. */
  seed?: number;
  signal?: AbortSignal;
  throwIfCancelled?: () => void;
  onBatch?: (p: BatchProgress) => void;
  onEpoch?: (p: EpochProgress) => void | Promise<void>;
  /** Replaces the default loss (cross-entropy on the labeled samples). */
  lossFn?: LossFn;
  /** Runs after every optimizer step (outside the tidy scope of the step). */
  afterStep?: (batch: BatchInfo) => void;
  /** Variables trained besides the model's trainable weights (adapters, auxiliary heads). */
  extraVariables?: tf.Variable[];
  /** Validation forward pass; default `model.predict`. */
  forward?: (xs: tf.Tensor) => tf.Tensor;
  /** 'labeled' (default): only samples with a label; 'all': every training sample (for losses that use unlabeled ones). */
  samples?: 'labeled' | 'all';
  /** Write a checkpoint into `dir` after every epoch; continue from it when `resume`. */
  checkpoint?: { dir: string; resume?: boolean };
  /** k of the top-k validation accuracy. Default 5. */
  topK?: number;
  /** Bytes per sample the loss needs besides the model (a live teacher's forward pass), for the step's memory plan. */
  extraPerSampleBytes?: number;
  /** Told the step's memory plan (a batch split into micro-batches when it does not fit; see compress/train/memory.ts). */
  onMemoryPlan?: (plan: MicroBatchPlan) => void;
}

export interface FitResult {
  history: EpochRecord[];
  /** Per-epoch curves: loss, lr, val_accuracy, val_loss, val_ece. */
  curves: Record<string, number[]>;
  epochsRun: number;
  stoppedEarly: boolean;
  /** 1-based epoch whose weights the model holds at the end (the best one when validating). */
  bestEpoch: number;
  /** Validation metrics of the weights the model holds at the end. */
  val?: ClassificationMetrics;
  /** Epochs already done when this call started (from a checkpoint). */
  resumedFromEpoch: number;
  /** Mean wall time of a training step (ms), for estimates. */
  msPerBatch: number;
  steps: number;
}

interface FitState {
  epochsDone: number;
  history: EpochRecord[];
  bestEpoch: number;
  bestMetric: number;
  sinceBest: number;
  steps: number;
  stopped: boolean;
}

function cancelled(): AppError {
  return new AppError('CANCELLED', 'Training was cancelled. Resume the run to continue from the last finished epoch.');
}

export async function fit(opts: FitOptions): Promise<FitResult> {
  const { model, data, epochs } = opts;
  const batchSize = opts.batchSize ?? 64;
  const baseLr = opts.lr ?? 1e-3;
  const seed = opts.seed ?? 0;
  if (!(epochs >= 1)) throw new AppError('INVALID_ARGS', `Epochs must be at least 1 (got ${epochs}).`);
  if (!(batchSize >= 1)) throw new AppError('INVALID_ARGS', `Batch size must be at least 1 (got ${batchSize}).`);
  const outShape = model.outputs[0].shape;
  const numClasses = data.info.classes.length;
  if (outShape[outShape.length - 1] !== numClasses) {
    throw new AppError('INVALID_ARGS', `The model outputs ${outShape[outShape.length - 1]} values but the dataset has ${numClasses} classes. Pick a model built for ${numClasses} classes.`);
  }
  const train = data.train;
  const pool = Int32Array.from(
    (function* () {
      for (let i = 0; i < train.n; i++) if (opts.samples === 'all' || train.y[i] >= 0) yield i;
    })(),
  );
  if (pool.length === 0) throw new AppError('INVALID_ARGS', 'The training split has no labeled samples to train on. Give the dataset labels, or use a loss that learns from unlabeled samples.');
  const validate = data.val.n > 0;
  if (opts.earlyStopping && !validate) throw new AppError('INVALID_ARGS', 'Early stopping needs a validation split, and this dataset has none. Raise the validation fraction or turn early stopping off.');

  const ownsOptimizer = typeof opts.optimizer !== 'object';
  const optimizer = typeof opts.optimizer === 'object' ? opts.optimizer : createOptimizer(opts.optimizer ?? 'adam', baseLr, opts.momentum ?? 0);
  const step = createTrainStep(model, optimizer, opts.lossFn ?? crossEntropyLoss(model), opts.extraVariables, { extraPerSampleBytes: opts.extraPerSampleBytes, onPlan: opts.onMemoryPlan });
  const batches = Math.ceil(pool.length / batchSize);
  const checkCancel = () => {
    if (opts.signal?.aborted) throw cancelled();
    opts.throwIfCancelled?.();
    cancelPoint();
  };
  const namedWeights = () => model.weights.map((w) => ({ name: w.name, tensor: w.read() }));

  let state: FitState = { epochsDone: 0, history: [], bestEpoch: 0, bestMetric: -Infinity, sinceBest: 0, steps: 0, stopped: false };
  let best: Float32Array[] | null = null;
  try {
    if (opts.checkpoint?.resume && hasCheckpoint(opts.checkpoint.dir)) {
      const saved = readCheckpoint<FitState>(opts.checkpoint.dir);
      checkCheckpointShapes(opts.checkpoint.dir, namedWeights(), saved.model);
      setWeightsFrom(model, saved.model.map((m) => m.values));
      if (saved.optimizer.length) {
        const tensors = saved.optimizer.map((o) => ({ name: o.name, tensor: tf.tensor(o.values, o.shape) }));
        await optimizer.setWeights(tensors);
        tf.dispose(tensors.map((t) => t.tensor));
      }
      best = saved.best;
      state = saved.state;
    }
    const resumedFromEpoch = state.epochsDone;
    let trainMs = 0;
    let trainSteps = 0;
    let evalMs = 0;
    const eta = (epochIndex: number, batchDone: number) => {
      const perBatch = trainSteps ? trainMs / trainSteps : 0;
      const batchesLeft = (epochs - epochIndex - 1) * batches + (batches - batchDone);
      return Math.round(batchesLeft * perBatch + (epochs - epochIndex - (batchDone === batches ? 1 : 0)) * evalMs);
    };

    for (let e = state.epochsDone; e < epochs && !state.stopped; e++) {
      const started = Date.now();
      const lr = learningRateAt(opts.schedule, baseLr, e, epochs);
      setLearningRate(optimizer, lr);
      const order = epochOrder(pool, seed, e);
      let lossSum = 0;
      for (let b = 0; b < batches; b++) {
        checkCancel();
        const indices = order.subarray(b * batchSize, Math.min(order.length, (b + 1) * batchSize));
        const t0 = Date.now();
        const { xs, ys } = gatherBatch(train, indices);
        const info: BatchInfo = { indices, epoch: e, batch: b, step: state.steps };
        let loss: number;
        try {
          loss = step(xs, ys, info);
        } catch (err) {
          throw explainKernelError(err);
        } finally {
          xs.dispose();
          ys.dispose();
        }
        if (!Number.isFinite(loss)) {
          throw new AppError('TRAINING_DIVERGED', `The loss became ${loss} at epoch ${e + 1}, batch ${b + 1}. Lower the learning rate (now ${lr}) and run again.`);
        }
        state.steps++;
        opts.afterStep?.(info);
        trainMs += Date.now() - t0;
        trainSteps++;
        lossSum += loss;
        opts.onBatch?.({ epoch: e + 1, epochs, batch: b + 1, batches, loss, meanLoss: lossSum / (b + 1), lr, fraction: (e * batches + b + 1) / (epochs * batches), etaMs: eta(e, b + 1) });
      }
      const record: EpochRecord = { epoch: e + 1, lr, loss: lossSum / batches, ms: 0 };
      let val: ClassificationMetrics | undefined;
      let isBest = false;
      if (validate) {
        const t0 = Date.now();
        val = evaluate(model, data.val, { forward: opts.forward, k: opts.topK, numClasses });
        evalMs = Date.now() - t0;
        Object.assign(record, { valAccuracy: val.accuracy, valLoss: val.loss, valTopK: val.topK, valEce: val.ece });
        const minDelta = opts.earlyStopping?.minDelta ?? 0;
        if (e + 1 < (opts.selectFromEpoch ?? 1)) {
          // Not eligible for model selection (see selectFromEpoch).
        } else if (val.accuracy > state.bestMetric + minDelta || state.bestEpoch === 0) {
          state.bestMetric = val.accuracy;
          state.bestEpoch = e + 1;
          state.sinceBest = 0;
          best = copyWeights(model.weights.map((w) => w.read()));
          isBest = true;
        } else {
          state.sinceBest++;
          if (opts.earlyStopping && state.sinceBest >= opts.earlyStopping.patience) state.stopped = true;
        }
      } else {
        state.bestEpoch = e + 1;
      }
      record.ms = Date.now() - started;
      state.history.push(record);
      state.epochsDone = e + 1;
      if (opts.checkpoint) await writeCheckpoint(opts.checkpoint.dir, state, namedWeights(), optimizer, validate ? best : null);
      const metrics: Record<string, number> = { loss: record.loss, lr };
      if (val) Object.assign(metrics, { val_accuracy: val.accuracy, val_loss: val.loss, val_top_k: val.topK, val_ece: val.ece });
      await opts.onEpoch?.({ ...record, epochs, fraction: (e + 1) / epochs, etaMs: state.stopped ? 0 : eta(e, batches), val, isBest, metrics });
    }

    let finalVal: ClassificationMetrics | undefined;
    if (state.bestEpoch === 0) state.bestEpoch = state.epochsDone;
    if (validate && best && state.bestEpoch !== state.epochsDone) {
      setWeightsFrom(model, best);
      finalVal = evaluate(model, data.val, { forward: opts.forward, k: opts.topK, numClasses });
    } else if (validate) {
      finalVal = evaluate(model, data.val, { forward: opts.forward, k: opts.topK, numClasses });
    }
    const h = state.history;
    const curves: Record<string, number[]> = { loss: h.map((r) => r.loss), lr: h.map((r) => r.lr) };
    if (validate) {
      curves.val_accuracy = h.map((r) => r.valAccuracy ?? NaN);
      curves.val_loss = h.map((r) => r.valLoss ?? NaN);
      curves.val_ece = h.map((r) => r.valEce ?? NaN);
    }
    return {
      history: h,
      curves,
      epochsRun: state.epochsDone,
      stoppedEarly: state.stopped,
      bestEpoch: state.bestEpoch,
      val: finalVal,
      resumedFromEpoch,
      msPerBatch: trainSteps ? trainMs / trainSteps : NaN,
      steps: state.steps,
    };
  } finally {
    if (ownsOptimizer) optimizer.dispose();
  }
}

/**
 * A missing gradient kernel (the stock wasm backend lacks some) becomes an error that says what to do;
 * so does the wasm heap running out (the memory plan should have prevented it: compress/train/memory.ts).
 */
function explainKernelError(err: unknown): unknown {
  const text = String((err as Error)?.message ?? err);
  if (/table index is out of bounds|memory access out of bounds|Cannot enlarge memory|Out of memory|Array buffer allocation failed/i.test(text)) {
    return new AppError(
      'OUT_OF_MEMORY',
      `Training ran out of memory (${text.split('\n')[0]}). Lower the batch size or the input resolution, or lower POCKETBENCH_STEP_MEMORY_MB so batches are split into smaller micro-batches; then resume the run.`,
      { cause: text.split('\n')[0] },
    );
  }
  const m = /Kernel '(\w+)' not registered for backend '(\w+)'/.exec(text);
  if (!m) return err;
  return new AppError(
    'UNSUPPORTED',
    `The ${m[2]} compute backend cannot train this model: it has no ${m[1]} kernel. Choose a model without that layer type (for example the MLP template), or run on a backend that has it (POCKETBENCH_BACKEND=cpu is slow but complete).`,
    { kernel: m[1], backend: m[2] },
  );
}

/** Assign typed-array weights to every model weight (trainable and not), in `model.weights` order. */
export function setWeightsFrom(model: tfl.LayersModel, values: Float32Array[]): void {
  const tensors = model.weights.map((w, i) => tf.tensor(values[i], w.shape as number[]));
  try {
    model.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
}
