/**
 * Classification metrics computed from logits (or probabilities) held in plain typed arrays, so they
 * need no compute backend and are easy to test on hand-computed cases.
 *
 * - top-1 / top-k accuracy: the true class is the arg-max / among the k largest scores (ties are
 *   broken towards the lower class index, as argMax does);
 * - per-class accuracy (recall per class; NaN for a class with no samples);
 * - confusion matrix: `confusion[true][predicted]`;
 * - expected calibration error: the confidence (max softmax probability) is binned into `bins`
 *   equal-width bins over (0, 1]; ECE = sum over bins of (bin size / n) * |accuracy - mean confidence|.
 *
 * Samples whose label is negative (unlabeled) are skipped.
 */
import { AppError } from '../../../src-shared/errors';

export interface ClassificationMetrics {
  /** Samples counted (labeled ones). */
  n: number;
  accuracy: number;
  topK: number;
  k: number;
  /** Mean softmax cross-entropy of the logits against the labels. */
  loss: number;
  perClass: number[];
  confusion: number[][];
  ece: number;
}

export interface MetricOptions {
  /** k of the top-k accuracy; default min(5, classes). */
  k?: number;
  /** ECE bins; default 15. */
  bins?: number;
  /** The scores are already probabilities (otherwise they are logits and go through softmax). */
  probabilities?: boolean;
}

/** Softmax of one row, written into `out` (numerically stable). */
function softmaxRow(src: ArrayLike<number>, off: number, c: number, out: Float64Array): void {
  let max = -Infinity;
  for (let j = 0; j < c; j++) max = Math.max(max, src[off + j]);
  let sum = 0;
  for (let j = 0; j < c; j++) {
    out[j] = Math.exp(src[off + j] - max);
    sum += out[j];
  }
  for (let j = 0; j < c; j++) out[j] /= sum;
}

/** Metrics of `scores` (n x classes, row-major) against `labels` (n class indices). */
export function classificationMetrics(scores: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number, opts: MetricOptions = {}): ClassificationMetrics {
  const total = labels.length;
  if (scores.length !== total * numClasses) {
    throw new AppError('INVALID_ARGS', `Got ${scores.length} scores for ${total} labels and ${numClasses} classes; expected ${total * numClasses}. Check that the model's output matches the dataset's classes.`);
  }
  const k = Math.max(1, Math.min(opts.k ?? 5, numClasses));
  const bins = Math.max(1, opts.bins ?? 15);
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  const binCount = new Float64Array(bins);
  const binConf = new Float64Array(bins);
  const binCorrect = new Float64Array(bins);
  const p = new Float64Array(numClasses);
  let n = 0;
  let correct = 0;
  let inTopK = 0;
  let lossSum = 0;
  for (let i = 0; i < total; i++) {
    const y = labels[i];
    if (y < 0) continue;
    if (y >= numClasses) throw new AppError('INVALID_ARGS', `Label ${y} at sample ${i} is outside the ${numClasses} classes.`);
    const off = i * numClasses;
    if (opts.probabilities) for (let j = 0; j < numClasses; j++) p[j] = scores[off + j];
    else softmaxRow(scores, off, numClasses, p);
    let pred = 0;
    for (let j = 1; j < numClasses; j++) if (p[j] > p[pred]) pred = j;
    // Rank of the true class: classes scoring higher, or equal with a lower index.
    let rank = 0;
    for (let j = 0; j < numClasses; j++) if (p[j] > p[y] || (p[j] === p[y] && j < y)) rank++;
    n++;
    confusion[y][pred]++;
    if (pred === y) correct++;
    if (rank < k) inTopK++;
    lossSum += -Math.log(Math.max(p[y], 1e-12));
    const conf = p[pred];
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(conf * bins) - 1));
    binCount[b]++;
    binConf[b] += conf;
    binCorrect[b] += pred === y ? 1 : 0;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) if (binCount[b] > 0) ece += (binCount[b] / n) * Math.abs(binCorrect[b] / binCount[b] - binConf[b] / binCount[b]);
  const perClass = confusion.map((row, c) => {
    const count = row.reduce((s, v) => s + v, 0);
    return count ? row[c] / count : NaN;
  });
  return { n, accuracy: n ? correct / n : NaN, topK: n ? inTopK / n : NaN, k, loss: n ? lossSum / n : NaN, perClass, confusion, ece: n ? ece : NaN };
}
