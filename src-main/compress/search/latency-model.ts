/**
 * A latency model of one target, fitted from the measurements the search has made so far: the
 * latency of a `.tflite` is modelled as a sum of per-operator costs on that device,
 *
 *   latency ≈ c₀ + Σ_kind cost_kind · work_kind + cost_op · operators,
 *
 * where the work of a convolution is its MACs and of a fully connected layer its weights (at batch 1
 * it reads every weight once), split by how the runtime computes it (float, full INT8, or hybrid
 * "dynamic range" kernels), plus the elements that pooling and other layers touch. The costs are
 * non-negative and fitted by least squares on relative error (a 10 % miss on a 0.1 ms model counts as
 * much as on a 10 ms one), with a little ridge so a few measurements still give a usable model.
 *
 * The search uses it to skip candidates that cannot meet a latency budget, and records for every
 * candidate it then measured what the model had predicted beforehand (the held-out error).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { SearchPrecision } from '../../../src-shared/recipe';
import { summarizeModel } from '../../models';

export const LATENCY_FEATURES = [
  'constant (µs)',
  'conv MACs, float (µs/MMAC)',
  'conv MACs, int8 (µs/MMAC)',
  'conv MACs, hybrid (µs/MMAC)',
  'dense weights, float (µs/M)',
  'dense weights, int8 or hybrid (µs/M)',
  'other layers, elements (µs/M)',
  'operators (µs each)',
] as const;

/** Work units of one model at one precision (millions for MACs, weights and elements). */
export type LatencyFeatures = number[];

const CONV = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D']);
const NO_OP = new Set(['InputLayer', 'Dropout', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout']);

/** How each layer of `model` runs at `precision` (`floatLayers`: kept in float in an `int8-mixed` file). */
export function latencyFeatures(model: tfl.LayersModel, precision: SearchPrecision, floatLayers: readonly string[] = []): LatencyFeatures {
  const f = new Array<number>(LATENCY_FEATURES.length).fill(0);
  f[0] = 1;
  const keep = new Set(floatLayers);
  let ops = 0;
  let islands = 0;
  let prevFloat = true;
  for (const l of summarizeModel(model, { nonZero: false }).layers) {
    if (NO_OP.has(l.type)) continue;
    // BatchNormalization after a convolution is folded into it at export.
    if (l.type === 'BatchNormalization' && l.note?.includes('folded')) continue;
    ops++;
    const heavy = CONV.has(l.type) || l.type === 'Dense';
    const mode = !heavy ? 'float' : precision === 'int8' || (precision === 'int8-mixed' && !keep.has(l.name)) ? 'int8' : precision === 'int8-dynamic' ? 'hybrid' : 'float';
    if (CONV.has(l.type)) f[mode === 'float' ? 1 : mode === 'int8' ? 2 : 3] += l.macs / 1e6;
    else if (l.type === 'Dense') f[mode === 'float' ? 4 : 5] += l.params / 1e6;
    else f[6] += l.outputShape.reduce((a, b) => a * b, 1) / 1e6;
    if (heavy && precision.startsWith('int8') && precision !== 'int8-dynamic') {
      const isFloat = mode === 'float';
      if (isFloat !== prevFloat) islands++;
      prevFloat = isFloat;
    }
  }
  // Full INT8 adds QUANTIZE / DEQUANTIZE at every boundary between float and integer parts.
  if (precision === 'int8' || precision === 'int8-mixed') ops += islands + (prevFloat ? 0 : 1);
  f[7] = ops;
  return f;
}

export interface Measurement {
  features: LatencyFeatures;
  latencyUs: number;
}

/** Non-negative least squares by cyclic coordinate descent on the normal equations (tiny systems). */
export function nnls(a: number[][], b: number[], ridge = 0, iterations = 5000): number[] {
  const m = a[0]?.length ?? 0;
  const ata = Array.from({ length: m }, (_, i) => Array.from({ length: m }, (_, j) => a.reduce((s, row) => s + row[i] * row[j], 0) + (i === j ? ridge : 0)));
  const atb = Array.from({ length: m }, (_, i) => a.reduce((s, row, k) => s + row[i] * b[k], 0));
  const x = new Array<number>(m).fill(0);
  for (let it = 0; it < iterations; it++) {
    let moved = 0;
    for (let i = 0; i < m; i++) {
      if (ata[i][i] <= 0) continue;
      let g = -atb[i];
      for (let j = 0; j < m; j++) g += ata[i][j] * x[j];
      const next = Math.max(0, x[i] - g / ata[i][i]);
      moved = Math.max(moved, Math.abs(next - x[i]) / (Math.abs(x[i]) + 1e-12));
      x[i] = next;
    }
    if (moved < 1e-10) break;
  }
  return x;
}

export class LatencyModel {
  private coef: number[] | null = null;
  private readonly data: Measurement[] = [];

  get measurements(): number {
    return this.data.length;
  }

  get coefficients(): number[] {
    return this.coef ? [...this.coef] : [];
  }

  add(m: Measurement): void {
    this.data.push(m);
    this.fit();
  }

  /** Refit on every measurement so far: each row divided by its latency, so the error is relative. */
  private fit(): void {
    const rows = this.data.map((d) => d.features.map((v) => v / d.latencyUs));
    const ones = this.data.map(() => 1);
    // Ridge relative to the data's scale: enough to settle features no measurement separates yet.
    const scale = rows.reduce((s, r) => s + r.reduce((t, v) => t + v * v, 0), 0) / Math.max(1, rows.length * LATENCY_FEATURES.length);
    this.coef = nnls(rows, ones, 1e-4 * scale);
  }

  /** Predicted latency in µs, or null before the first measurement. */
  predictUs(features: LatencyFeatures): number | null {
    if (!this.coef) return null;
    return features.reduce((s, v, i) => s + v * this.coef![i], 0);
  }
}

/** |predicted − measured| / measured for each held-out candidate, summarised. */
export function relativeErrors(pairs: { predictedUs: number; measuredUs: number }[]): { n: number; medianRelError: number | null; maxRelError: number | null } {
  const errs = pairs.map((p) => Math.abs(p.predictedUs - p.measuredUs) / p.measuredUs).sort((a, b) => a - b);
  if (!errs.length) return { n: 0, medianRelError: null, maxRelError: null };
  const mid = errs.length >> 1;
  return { n: errs.length, medianRelError: errs.length % 2 ? errs[mid] : (errs[mid - 1] + errs[mid]) / 2, maxRelError: errs[errs.length - 1] };
}

/**
 * How far below its prediction a candidate's latency could still be: the prediction times (1 − this)
 * is the optimistic estimate a candidate must exceed the budget with to be skipped. Wide (½) until three
 * held-out candidates have shown how good the model is, then twice their median error (at least ¼).
 */
export function skipTolerance(heldOut: { n: number; medianRelError: number | null }): number {
  if (heldOut.n < 3 || heldOut.medianRelError === null) return 0.5;
  return Math.min(0.75, Math.max(0.25, 2 * heldOut.medianRelError));
}
