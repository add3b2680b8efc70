/**
 * Unstructured magnitude pruning: a 0/1 mask per prunable kernel (Conv2D, DepthwiseConv2D, Dense;
 * biases and BatchNorm are never pruned), from a per-layer or a global threshold on |w|. Masks are
 * re-applied after every optimizer step while fine-tuning, so pruned weights stay exactly zero, and
 * `stripPruning` returns a plain model with the masks baked in (nothing of the pruning machinery
 * is left in it, as TFMOT's `strip_pruning`).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';

const PRUNABLE: Record<string, string> = { Conv2D: 'kernel', DepthwiseConv2D: 'depthwise_kernel', Dense: 'kernel' };

type LayerVariable = tfl.layers.Layer['weights'][number];

export interface PrunableWeight {
  layer: string;
  type: string;
  variable: LayerVariable;
  size: number;
}

/** Kernels that magnitude pruning may touch, in model order. */
export function prunableWeights(model: tfl.LayersModel, skipLayers: readonly string[] = []): PrunableWeight[] {
  const names = new Set(model.layers.map((l) => l.name));
  const unknown = skipLayers.filter((s) => !names.has(s));
  if (unknown.length) {
    throw new AppError('INVALID_ARGS', `Layers to skip not found in the model: ${unknown.join(', ')}. Its layers are: ${[...names].join(', ')}.`);
  }
  const out: PrunableWeight[] = [];
  for (const layer of model.layers) {
    const type = layer.getClassName();
    const suffix = PRUNABLE[type];
    if (!suffix || skipLayers.includes(layer.name)) continue;
    const v = layer.weights.find((w) => w.originalName.endsWith(`/${suffix}`) || w.originalName === suffix);
    if (v) out.push({ layer: layer.name, type, variable: v, size: v.shape.reduce<number>((a, b) => a * (b ?? 1), 1) });
  }
  if (!out.length) throw new AppError('INVALID_ARGS', 'The model has no Conv2D, DepthwiseConv2D or Dense kernel left to prune (all skipped or none present).');
  return out;
}

/** Masks by layer name: 1 keeps a weight, 0 removes it. */
export type Masks = Map<string, tf.Tensor>;

export interface LayerSparsity {
  layer: string;
  params: number;
  zeros: number;
  sparsity: number;
}

export interface SparsityReport {
  layers: LayerSparsity[];
  /** Over the prunable kernels. */
  global: number;
  params: number;
  zeros: number;
}

/** The k smallest |w| (ties broken by position) set to 0, the rest 1. */
function maskSmallest(abs: Float32Array, k: number, threshold: number): Float32Array {
  const mask = new Float32Array(abs.length);
  let tiesToDrop = k;
  for (let i = 0; i < abs.length; i++) if (abs[i] < threshold) tiesToDrop--;
  for (let i = 0; i < abs.length; i++) {
    if (abs[i] > threshold) mask[i] = 1;
    else if (abs[i] === threshold) {
      if (tiesToDrop > 0) tiesToDrop--;
      else mask[i] = 1;
    }
  }
  return mask;
}

function kthSmallest(values: Float32Array, k: number): number {
  const sorted = Float32Array.from(values).sort();
  return sorted[Math.max(0, k - 1)];
}

function absOf(v: LayerVariable): Float32Array {
  const d = v.read().dataSync() as Float32Array;
  const a = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) a[i] = Math.abs(d[i]);
  return a;
}

/** Share of each layer's kernel that a global threshold always keeps (the floor), by default. */
export const DEFAULT_MIN_KEEP = 0.02;

/**
 * Masks for `sparsity` (share of weights removed), per layer (every kernel at that sparsity) or
 * global (one threshold across all kernels: layers with many small weights lose more). With a
 * global threshold every layer keeps at least `minKeep` of its weights (at least one): a layer the
 * threshold would cut below that floor keeps its largest weights up to it, and the other layers
 * give up the difference (`flooredLayers` names the layers held at their floor). Refuses a target
 * that cannot be met without emptying a layer.
 */
