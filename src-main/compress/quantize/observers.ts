/**
 * Activation range observers for post-training quantization, all producing `QuantParams` through
 * `paramsFromRanges` (minmax.ts, shared with the exporter):
 * - `minmax`: smallest and largest value seen.
 * - `moving-average`: per-batch min and max, averaged with an exponential moving average (factor
 *   0.1, batches of 16), which discounts a single extreme batch (PyTorch's MovingAverageMinMaxObserver).
 * - `percentile`: the p-th and (100 − p)-th percentiles of a 2048-bin histogram (clips rare outliers).
 * - `mse`: the clipping range [α·min, α·max] that minimises the expected squared quantization
 *   error (rounding inside the range, clipping outside) over the histogram.
 * Calibration samples come from the training split (`calibrationSample` in src-main/data).
 */
import { cancelPoint } from '../../tf/cancel';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import type { Split } from '../../data/types';
import { FEW_CALIBRATION_SAMPLES, type LayerRange, paramsFromRanges } from './minmax';
import type { QuantParams } from './params';

export type ObserverKind = 'minmax' | 'moving-average' | 'percentile' | 'mse';

export interface ObserverOptions {
  observer: ObserverKind;
  /** For `percentile`: e.g. 99.99. */
  percentile?: number;
  batchSize?: number;
  seed?: number;
}

type Samples = Pick<Split, 'x' | 'n' | 'sampleShape'>;

const BINS = 2048;
const EMA = 0.1;

/** Runs batches through the model and hands every layer's output values (and the input's) to `visit`. */
function forEachBatch(model: tfl.LayersModel, samples: Samples, batchSize: number, visit: (layer: string, values: Float32Array) => void): void {
  const computed = model.layers.filter((l) => l.inboundNodes[0]?.inboundLayers.length);
  const inputs = model.layers.filter((l) => !l.inboundNodes[0]?.inboundLayers.length);
  const probe = tfl.model({ inputs: model.inputs, outputs: computed.map((l) => l.output as tfl.SymbolicTensor) });
  const per = samples.sampleShape.reduce((a, b) => a * b, 1);
  for (let start = 0; start < samples.n; start += batchSize) {
    cancelPoint();
    const n = Math.min(batchSize, samples.n - start);
    const xs = samples.x.subarray(start * per, (start + n) * per);
    for (const l of inputs) visit(l.name, xs);
    const outs = tf.tidy(() => {
      const o = probe.predict(tf.tensor(xs, [n, ...samples.sampleShape])) as tf.Tensor | tf.Tensor[];
      return Array.isArray(o) ? o : [o];
    });
    outs.forEach((t, i) => visit(computed[i].name, t.dataSync() as Float32Array));
    tf.dispose(outs);
  }
}

function minMaxOf(v: Float32Array): LayerRange {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return { min, max };
}

interface Histogram {
  lo: number;
  hi: number;
  counts: Float64Array;
  total: number;
}

function histogramAdd(h: Histogram, v: Float32Array): void {
  const width = (h.hi - h.lo) / BINS || 1;
  for (let i = 0; i < v.length; i++) {
    let b = Math.floor((v[i] - h.lo) / width);
    if (b < 0) b = 0;
    else if (b >= BINS) b = BINS - 1;
    h.counts[b]++;
  }
  h.total += v.length;
}

/** Value below which a share `q` of the histogram's mass lies (linear inside a bin). */
export function histogramQuantile(h: Histogram, q: number): number {
  const width = (h.hi - h.lo) / BINS;
  const target = q * h.total;
  let cum = 0;
  for (let b = 0; b < BINS; b++) {
    if (cum + h.counts[b] >= target) {
      const inside = h.counts[b] ? (target - cum) / h.counts[b] : 0;
      return h.lo + (b + inside) * width;
    }
    cum += h.counts[b];
  }
  return h.hi;
}

