/** Batches from the plain typed arrays of a split, uploaded one batch at a time. */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Split } from '../../data';
import { outputsProbabilities } from '../../models/logits';
import { splitBatch, splitRows } from '../../data/image-view';
import { createRng, deriveSeed, shuffleInPlace } from '../../data/rng';
import { classificationMetrics, type ClassificationMetrics, type MetricOptions } from '../metrics';
import { inferenceBatchSize } from './memory';
import { cancelPoint } from '../../tf/cancel';

export const sampleSize = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** The rows `indices` as one tensor [indices.length, ...sampleShape] (image splits: resized and normalized from their uint8 pixels). */
export function gatherBatch(split: Pick<Split, 'x' | 'y' | 'sampleShape' | 'images'>, indices: Int32Array): { xs: tf.Tensor; ys: tf.Tensor1D } {
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) labels[i] = split.y[indices[i]];
  return { xs: splitBatch(split, indices), ys: tf.tensor1d(labels, 'int32') };
}

/** The sample order of one epoch: seeded by (seed, epoch), so a resumed run sees the same order. */
export function epochOrder(pool: Int32Array, seed: number, epoch: number): Int32Array {
  return shuffleInPlace(Int32Array.from(pool), createRng(deriveSeed(seed, `fit-epoch-${epoch}`)));
}

/**
 * The model's outputs for every sample of `split`, in order, as one Float32Array (n x outputs).
 * `forward` replaces `model.predict` (for a custom forward such as fake quantization).
 */
export function predictAll(
  model: tfl.LayersModel,
  split: Pick<Split, 'x' | 'n' | 'sampleShape' | 'images'>,
  opts: { batchSize?: number; forward?: (xs: tf.Tensor) => tf.Tensor } = {},
): Float32Array {
  // Smaller batches for big models (a MobileNetV2 at 224×224 holds ~0.6 GB per layer output at 256 images).
  const bs = inferenceBatchSize(model, opts.batchSize ?? 256);
  let out: Float32Array | null = null;
  let width = 0;
  for (let start = 0; start < split.n; start += bs) {
    cancelPoint();
    const end = Math.min(split.n, start + bs);
    const chunk = tf.tidy(() => {
      const xs = splitRows(split, start, end);
      return opts.forward ? opts.forward(xs) : (model.predict(xs) as tf.Tensor);
    });
    const data = chunk.dataSync() as Float32Array;
    chunk.dispose();
    if (!out) {
      width = data.length / (end - start);
      out = new Float32Array(split.n * width);
    }
    out.set(data, start * width);
  }
  return out ?? new Float32Array(0);
}

/**
 * Top-1, top-k, per-class accuracy, confusion matrix, loss and expected calibration error of the
 * model on a split. Models that end in a softmax are handled (their outputs are probabilities).
 */
export function evaluate(
  model: tfl.LayersModel,
  split: Pick<Split, 'x' | 'y' | 'n' | 'sampleShape' | 'images'>,
  opts: MetricOptions & { batchSize?: number; forward?: (xs: tf.Tensor) => tf.Tensor; numClasses?: number; probabilities?: boolean } = {},
): ClassificationMetrics {
  const scores = predictAll(model, split, opts);
  const numClasses = opts.numClasses ?? (split.n ? scores.length / split.n : (model.outputs[0].shape[1] as number));
  return classificationMetrics(scores, split.y, numClasses, { ...opts, probabilities: opts.probabilities ?? outputsProbabilities(model) });
}

