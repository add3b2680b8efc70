import { describe, expect, it } from 'vitest';
import { initBackend } from '../../tf';
import { buildTemplate } from '../../models';
import { LATENCY_FEATURES, LatencyModel, latencyFeatures, nnls, relativeErrors, skipTolerance } from './latency-model';

describe('nnls', () => {
  it('recovers non-negative coefficients and clamps a negative one to zero', () => {
    const a = [
      [1, 0],
      [0, 1],
      [1, 1],
    ];
    expect(nnls(a, [2, 3, 5]).map((v) => Number(v.toFixed(6)))).toEqual([2, 3]);
    // The unconstrained solution has x₁ < 0; NNLS keeps it at 0.
    const x = nnls([[1, 1], [1, 2]], [1, 0]);
    expect(x[1]).toBe(0);
    expect(x[0]).toBeCloseTo(0.5, 5);
  });
});

describe('latency model', () => {
  it('features split MACs by compute mode and count operators, QUANTIZE/DEQUANTIZE included', async () => {
    await initBackend();
    const m = buildTemplate({ template: 'lenet', inputShape: [28, 28, 1], numClasses: 10, width: 0.5, seed: 1 });
    try {
      const fp = latencyFeatures(m, 'fp32');
      const q = latencyFeatures(m, 'int8');
      const dyn = latencyFeatures(m, 'int8-dynamic');
      expect(fp).toHaveLength(LATENCY_FEATURES.length);
      expect(fp[1]).toBeGreaterThan(0);
      expect(fp[2]).toBe(0);
      expect(q[1]).toBe(0);
      expect(q[2]).toBeCloseTo(fp[1], 9);
      expect(dyn[3]).toBeCloseTo(fp[1], 9);
      expect(q[5]).toBeCloseTo(fp[4], 9);
      expect(q[7]).toBe(fp[7] + 2);
      // One conv kept in float: its MACs move to the float column and two more boundaries appear.
      const mixed = latencyFeatures(m, 'int8-mixed', ['conv2']);
      expect(mixed[1]).toBeGreaterThan(0);
      expect(mixed[1] + mixed[2]).toBeCloseTo(fp[1], 9);
      expect(mixed[7]).toBe(fp[7] + 4);
    } finally {
      m.dispose();
    }
  });

  it('fits per-unit costs from whole-model measurements and predicts a held-out model', () => {
    const truth = [20, 30, 12, 50, 8, 3, 5, 2];
    const lat = (f: number[]) => f.reduce((s, v, i) => s + v * truth[i], 0);
    const rand = (() => {
      let s = 7;
      return () => ((s = (s * 16807) % 2147483647) / 2147483647);
    })();
    const sample = () => [1, rand() * 3, rand() * 3, rand() * 2, rand(), rand(), rand(), 4 + Math.floor(rand() * 8)];
    const lm = new LatencyModel();
    expect(lm.predictUs(sample())).toBeNull();
    for (let i = 0; i < 24; i++) {
      const f = sample();
      lm.add({ features: f, latencyUs: lat(f) });
    }
    const held = Array.from({ length: 10 }, sample).map((f) => ({ predictedUs: lm.predictUs(f)!, measuredUs: lat(f) }));
    const err = relativeErrors(held);
    expect(err.n).toBe(10);
    expect(err.medianRelError!).toBeLessThan(0.02);
    expect(lm.coefficients.every((c) => c >= 0)).toBe(true);
  });

  it('relative errors and the skip tolerance', () => {
    expect(relativeErrors([])).toEqual({ n: 0, medianRelError: null, maxRelError: null });
    const e = relativeErrors([
      { predictedUs: 110, measuredUs: 100 },
      { predictedUs: 80, measuredUs: 100 },
      { predictedUs: 100, measuredUs: 100 },
    ]);
    expect(e.medianRelError).toBeCloseTo(0.1, 9);
    expect(e.maxRelError).toBeCloseTo(0.2, 9);
    expect(skipTolerance({ n: 2, medianRelError: 0.01 })).toBe(0.5);
    expect(skipTolerance({ n: 5, medianRelError: 0.05 })).toBe(0.25);
    expect(skipTolerance({ n: 5, medianRelError: 0.2 })).toBeCloseTo(0.4, 9);
  });
});