export function computeMasks(model: tfl.LayersModel, opts: { sparsity: number; scope: 'layer' | 'global'; skipLayers?: readonly string[]; minKeep?: number }): Masks {
  const { sparsity, scope } = opts;
  if (!(sparsity >= 0 && sparsity < 1)) throw new AppError('INVALID_ARGS', `The sparsity must be at least 0 and below 1 (got ${sparsity}).`);
  const minKeep = opts.minKeep ?? DEFAULT_MIN_KEEP;
  if (!(minKeep >= 0 && minKeep < 1)) throw new AppError('INVALID_ARGS', `The per-layer floor must be at least 0 and below 1 (got ${minKeep}).`);
  const weights = prunableWeights(model, opts.skipLayers);
  const abs = weights.map((w) => absOf(w.variable));
  const masks: Masks = new Map();
  const pct = `${+(sparsity * 100).toFixed(2)} %`;
  const layerMask = (i: number, k: number) => maskSmallest(abs[i], k, k ? kthSmallest(abs[i], k) : -1);
  if (scope === 'layer') {
    weights.forEach((w, i) => {
      const k = Math.round(sparsity * w.size);
      if (k >= w.size) {
        throw new AppError(
          'INVALID_ARGS',
          `Pruning ${pct} of layer "${w.layer}" (${w.size} weights) would leave it with no weight at all. Lower the target sparsity or add "${w.layer}" to the layers to skip.`,
          { layer: w.layer },
        );
      }
      masks.set(w.layer, tf.tensor(layerMask(i, k), w.variable.shape as number[]));
    });
    return masks;
  }
  const total = abs.reduce((s, a) => s + a.length, 0);
  const floor = weights.map((w) => Math.min(w.size, Math.max(1, Math.ceil(minKeep * w.size))));
  let k = Math.round(sparsity * total);
  // Water-filling: one threshold over the layers not yet at their floor; a layer it would cut below
  // its floor is pinned there and leaves the pool with its share of the removals.
  const out: (Float32Array | undefined)[] = weights.map(() => undefined);
  for (;;) {
    const free = weights.map((_, i) => i).filter((i) => !out[i]);
    const capacity = free.reduce((s, i) => s + abs[i].length - floor[i], 0);
    if (k > capacity) {
      throw new AppError(
        'INVALID_ARGS',
        `A global threshold for ${pct} sparsity cannot keep ${+(minKeep * 100).toFixed(2)} % of every layer (at least one weight each). Lower the target to at most ${Math.floor((10000 * (total - floor.reduce((a, b) => a + b, 0))) / total) / 100} %.`,
        { sparsity, minKeep },
      );
    }
    const all = new Float32Array(free.reduce((s, i) => s + abs[i].length, 0));
    let off = 0;
    for (const i of free) {
      all.set(abs[i], off);
      off += abs[i].length;
    }
    // Exact count with ties: a global pass, then split back per layer.
    const flat = maskSmallest(all, k, k ? kthSmallest(all, k) : -1);
    const below: number[] = [];
    off = 0;
    const split = free.map((i) => {
      const m = flat.subarray(off, off + abs[i].length);
      off += abs[i].length;
      let kept = 0;
      for (let j = 0; j < m.length; j++) kept += m[j];
      if (kept < floor[i]) below.push(i);
      return [i, m] as const;
    });
    if (!below.length) {
      for (const [i, m] of split) out[i] = Float32Array.from(m);
      break;
    }
    for (const i of below) {
      out[i] = layerMask(i, abs[i].length - floor[i]);
      k -= abs[i].length - floor[i];
    }
  }
  weights.forEach((w, i) => masks.set(w.layer, tf.tensor(out[i]!, w.variable.shape as number[])));
  return masks;
}

/** Layers whose share of kept weights is at (or below) the floor `minKeep` of `computeMasks`. */
export function flooredLayers(report: SparsityReport, minKeep = DEFAULT_MIN_KEEP): string[] {
  return report.layers.filter((l) => l.params - l.zeros <= Math.max(1, Math.ceil(minKeep * l.params))).map((l) => l.layer);
}

/** Multiply each masked kernel by its mask (call after every optimizer step while fine-tuning). */
export function applyMasks(model: tfl.LayersModel, masks: Masks): void {
  tf.tidy(() => {
    for (const [name, mask] of masks) {
      const layer = model.getLayer(name);
      const suffix = PRUNABLE[layer.getClassName()];
      const v = layer.weights.find((w) => w.originalName.endsWith(`/${suffix}`));
      if (!v) throw new AppError('INTERNAL', `Layer "${name}" has no ${suffix} to mask.`);
      v.write(tf.mul(v.read(), mask));
    }
  });
}

export function disposeMasks(masks: Masks): void {
  for (const m of masks.values()) m.dispose();
  masks.clear();
}

/** Zeros per prunable kernel and over all of them. */
export function sparsityOf(model: tfl.LayersModel, skipLayers: readonly string[] = []): SparsityReport {
  const layers: LayerSparsity[] = [];
  let params = 0;
  let zeros = 0;
  for (const w of prunableWeights(model, skipLayers)) {
    const d = w.variable.read().dataSync();
    let z = 0;
    for (let i = 0; i < d.length; i++) if (d[i] === 0) z++;
    layers.push({ layer: w.layer, params: w.size, zeros: z, sparsity: z / w.size });
    params += w.size;
    zeros += z;
  }
  return { layers, global: params ? zeros / params : 0, params, zeros };
}

/** A plain copy of the model with the masks multiplied in (no masks, no pruning state). */
export async function stripPruning(model: tfl.LayersModel, masks?: Masks): Promise<tfl.LayersModel> {
  const plain = await tfl.models.modelFromJSON({ modelTopology: model.toJSON(null, false) as tf.io.ModelJSON['modelTopology'] } as tf.io.ModelJSON);
  const values = tf.tidy(() =>
    model.layers.map((layer) => {
      const mask = masks?.get(layer.name);
      const suffix = PRUNABLE[layer.getClassName()];
      return layer.weights.map((w) => (mask && w.originalName.endsWith(`/${suffix}`) ? tf.mul(w.read(), mask) : tf.clone(w.read())));
    }),
  );
  plain.layers.forEach((l, i) => l.setWeights(values[i]));
  tf.dispose(values);
  return plain;
}
