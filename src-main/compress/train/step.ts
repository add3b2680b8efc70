/**
 * One optimisation step: loss and gradients in one `tf.variableGrads`, one `applyGradients`, all
 * intermediate tensors freed (`tf.tidy`), the loss read back as a number.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { FusedAdamOptimizer } from '../../tf/fused-adam';
import { fusedSparseCrossEntropy } from '../../tf/fused-loss';

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
