import { describe, expect, it } from 'vitest';
import { multiplyByQuantizedMultiplier, quantizeMultiplier, roundingDivideByPOT, saturatingRoundingDoublingHighMul } from './fixed-point';

/** gemmlowp's definitions with 64-bit integers (BigInt), as written in C++. */
function refSRDHM(a: number, b: number): number {
  if (a === -2147483648 && b === -2147483648) return 2147483647;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates toward zero, like C++
}
function refRDBP(x: number, e: number): number {
  const mask = (1 << e) - 1;
  const rem = x & mask;
  const thr = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (rem > thr ? 1 : 0);
}

function* lcg(seed: number) {
  let s = seed >>> 0;
  for (;;) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    yield s | 0;
  }
}

describe('TFLite fixed-point requantization', () => {
  it('SaturatingRoundingDoublingHighMul matches 64-bit integer arithmetic', () => {
    const r = lcg(7);
    const special = [0, 1, -1, 2147483647, -2147483648, 1 << 30, -(1 << 30), 12345, -98765];
    for (const a of special) for (const b of special) expect(saturatingRoundingDoublingHighMul(a, b)).toBe(refSRDHM(a, b));
    for (let i = 0; i < 20000; i++) {
      const a = r.next().value as number;
      const b = r.next().value as number;
      expect(saturatingRoundingDoublingHighMul(a, b)).toBe(refSRDHM(a, b));
    }
  });

  it('RoundingDivideByPOT rounds half away from zero', () => {
    expect([roundingDivideByPOT(5, 1), roundingDivideByPOT(-5, 1), roundingDivideByPOT(6, 2), roundingDivideByPOT(-6, 2), roundingDivideByPOT(7, 2)]).toEqual([3, -3, 2, -2, 2]);
    for (let x = -1000; x <= 1000; x += 7) for (const e of [1, 3, 8]) expect(roundingDivideByPOT(x, e)).toBe(refRDBP(x, e));
  });

  it('quantizeMultiplier and the full multiply approximate x·M to within one unit', () => {
    for (const m of [0.0003, 0.0123, 0.5, 0.75, 0.999999, 1.5, 3.2]) {
      const q = quantizeMultiplier(m);
      expect(q.m0).toBeGreaterThanOrEqual(2 ** 30);
      expect(q.m0).toBeLessThan(2 ** 31);
      expect(q.m0 * 2 ** (q.shift - 31)).toBeCloseTo(m, 8);
      for (const x of [-70000, -1234, -1, 0, 1, 999, 65535, 1_000_000]) {
        const got = multiplyByQuantizedMultiplier(x, q);
        expect(Math.abs(got - x * m)).toBeLessThanOrEqual(1);
        // And exactly TFLite's definition.
        const left = Math.max(q.shift, 0);
        const right = Math.max(-q.shift, 0);
        expect(got).toBe(refRDBP(refSRDHM(x * 2 ** left, q.m0), right));
      }
    }
  });
});
