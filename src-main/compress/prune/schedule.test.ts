import { describe, expect, it } from 'vitest';
import { iterative, iterativeLevels, largestStep, oneShot, polynomialDecay, polynomialSparsity, polynomialUpdatesAt } from './schedule';

describe('pruning schedules', () => {
  it('iterative: half of what remains per step, ending exactly at the target', () => {
    expect(iterativeLevels(iterative(0.9, 0.5, 2))).toEqual([0.5, 0.75, 0.875, 0.9]);
    expect(iterativeLevels(iterative(0.75, 0.5))).toEqual([0.5, 0.75]);
    expect(iterativeLevels(iterative(0, 0.5))).toEqual([]);
  });

  it('polynomial decay with power 3 between begin and end step', () => {
    const s = polynomialDecay({ initial: 0.1, final: 0.9, beginStep: 100, endStep: 300, frequency: 50 });
    expect(s.power).toBe(3);
    expect(polynomialSparsity(s, 0)).toBe(0.1);
    expect(polynomialSparsity(s, 100)).toBe(0.1);
    // halfway: 0.9 + (0.1 − 0.9)·0.5³ = 0.8
    expect(polynomialSparsity(s, 200)).toBeCloseTo(0.8, 12);
    expect(polynomialSparsity(s, 300)).toBe(0.9);
    expect(polynomialSparsity(s, 10_000)).toBe(0.9);
    expect([100, 120, 150, 200, 299, 300, 350].map((t) => polynomialUpdatesAt(s, t))).toEqual([true, false, true, true, false, true, false]);
  });

  it('largest single step for the guard rail', () => {
    expect(largestStep(oneShot(0.8))).toBe(0.8);
    expect(largestStep(iterative(0.9, 0.5))).toBeCloseTo(0.5);
    expect(largestStep(polynomialDecay({ final: 0.9, endStep: 1000, frequency: 100 }))).toBeLessThan(0.5);
    expect(largestStep(polynomialDecay({ final: 0.9, endStep: 1000, frequency: 1000 }))).toBeCloseTo(0.9);
  });

  it('bad values get messages', () => {
    expect(() => oneShot(1)).toThrow(/below 1/);
    expect(() => polynomialDecay({ initial: 0.5, final: 0.2, endStep: 10 })).toThrow(/must not exceed/);
    expect(() => polynomialDecay({ final: 0.5, beginStep: 10, endStep: 10 })).toThrow(/must come after/);
  });
});
