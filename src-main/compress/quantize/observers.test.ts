import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../tf';
import { calibrate, observeRanges } from './observers';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

/** y = x: a Dense(1) with weight 1, so the observed ranges are the data's. */
function identity(): tfl.LayersModel {
  const input = tfl.input({ shape: [1], name: 'input' });
  const d = tfl.layers.dense({ units: 1, name: 'd', kernelInitializer: 'ones', biasInitializer: 'zeros' }).apply(input) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: d });
}

function rng(seed: number) {
  let s = seed;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function samples(values: number[]) {
  return { x: Float32Array.from(values), n: values.length, sampleShape: [1] };
}

/** Mean squared error of int8 round-trip with a range. */
function quantMse(values: number[], lo: number, hi: number): number {
  const s = (hi - lo) / 255;
  return values.reduce((acc, v) => {
    const q = Math.min(255, Math.max(0, Math.round((v - lo) / s)));
    return acc + (lo + q * s - v) ** 2;
  }, 0) / values.length;
}

describe('observers on known distributions', () => {
  const r = rng(11);
  const uniform = Array.from({ length: 4000 }, () => r());

  it('min-max sees the outlier; percentile ignores it', () => {
    const data = [...uniform, 40];
    const m = identity();
    expect(observeRanges(m, samples(data), { observer: 'minmax' }).get('d')!.max).toBeCloseTo(40, 4);
    const p = observeRanges(m, samples(data), { observer: 'percentile', percentile: 99.9 }).get('d')!;
    expect(p.max).toBeGreaterThan(0.95);
    expect(p.max).toBeLessThan(1.05);
    expect(p.min).toBeLessThan(0.05);
  });

  it('moving average discounts one extreme batch', () => {
    const data = [...uniform.slice(0, 256)];
    data[3] = 10; // in the first batch
    const ema = observeRanges(identity(), samples(data), { observer: 'moving-average' }).get('d')!;
    expect(ema.max).toBeGreaterThan(1);
    expect(ema.max).toBeLessThan(4); // 1 + 9·0.9^15 ≈ 2.85
  });

  it('MSE search clips a rare outlier when that lowers the real quantization error', () => {
    // With 8 bits, clipping pays only when many values share the range: 200k in [0, 1], one at 2.
    const data = [...Array.from({ length: 200_000 }, () => r()), 2];
    const mm = observeRanges(identity(), samples(data), { observer: 'minmax', batchSize: 200_001 }).get('d')!;
    const mse = observeRanges(identity(), samples(data), { observer: 'mse', batchSize: 200_001 }).get('d')!;
    expect(mm.max).toBeCloseTo(2, 5);
    // Expected error (2 − h)² + 200000·(h/255)²/12 is least at h = 4 / (2 + 2·200000/(255²·12)) ≈ 1.59.
    expect(mse.max).toBeGreaterThan(1.52);
    expect(mse.max).toBeLessThan(1.66);
    expect(quantMse(data, mse.min, mse.max)).toBeLessThan(quantMse(data, mm.min, mm.max));
    // On a plain uniform sample it keeps (nearly) the whole range.
    const u = observeRanges(identity(), samples(uniform), { observer: 'mse' }).get('d')!;
    expect(u.max).toBeGreaterThan(0.95);
  });

  it('calibrate gives QuantParams for every layer and warns on few samples', () => {
    const { params, warnings } = calibrate(identity(), samples(uniform.slice(0, 10)), { observer: 'minmax' });
    expect(Object.keys(params.activations).sort()).toEqual(['d', 'input']);
    expect(params.activations.d.zeroPoint).toBe(-128); // range [0, max] -> zero point at the bottom
    expect(params.calibration).toEqual({ observer: 'minmax', samples: 10 });
    expect(warnings[0]).toMatch(/Only 10 calibration samples/);
    expect(() => calibrate(identity(), samples([]), { observer: 'minmax' })).toThrow(/at least one sample/);
    tf.disposeVariables();
  });
});
