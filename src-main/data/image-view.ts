/**
 * Image splits keep their pixels as decoded (uint8, one resolution) and build each model's input
 * only when a batch is made: bilinear resize to the model's size and its normalization, so a 224-px
 * teacher taking x / 127.5 − 1 and a 128-px student taking the run's convention read the same folder
 * without a float copy of the dataset per model (a 224×224×3 image is 150 KB as uint8, 602 KB as
 * float32).
 *
 * - `ImageView`: the size and normalization one model sees (raw 0–255 → (raw − mean) / std, the
 *   TFLite metadata convention of src-shared/model-io.ts).
 * - `imageBatch(images, indices, view)`: one batch tensor; resizing is tfjs' ResizeBilinear
 *   (half-pixel centres, what TF 2's `tf.image.resize` and Keras' preprocessing do), normalization
 *   is applied while widening uint8 to float32 (it commutes with bilinear interpolation, whose
 *   weights sum to 1).
 * - A split with `images` still has `x`: a getter that builds every row once (in batches) and keeps
 *   it, for code that reads rows directly. The training loop, evaluation and the teacher's logits
 *   go through `splitBatch` / `splitRows` and never build it.
 *
 * Needs an initialised tfjs backend for batches (tensors) and for rows resized to another size.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AppError } from '../../src-shared/errors';
import type { ImagePixels, ImageView, Split, SplitRole } from './types';

export type { ImagePixels, ImageView } from './types';

const CHUNK = 64;

/** Normalization to a per-channel pair of arrays (a single value applies to every channel). */
function perChannel(view: ImageView, channels: number): { mean: Float64Array; scale: Float64Array } {
  const { mean, std } = view.normalization;
  const at = (v: number[], c: number) => v[Math.min(c, v.length - 1)];
  return { mean: Float64Array.from({ length: channels }, (_, c) => at(mean, c)), scale: Float64Array.from({ length: channels }, (_, c) => 1 / at(std, c)) };
}

export function sameView(a: ImageView, b: ImageView): boolean {
  return a.size[0] === b.size[0] && a.size[1] === b.size[1] && JSON.stringify(a.normalization) === JSON.stringify(b.normalization);
}

/**
 * Rows `indices` of `images` at their stored size, as float32 in `view`'s normalization (plain JS, no
 * backend). (raw − mean) · (1/std): for mean 0, std 255 this is raw · (1/255), bit for bit what the
 * loader gave before views existed.
 */
function normalizedRows(images: ImagePixels, indices: ArrayLike<number>, view: ImageView): Float32Array {
  const [h, w, c] = images.shape;
  const per = h * w * c;
  const n = indices.length;
  const { mean, scale } = perChannel(view, c);
  const buf = new Float32Array(n * per);
  const src = images.pixels;
  for (let r = 0; r < n; r++) {
    const from = indices[r] * per;
    const to = r * per;
    if (c === 1) {
      const m = mean[0];
      const s = scale[0];
      for (let k = 0; k < per; k++) buf[to + k] = (src[from + k] - m) * s;
    } else {
      for (let k = 0; k < per; k++) {
        const ch = k % c;
        buf[to + k] = (src[from + k] - mean[ch]) * scale[ch];
      }
    }
  }
  return buf;
}

const resizes = (images: ImagePixels, view: ImageView) => view.size[0] !== images.shape[0] || view.size[1] !== images.shape[1];

/** Rows `indices` of `images` as one [b, h, w, c] float32 tensor in `view`'s size and normalization. */
export function imageBatch(images: ImagePixels, indices: ArrayLike<number>, view: ImageView = images.view): tf.Tensor4D {
  const [h, w, c] = images.shape;
  const x = tf.tensor4d(normalizedRows(images, indices, view), [indices.length, h, w, c]);
  if (!resizes(images, view)) return x;
  const resized = tf.image.resizeBilinear(x, view.size, false, true);
  x.dispose();
  return resized;
}

const range = (start: number, end: number) => Int32Array.from({ length: end - start }, (_, i) => start + i);

