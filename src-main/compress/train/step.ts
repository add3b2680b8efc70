/**
 * One optimisation step: loss and gradients in one `tf.variableGrads`, one `applyGradients`, all
 * intermediate tensors freed (`tf.tidy`), the loss read back as a number.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { FusedAdamOptimizer } from '../../tf/fused-adam';
import { fusedSparseCrossEntropy } from '../../tf/fused-loss';
import { estimateStepMemory, type MicroBatchPlan, planMicroBatches, stepMemoryBudget } from './memory';

/** Which samples a batch holds (indices into the training split) and where training is. */
export interface BatchInfo {
  indices: Int32Array;
  epoch: number;
  /** Batch index within the epoch. */
  batch: number;
  /** Optimizer steps taken before this one, over the whole fit. */
  step: number;
}

/**
 * The loss of one batch. `ys` holds int32 class indices (`UNLABELED` = -1 where hidden). Run the
 * model yourself (`model.apply(xs, { training: true })`), so a custom forward (QAT fake-quant,
 * feature hooks, a teacher) fits here. Called inside `tf.tidy`: do not keep tensors from it.
 */
export type LossFn = (xs: tf.Tensor, ys: tf.Tensor1D, batch: BatchInfo) => tf.Scalar;

/**
 * Mean softmax cross-entropy over the labeled samples of the batch (0 when none is labeled), with the
 * gradient tfjs derives for it, computed in fewer kernels. The forward pass is the plain formula
 *   loss = Σ_rows −Σ_classes(onehot · logSoftmax(logits)) / max(#labeled, 1)
 * and tfjs' chain rule through it (RealDiv, two Sum broadcasts, Neg, Multiply, then logSoftmax's
 * own gradient) comes down to g = onehot · −(dy / k), then g − Σ_classes(g) · exp(logp): the same
 * float32 operations on the same values (the broadcasts multiply by ones, negation is exact), so
 * the same bits, in 7 kernels instead of 13, and with 2 tensors saved for the backward pass instead
 * of 8. The number of labeled samples is counted in JavaScript: it is a constant of the step.
 * On wasm, for [batch, classes] logits, the whole loss is one fused kernel each way instead
 * (tf/fused-loss.ts; same value to float32 rounding).
 */
export function labelLoss(logits: tf.Tensor, ys: tf.Tensor1D): tf.Scalar {
  const loss = labelLossOfRows(logits, ys);
  const f = microBatchLabelFactor(ys);
  return f === 1 ? loss : (tf.mul(loss, tf.scalar(f)) as tf.Scalar);
}

function labelLossOfRows(logits: tf.Tensor, ys: tf.Tensor1D): tf.Scalar {
  const fused = fusedSparseCrossEntropy(logits, ys);
  if (fused) return fused;
  const numClasses = logits.shape[logits.shape.length - 1]!;
  const k = Math.max(labeledCount(ys), 1);
  const loss = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [l, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const onehot = tf.cast(tf.oneHot(ys, numClasses), 'float32'); // rows of zeros for -1
    const logp = tf.logSoftmax(l as tf.Tensor2D);
    save([onehot, logp]);
    const perSample = tf.neg(tf.sum(tf.mul(onehot, logp), -1));
    return {
      value: tf.div(tf.sum(perSample), tf.scalar(k)) as tf.Scalar,
      gradFunc: (dy: tf.Tensor, [oh, lp]: tf.Tensor[]) => {
        const g = tf.mul(oh, tf.neg(tf.div(dy, tf.scalar(k))));
        return tf.sub(g, tf.mul(tf.sum(g, -1, true), tf.exp(lp)));
      },
    };
  });
  return loss(logits) as tf.Scalar;
}

/** How many labels are known (≥ 0; `UNLABELED` is −1). */
function labeledCount(ys: tf.Tensor1D | Int32Array | Float32Array): number {
  let n = 0;
  for (const y of ys instanceof tf.Tensor ? ys.dataSync() : ys) if (y >= 0) n++;
  return n;
}

/** While a micro-batch's loss is computed: the whole batch's rows and labeled rows. */
let wholeBatch: { rows: number; labeled: number } | null = null;

/**
 * A micro-batch's loss is weighted by its share of the batch's rows (rows_i / rows), which makes the
 * accumulated gradient the whole batch's for every mean over rows. The label loss is a mean over the
 * *labeled* rows: when some rows are unlabeled its micro-batch share is labeled_i / labeled instead,
 * so it is corrected by (labeled_i / labeled) / (rows_i / rows); 1 when every row is labeled.
 */
function microBatchLabelFactor(ys: tf.Tensor1D): number {
  if (!wholeBatch || wholeBatch.labeled === wholeBatch.rows) return 1;
  const rows = ys.shape[0];
  const labeled = labeledCount(ys);
  // No labeled row in the whole batch: every micro-batch's label loss is 0 already.
  if (wholeBatch.labeled === 0) return 1;
  return labeled / wholeBatch.labeled / (rows / wholeBatch.rows);
}

/** The default loss: the model in training mode, cross-entropy on the labels. */
export function crossEntropyLoss(model: tfl.LayersModel): LossFn {
  return (xs, ys) => labelLoss(model.apply(xs, { training: true }) as tf.Tensor, ys);
}

/** The variables a step updates: the model's trainable weights plus any extras (adapters, QAT ranges). */
export function trainableVariables(model: tfl.LayersModel, extra: tf.Variable[] = []): tf.Variable[] {
  return [...model.trainableWeights.map((w) => w.read() as tf.Variable), ...extra];
}

