/**
 * Seeded, stratified splits and samples. Every function here is deterministic given its seed, so a
 * run can be repeated exactly, and none of them can hand the test split to training code: the
 * helpers that feed training or calibration take a `Split<'train'>` and check the role again at
 * run time (a cast in some caller must not be enough to leak the test set).
 */
import { AppError } from '../../src-shared/errors';
import { gatherImages, imageSplit } from './image-view';
import { createRng, deriveSeed, shuffleInPlace } from './rng';
import {
  type CalibrationSample,
  type ImagePixels,
  type ImageView,
  type LoadedDataset,
  type Split,
  type SplitRole,
  type TrainingData,
  type TrainSplit,
  UNLABELED,
} from './types';

/** Indices of each class, in source order. Labels outside [0, numClasses) are a bug upstream. */
export function indicesByClass(labels: ArrayLike<number>, numClasses: number): number[][] {
  const out: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) out[labels[i]].push(i);
  return out;
}

/**
 * Split `total` into integers proportional to `weights` that sum exactly to `total`
 * (largest remainder; ties go to the earlier index, so it is deterministic).
 */
export function allocate(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0 || total <= 0) return weights.map(() => 0);
  const exact = weights.map((w) => (total * w) / sum);
  const out = exact.map((e, i) => Math.min(Math.floor(e), weights[i]));
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0; left > 0 && k < order.length * 2; k++) {
    const { i } = order[k % order.length];
    if (out[i] < weights[i]) {
      out[i]++;
      left--;
    }
  }
  return out;
}

/**
 * Partition sample indices into `fractions.length` held-out groups plus the rest (last), each
 * stratified by class. Group sizes are `round(n * fraction)` overall; every class with at least two
 * samples keeps one in the rest (the training split), so no class vanishes from training.
 */
export function stratifiedPartition(labels: ArrayLike<number>, numClasses: number, fractions: number[], seed: number): Int32Array[] {
  const rand = createRng(seed);
  const perClass = indicesByClass(labels, numClasses).map((idx) => shuffleInPlace(idx, rand));
  const sizes = perClass.map((idx) => idx.length);
  const quotas = fractions.map((f) => allocate(Math.round(labels.length * f), sizes));
  for (let c = 0; c < numClasses; c++) {
    let over = quotas.reduce((s, q) => s + q[c], 0) - Math.max(sizes[c] - 1, 0);
    for (let g = quotas.length - 1; over > 0 && g >= 0; g--) {
      const take = Math.min(over, quotas[g][c]);
      quotas[g][c] -= take;
      over -= take;
    }
  }
  const groups: number[][] = Array.from({ length: fractions.length + 1 }, () => []);
  perClass.forEach((idx, c) => {
    let at = 0;
    quotas.forEach((q, g) => {
      pushRange(groups[g], idx, at, at + q[c]);
      at += q[c];
    });
    pushRange(groups[fractions.length], idx, at, idx.length);
  });
  // Mixed classes within each split, so the first batch is not all one class.
  return groups.map((g) => shuffleInPlace(Int32Array.from(g), rand));
}

// Spread arguments overflow the stack for classes with ~100k samples; a loop does not.
function pushRange(dst: number[], src: number[], from: number, to: number): void {
  for (let i = from; i < to; i++) dst.push(src[i]);
}

/** `count` indices drawn stratified by class, seeded, in shuffled order. */
export function stratifiedSample(labels: ArrayLike<number>, numClasses: number, count: number, seed: number): Int32Array {
  const rand = createRng(seed);
  const perClass = indicesByClass(labels, numClasses).map((idx) => shuffleInPlace(idx, rand));
  const quota = allocate(Math.min(count, labels.length), perClass.map((p) => p.length));
  const picked: number[] = [];
  perClass.forEach((idx, c) => pushRange(picked, idx, 0, quota[c]));
  return shuffleInPlace(Int32Array.from(picked), rand);
}

/**
 * Rows of `src` gathered into a new split: image splits (and uint8 pixels with a view) stay uint8
 * pixels (data/image-view.ts); float32 rows are copied as they are; bare uint8 rows are scaled by 1/255.
 */
