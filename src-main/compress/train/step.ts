/**
 * One optimisation step: loss and gradients in one `tf.variableGrads`, one `applyGradients`, all
 * intermediate tensors freed (`tf.tidy`), the loss read back as a number.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { FusedAdamOptimizer } from '../../tf/fused-adam';

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
 * Mean softmax cross-entropy over the labeled samples of the batch (0 when none is labeled). The
 * number of labeled samples is counted from the labels in JavaScript: it is a constant of the step
 * (no gradient flows through it), and counting it with tensor ops cost six kernels and five saved
 * copies on the gradient tape per step, for the same divisor.
 */
export function labelLoss(logits: tf.Tensor, ys: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const numClasses = logits.shape[logits.shape.length - 1]!;
    const onehot = tf.oneHot(ys, numClasses); // rows of zeros for -1
    const logp = tf.logSoftmax(logits as tf.Tensor2D);
    const perSample = tf.neg(tf.sum(tf.mul(onehot, logp), -1));
    return tf.div(tf.sum(perSample), tf.scalar(Math.max(labeledCount(ys), 1))) as tf.Scalar;
  });
}

/** How many labels are known (≥ 0; `UNLABELED` is −1). */
function labeledCount(ys: tf.Tensor1D): number {
  let n = 0;
  for (const y of ys.dataSync()) if (y >= 0) n++;
  return n;
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

/**
 * `step(xs, ys)` runs forward, backward and update and returns the loss. The gradients are taken
 * with respect to the model's trainable weights (and `extraVariables`), read afresh on every step
 * so layers made (un)trainable later are respected.
 */
export function createTrainStep(model: tfl.LayersModel, optimizer: tf.Optimizer, lossFn: LossFn = crossEntropyLoss(model), extraVariables: tf.Variable[] = []): TrainStep {
  let steps = 0;
  return (xs, ys, batch) => {
    const info = batch ?? { indices: new Int32Array(0), epoch: 0, batch: steps, step: steps };
    const lossValue = tf.tidy(() => {
      const vars = trainableVariables(model, extraVariables);
      const { value, grads } = tf.variableGrads(() => lossFn(xs, ys, info), vars);
      optimizer.applyGradients(grads);
      return value;
    });
    steps++;
    const loss = lossValue.dataSync()[0];
    lossValue.dispose();
    return loss;
  };
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