export type TrainStep = (xs: tf.Tensor, ys: tf.Tensor1D, batch?: BatchInfo) => number;

export interface TrainStepOptions {
  /** Bytes a step may use for activations and weights. Default: `stepMemoryBudget()` (POCKETBENCH_STEP_MEMORY_MB or 1.5 GiB). */
  memoryBudgetBytes?: number;
  /** Bytes per sample the loss needs besides the trained model (a live teacher's forward pass). */
  extraPerSampleBytes?: number;
  /** Samples per micro-batch, instead of the plan from the graph (tests, A/B). */
  microBatch?: number;
  /** Told the plan once per batch size (stages log a split). */
  onPlan?: (plan: MicroBatchPlan) => void;
}

/**
 * `step(xs, ys)` runs forward, backward and update and returns the loss. The gradients are taken
 * with respect to the model's trainable weights (and `extraVariables`), read afresh on every step
 * so layers made (un)trainable later are respected.
 *
 * Memory: before the first step of each batch size, the step's memory is estimated from the graph
 * (compress/train/memory.ts). A batch that does not fit is split into micro-batches: each one's loss,
 * weighted by its share of the batch, is differentiated on its own (its activations freed before the
 * next), the gradients are summed and the optimizer updates once, so the update is the whole batch's
 * (to float rounding) for losses that are means over rows. Layers that look across the batch differ:
 * BatchNormalization normalizes each micro-batch with its own statistics and updates its moving
 * statistics once per micro-batch. A batch of one sample that does not fit is refused (OUT_OF_MEMORY).
 */
export function createTrainStep(
  model: tfl.LayersModel,
  optimizer: tf.Optimizer,
  lossFn: LossFn = crossEntropyLoss(model),
  extraVariables: tf.Variable[] = [],
  opts: TrainStepOptions = {},
): TrainStep {
  let steps = 0;
  const plans = new Map<number, MicroBatchPlan>();
  const planFor = (rows: number): MicroBatchPlan => {
    let plan = plans.get(rows);
    if (!plan) {
      const memory = estimateStepMemory(model);
      const budget = opts.memoryBudgetBytes ?? stepMemoryBudget();
      plan = planMicroBatches(rows, memory, budget, opts.extraPerSampleBytes ?? 0);
      if (opts.microBatch) {
        const count = Math.ceil(rows / Math.min(rows, opts.microBatch));
        plan = { ...plan, count, microBatch: Math.ceil(rows / count) };
      }
      plans.set(rows, plan);
      opts.onPlan?.(plan);
    }
    return plan;
  };
  return (xs, ys, batch) => {
    const info = batch ?? { indices: new Int32Array(0), epoch: 0, batch: steps, step: steps };
    const plan = planFor(xs.shape[0]);
    const lossValue = tf.tidy(() => {
      const vars = trainableVariables(model, extraVariables);
      if (plan.count === 1) {
        const { value, grads } = tf.variableGrads(() => lossFn(xs, ys, info), vars);
        optimizer.applyGradients(grads);
        return value;
      }
      const { value, grads } = accumulatedGradients(xs, ys, info, plan.microBatch, lossFn, vars);
      optimizer.applyGradients(grads);
      return value;
    });
    steps++;
    const loss = lossValue.dataSync()[0];
    lossValue.dispose();
    return loss;
  };
}

/** Σ over micro-batches of the gradients of (rows_i / rows) · loss_i, and the summed loss. */
function accumulatedGradients(xs: tf.Tensor, ys: tf.Tensor1D, info: BatchInfo, micro: number, lossFn: LossFn, vars: tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const rows = xs.shape[0];
  let value: tf.Scalar | null = null;
  let grads: tf.NamedTensorMap | null = null;
  const whole = { rows, labeled: labeledCount(ys) };
  for (let start = 0; start < rows; start += micro) {
    const size = Math.min(micro, rows - start);
    const part = tf.tidy(() => {
      const xi = tf.slice(xs, start, size);
      const yi = tf.slice(ys, start, size) as tf.Tensor1D;
      const partInfo: BatchInfo = { ...info, indices: info.indices.length ? info.indices.subarray(start, start + size) : info.indices };
      const share = tf.scalar(size / rows);
      wholeBatch = whole;
      try {
        return tf.variableGrads(() => tf.mul(lossFn(xi, yi, partInfo), share) as tf.Scalar, vars);
      } finally {
        wholeBatch = null;
      }
    });
    if (!grads || !value) {
      grads = part.grads;
      value = part.value;
      continue;
    }
    const previous: tf.Tensor[] = [value, ...Object.values(grads)];
    value = tf.add(value, part.value) as tf.Scalar;
    for (const name of Object.keys(grads)) grads[name] = tf.add(grads[name], part.grads[name]);
    tf.dispose([...previous, part.value, ...Object.values(part.grads)]);
  }
  return { value: value!, grads: grads! };
}

/**
 * Adam or SGD (with momentum when > 0), as the recipe names them. Adam is tfjs' own (β1 0.9, β2 0.999,
 * the backend's ε) with its update fused into one kernel on wasm: same results, same checkpoints.
 */
export function createOptimizer(name: 'adam' | 'sgd', lr: number, momentum = 0): tf.Optimizer {
  if (name === 'adam') return new FusedAdamOptimizer(lr);
  return momentum > 0 ? tf.train.momentum(lr, momentum) : tf.train.sgd(lr);
}

/** Change an optimizer's learning rate in place (keeps Adam moments / momentum). */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  const o = optimizer as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}