export function gatherSplit<R extends SplitRole>(
  role: R,
  src: { x: Uint8Array | Float32Array; y: ArrayLike<number>; sampleShape: number[]; images?: ImagePixels; view?: ImageView },
  indices: ArrayLike<number>,
): Split<R> {
  if (src.images) return gatherImages(role, src.images, src.y, indices);
  if (src.view && src.x instanceof Uint8Array) {
    const [h, w, c] = src.sampleShape;
    return gatherImages(role, { pixels: src.x, shape: [h, w, c], view: src.view }, src.y, indices);
  }
  const size = src.sampleShape.reduce((a, b) => a * b, 1);
  const n = indices.length;
  const x = new Float32Array(n * size);
  const y = new Int32Array(n);
  const scale = src.x instanceof Uint8Array ? 1 / 255 : 1;
  for (let r = 0; r < n; r++) {
    const from = indices[r] * size;
    const to = r * size;
    if (scale === 1) x.set((src.x as Float32Array).subarray(from, from + size), to);
    else for (let k = 0; k < size; k++) x[to + k] = src.x[from + k] * scale;
    y[r] = src.y[indices[r]];
  }
  return { role, x, y, n, sampleShape: [...src.sampleShape] };
}

/** A subset of a split, same role (and labeled mask, when there is one). */
export function subset<R extends SplitRole>(split: Split<R>, indices: ArrayLike<number>): Split<R> {
  const out = gatherSplit(split.role, split, indices);
  if (split.labeledMask) {
    const mask = new Uint8Array(indices.length);
    for (let i = 0; i < indices.length; i++) mask[i] = split.labeledMask[indices[i]];
    out.labeledMask = mask;
  }
  return out;
}

function assertRole(split: Split, role: SplitRole, what: string): void {
  if (split.role !== role) {
    throw new AppError('INVALID_ARGS', `${what} only accepts the ${role} split, but got the ${split.role} split. The test split is kept for the final evaluation.`);
  }
}

/**
 * Keep labels for only `count` training samples (stratified by class, seeded); the others get
 * `UNLABELED` in `y` and 0 in `labeledMask`. For semi-supervised distillation: the teacher's soft
 * targets can still be used on every image.
 */
export function withLabeledCount(train: TrainSplit, numClasses: number, count: number, seed: number): TrainSplit {
  assertRole(train, 'train', 'Choosing labeled samples');
  if (!Number.isInteger(count) || count < 1) {
    throw new AppError('INVALID_ARGS', `The number of labeled training samples must be a whole number of at least 1 (got ${count}).`);
  }
  if (count < numClasses) {
    throw new AppError('INVALID_ARGS', `Keep labels for at least one sample per class: ${numClasses} or more (got ${count}).`);
  }
  const keep = stratifiedSample(train.y, numClasses, count, seed);
  const mask = new Uint8Array(train.n);
  for (const i of keep) mask[i] = 1;
  const y = train.y.slice();
  for (let i = 0; i < train.n; i++) if (!mask[i]) y[i] = UNLABELED;
  // Image splits keep their pixels (a spread would build the float rows).
  if (train.images) return imageSplit('train', train.images, y, mask);
  return { ...train, y, labeledMask: mask };
}

/** Only the labeled samples of a semi-supervised train split (what a labels-only control sees). */
export function labeledOnly(train: TrainSplit): TrainSplit {
  assertRole(train, 'train', 'Selecting labeled samples');
  if (!train.labeledMask) return train;
  const idx: number[] = [];
  for (let i = 0; i < train.n; i++) if (train.labeledMask[i]) idx.push(i);
  const out = gatherSplit('train', train, idx);
  return out;
}

/**
 * `n` samples for quantization calibration, drawn (seeded, without replacement) from the training
 * split only: calibrating on test images would tune the model to the data it is judged on.
 */
export function calibrationSample(train: TrainSplit, n = 256, seed = 0): CalibrationSample {
  assertRole(train, 'train', 'Calibration sampling');
  if (!Number.isInteger(n) || n < 1) throw new AppError('INVALID_ARGS', `The calibration sample size must be a whole number of at least 1 (got ${n}).`);
  const rand = createRng(deriveSeed(seed, 'calibration'));
  const all = shuffleInPlace(Int32Array.from({ length: train.n }, (_, i) => i), rand);
  const picked = all.subarray(0, Math.min(n, train.n));
  const out = gatherSplit('calibration', train, picked);
  return out;
}

/** The part of a loaded dataset that training, distillation and model selection may see. */
export function trainingView(ds: LoadedDataset): TrainingData {
  return { info: ds.info, train: ds.train, val: ds.val };
}