/** Expected squared int8 error over the histogram for the range [lo, hi]: rounding inside, clipping outside. */
function expectedError(h: Histogram, lo: number, hi: number): number {
  const width = (h.hi - h.lo) / BINS;
  const step = (hi - lo) / 255;
  let err = 0;
  for (let b = 0; b < BINS; b++) {
    const n = h.counts[b];
    if (!n) continue;
    const c = h.lo + (b + 0.5) * width;
    if (c < lo) err += n * (c - lo) ** 2;
    else if (c > hi) err += n * (c - hi) ** 2;
    else err += (n * step * step) / 12;
  }
  return err;
}

/**
 * The clipping range with the least expected squared int8 error: each end is searched over
 * 5 %…100 % of the observed one (the range always contains 0), one end at a time, twice.
 */
export function mseRange(h: Histogram): LayerRange {
  const lo0 = Math.min(h.lo, 0);
  const hi0 = Math.max(h.hi, 0);
  let lo = lo0;
  let hi = hi0;
  let best = expectedError(h, lo, hi);
  for (let round = 0; round < 2; round++) {
    for (const side of ['hi', 'lo'] as const) {
      const full = side === 'hi' ? hi0 : lo0;
      if (full === 0) continue;
      for (let k = 100; k >= 5; k--) {
        const v = (full * k) / 100;
        const err = side === 'hi' ? expectedError(h, lo, v) : expectedError(h, v, hi);
        if (err < best * (1 - 1e-12)) {
          best = err;
          if (side === 'hi') hi = v;
          else lo = v;
        }
      }
    }
  }
  return { min: lo, max: hi };
}

/** Observed range of every layer's output (and the model input) for the chosen observer. */
export function observeRanges(model: tfl.LayersModel, samples: Samples, opts: ObserverOptions): Map<string, LayerRange> {
  if (samples.n < 1) throw new AppError('INVALID_ARGS', 'Calibration needs at least one sample from the training split.');
  const batchSize = opts.batchSize ?? (opts.observer === 'moving-average' ? 16 : 64);
  const ranges = new Map<string, LayerRange>();
  const ema = new Map<string, LayerRange>();
  forEachBatch(model, samples, batchSize, (name, v) => {
    const r = minMaxOf(v);
    const cur = ranges.get(name);
    ranges.set(name, cur ? { min: Math.min(cur.min, r.min), max: Math.max(cur.max, r.max) } : r);
    const e = ema.get(name);
    ema.set(name, e ? { min: e.min + EMA * (r.min - e.min), max: e.max + EMA * (r.max - e.max) } : r);
  });
  if (opts.observer === 'minmax') return ranges;
  if (opts.observer === 'moving-average') return ema;
  const hists = new Map<string, Histogram>();
  for (const [name, r] of ranges) hists.set(name, { lo: r.min, hi: r.max > r.min ? r.max : r.min + 1e-6, counts: new Float64Array(BINS), total: 0 });
  forEachBatch(model, samples, batchSize, (name, v) => histogramAdd(hists.get(name)!, v));
  const out = new Map<string, LayerRange>();
  for (const [name, h] of hists) {
    if (opts.observer === 'percentile') {
      const p = (opts.percentile ?? 99.99) / 100;
      if (!(p > 0.5 && p <= 1)) throw new AppError('INVALID_ARGS', `The percentile must be above 50 and at most 100 (got ${opts.percentile}).`);
      out.set(name, { min: histogramQuantile(h, 1 - p), max: histogramQuantile(h, p) });
    } else out.set(name, mseRange(h));
  }
  return out;
}

/** PTQ parameters for the whole graph from calibration samples, with a warning when they are few. */
export function calibrate(model: tfl.LayersModel, samples: Samples, opts: ObserverOptions): { params: QuantParams; warnings: string[] } {
  const ranges = observeRanges(model, samples, opts);
  const params = paramsFromRanges(model, ranges, { observer: opts.observer, samples: samples.n, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) });
  const warnings =
    samples.n < FEW_CALIBRATION_SAMPLES
      ? [`Only ${samples.n} calibration samples: activation ranges may miss rare values and cost accuracy; use at least ${FEW_CALIBRATION_SAMPLES} (256 is the default).`]
      : [];
  return { params, warnings };
}

export { histogramAdd, BINS };
export type { Histogram };
