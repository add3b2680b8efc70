/**
 * Fine-tuning with per-step hooks, for pruning (re-apply masks after every optimizer step, update
 * polynomial-schedule masks) and QAT (a loss over the fake-quantized forward pass).
 *
 * NOTE for the lead: this is a deliberately small step loop (shuffle, batch, minimize, hooks,
 * cancel, progress). The engine's training loop (src-main/compress/train: createTrainStep/fit with
 * per-step hooks and a lossFn override) had not landed when this was written; once it is merged,
 * `fineTune` should delegate to it and keep only the hook wiring.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { OptimizerSpec } from './optimizer';
import { makeOptimizer } from './optimizer';

export interface FineTuneData {
  x: Float32Array;
  y: Int32Array;
  n: number;
  sampleShape: number[];
  numClasses: number;
}

export interface FineTuneOptions {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerSpec;
  seed: number;
  variables: tf.Variable[];
  /** Logits for a batch (training mode). */
  forward: (x: tf.Tensor) => tf.Tensor;
  /** Called after every optimizer step with the global step index (1-based). */
  afterStep?: (step: number) => void;
  onBatch?: (p: { epoch: number; batch: number; batches: number; loss: number }) => void;
  throwIfCancelled?: () => void;
}

function shuffled(n: number, seed: number): Int32Array {
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  let s = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx;
}

/** Softmax cross-entropy fine-tuning; labelled samples only (y ≥ 0). Returns the mean loss per epoch. */
export function fineTune(data: FineTuneData, opts: FineTuneOptions): number[] {
  const per = data.sampleShape.reduce((a, b) => a * b, 1);
  const labelled = [...Array(data.n).keys()].filter((i) => data.y[i] >= 0);
  const opt = makeOptimizer(opts.optimizer);
  const losses: number[] = [];
  let step = 0;
  const batches = Math.ceil(labelled.length / opts.batchSize);
  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      const order = shuffled(labelled.length, opts.seed + epoch * 7919);
      let sum = 0;
      for (let b = 0; b < batches; b++) {
        opts.throwIfCancelled?.();
        const ids = order.subarray(b * opts.batchSize, Math.min(labelled.length, (b + 1) * opts.batchSize));
        const xs = new Float32Array(ids.length * per);
        const ys = new Int32Array(ids.length);
        ids.forEach((k, i) => {
          const src = labelled[k];
          xs.set(data.x.subarray(src * per, (src + 1) * per), i * per);
          ys[i] = data.y[src];
        });
        const loss = tf.tidy(() => {
          const x = tf.tensor(xs, [ids.length, ...data.sampleShape]);
          const y = tf.oneHot(tf.tensor1d(ys, 'int32'), data.numClasses);
          const l = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, opts.forward(x)) as tf.Scalar, true, opts.variables);
          return l!.dataSync()[0];
        });
        step++;
        opts.afterStep?.(step);
        sum += loss;
        opts.onBatch?.({ epoch, batch: b + 1, batches, loss });
      }
      losses.push(sum / Math.max(1, batches));
    }
  } finally {
    opt.dispose();
  }
  return losses;
}

/** Steps per epoch for the labelled part of `data`. */
export function stepsPerEpoch(data: Pick<FineTuneData, 'y' | 'n'>, batchSize: number): number {
  let n = 0;
  for (let i = 0; i < data.n; i++) if (data.y[i] >= 0) n++;
  return Math.ceil(n / batchSize);
}
