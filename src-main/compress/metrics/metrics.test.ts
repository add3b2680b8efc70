import { describe, expect, it } from 'vitest';
import { classificationMetrics } from '.';

describe('classificationMetrics (hand-computed)', () => {
  // 4 samples, 3 classes, probabilities given directly.
  const probs = [
    0.7, 0.2, 0.1, // y=0, pred 0 (conf 0.7), correct
    0.1, 0.3, 0.6, // y=1, pred 2 (conf 0.6), wrong; true class ranks 2nd
    0.2, 0.5, 0.3, // y=1, pred 1 (conf 0.5), correct
    0.6, 0.3, 0.1, // y=2, pred 0 (conf 0.6), wrong; true class ranks 3rd
  ];
  const labels = [0, 1, 1, 2];

  it('top-1, top-2, per-class, confusion', () => {
    const m = classificationMetrics(probs, labels, 3, { probabilities: true, k: 2 });
    expect(m.n).toBe(4);
    expect(m.accuracy).toBe(0.5);
    expect(m.topK).toBe(0.75);
    expect(m.perClass).toEqual([1, 0.5, 0]);
    expect(m.confusion).toEqual([
      [1, 0, 0],
      [0, 1, 1],
      [1, 0, 0],
    ]);
    expect(m.loss).toBeCloseTo(-(Math.log(0.7) + Math.log(0.3) + Math.log(0.5) + Math.log(0.1)) / 4, 10);
  });

  it('expected calibration error with 10 bins', () => {
    // Bins: (0.6,0.7] holds conf 0.7 (correct); (0.5,0.6] holds 0.6, 0.6 (both wrong); (0.4,0.5] holds 0.5 (correct).
    // ECE = 1/4*|1-0.7| + 2/4*|0-0.6| + 1/4*|1-0.5| = 0.075 + 0.3 + 0.125 = 0.5
    const m = classificationMetrics(probs, labels, 3, { probabilities: true, bins: 10 });
    expect(m.ece).toBeCloseTo(0.5, 10);
  });

  it('applies softmax to logits, skips unlabeled samples, and marks empty classes NaN', () => {
    const logits = [2, 0, 0, 0, 3, 0];
    const m = classificationMetrics(logits, [0, -1], 3);
    expect(m.n).toBe(1);
    expect(m.accuracy).toBe(1);
    const p0 = Math.exp(2) / (Math.exp(2) + 2);
    expect(m.loss).toBeCloseTo(-Math.log(p0), 10);
    expect(m.perClass[0]).toBe(1);
    expect(Number.isNaN(m.perClass[1])).toBe(true);
  });

  it('rejects scores that do not match the labels and classes', () => {
    expect(() => classificationMetrics([1, 2, 3], [0, 1], 3)).toThrow(/expected 6/);
    expect(() => classificationMetrics([1, 2, 3], [5], 3)).toThrow(/outside the 3 classes/);
  });
});