/** Rows `indices` of any split as a tensor [b, ...sampleShape] (image splits: built from their pixels). */
export function splitBatch(split: Pick<Split, 'x' | 'sampleShape' | 'images'>, indices: ArrayLike<number>): tf.Tensor {
  if (split.images) return imageBatch(split.images, indices);
  const size = split.sampleShape.reduce((a, b) => a * b, 1);
  const buf = new Float32Array(indices.length * size);
  for (let i = 0; i < indices.length; i++) buf.set(split.x.subarray(indices[i] * size, (indices[i] + 1) * size), i * size);
  return tf.tensor(buf, [indices.length, ...split.sampleShape]);
}

/** Rows [start, end) of any split as a tensor (float splits: a view on `x`, no copy in JS). */
export function splitRows(split: Pick<Split, 'x' | 'sampleShape' | 'images'>, start: number, end: number): tf.Tensor {
  if (split.images) return imageBatch(split.images, range(start, end));
  const size = split.sampleShape.reduce((a, b) => a * b, 1);
  return tf.tensor(split.x.subarray(start * size, end * size), [end - start, ...split.sampleShape]);
}

/** Every row of an image split in its view, built in batches. */
function materialize(images: ImagePixels, n: number): Float32Array {
  if (!resizes(images, images.view)) return normalizedRows(images, range(0, n), images.view);
  const [h, w] = images.view.size;
  const per = h * w * images.shape[2];
  const out = new Float32Array(n * per);
  for (let start = 0; start < n; start += CHUNK) {
    const end = Math.min(n, start + CHUNK);
    const t = imageBatch(images, range(start, end));
    out.set(t.dataSync() as Float32Array, start * per);
    t.dispose();
  }
  return out;
}

/** A split over uint8 pixels (already gathered: row i is sample i), presented in `images.view`. */
export function imageSplit<R extends SplitRole>(role: R, images: ImagePixels, y: Int32Array, labeledMask?: Uint8Array): Split<R> {
  const per = images.shape[0] * images.shape[1] * images.shape[2];
  if (images.pixels.length !== y.length * per) throw new AppError('INTERNAL', `Image split: ${images.pixels.length} pixel values for ${y.length} images of ${images.shape.join('×')}.`);
  if (images.view.size.some((d) => !(Number.isInteger(d) && d >= 1))) throw new AppError('INVALID_ARGS', `An image size must be whole positive numbers (got ${images.view.size.join('×')}).`);
  let x: Float32Array | null = null;
  const split = {
    role,
    y,
    n: y.length,
    sampleShape: [images.view.size[0], images.view.size[1], images.shape[2]],
    images,
    ...(labeledMask ? { labeledMask } : {}),
  } as Omit<Split<R>, 'x'> as Split<R>;
  Object.defineProperty(split, 'x', {
    enumerable: true,
    configurable: true,
    get: () => (x ??= materialize(images, y.length)),
  });
  return split;
}

/** The same images (and labels) seen by another model: its size and normalization. */
export function withView<R extends SplitRole>(split: Split<R>, view: ImageView): Split<R> {
  if (!split.images) throw new AppError('INTERNAL', 'Only image splits can be seen at another size or normalization.');
  if (sameView(split.images.view, view)) return split;
  return imageSplit(split.role, { ...split.images, view }, split.y, split.labeledMask);
}

/** Rows `indices` of uint8 pixels gathered into a new image split. */
export function gatherImages<R extends SplitRole>(role: R, images: ImagePixels, y: ArrayLike<number>, indices: ArrayLike<number>): Split<R> {
  const per = images.shape[0] * images.shape[1] * images.shape[2];
  const pixels = new Uint8Array(indices.length * per);
  const labels = new Int32Array(indices.length);
  for (let r = 0; r < indices.length; r++) {
    pixels.set(images.pixels.subarray(indices[r] * per, (indices[r] + 1) * per), r * per);
    labels[r] = y[indices[r]];
  }
  return imageSplit(role, { ...images, pixels }, labels);
}
