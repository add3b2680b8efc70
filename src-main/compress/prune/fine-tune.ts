/**
 * Fine-tuning for pruning and QAT on the engine's training loop (`fit` in compress/train), with the
 * recipe's optimizer and the hooks these stages need: `afterStep` with a 1-based global step
 * (re-apply masks, update polynomial-schedule masks) and a custom training forward pass (QAT).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { TrainingData } from '../../data';
import { fit, type FitResult, labelLoss } from '../train';

export interface FineTuneOptions {
  model: tfl.LayersModel;
  data: TrainingData;
  epochs: number;
  batchSize: number;
  optimizer: { name: 'adam' | 'sgd'; learningRate: number; momentum: number };
  seed: number;
  /** 1-based first epoch that model selection may restore (see `fit`); default 1. */
  selectFromEpoch?: number;
  /** Logits in training mode; default `model.apply(x, { training: true })`. */
  trainForward?: (x: tf.Tensor) => tf.Tensor;
  /** Logits for validation; default `model.predict`. */
  evalForward?: (x: tf.Tensor) => tf.Tensor;
  /** After every optimizer step, with the number of steps taken so far in this call (1-based). */
  afterStep?: (step: number) => void;
  onBatch?: (p: { epoch: number; batch: number; batches: number; loss: number }) => void;
  throwIfCancelled?: () => void;
}

export async function fineTune(o: FineTuneOptions): Promise<FitResult> {
  return fit({
    model: o.model,
    data: o.data,
    epochs: o.epochs,
    batchSize: o.batchSize,
    optimizer: o.optimizer.name,
    lr: o.optimizer.learningRate,
    momentum: o.optimizer.momentum,
    seed: o.seed,
    selectFromEpoch: o.selectFromEpoch,
    throwIfCancelled: o.throwIfCancelled,
    ...(o.trainForward ? { lossFn: (xs: tf.Tensor, ys: tf.Tensor1D) => labelLoss(o.trainForward!(xs), ys) } : {}),
    ...(o.evalForward ? { forward: o.evalForward } : {}),
    ...(o.afterStep ? { afterStep: (b: { step: number }) => o.afterStep!(b.step + 1) } : {}),
    ...(o.onBatch ? { onBatch: (p: { epoch: number; batch: number; batches: number; loss: number }) => o.onBatch!({ epoch: p.epoch - 1, batch: p.batch, batches: p.batches, loss: p.loss }) } : {}),
  });
}

/** Optimizer steps per epoch over the labelled training samples. */
export function stepsPerEpoch(data: TrainingData, batchSize: number): number {
  let n = 0;
  for (let i = 0; i < data.train.n; i++) if (data.train.y[i] >= 0) n++;
  return Math.ceil(n / batchSize);
}
