import { describe, expect, it } from 'vitest';
import { summarizeTrials } from './stats';

describe('trial statistics', () => {
  it('5 trials: min–max interval at 93.75 %, and says so', () => {
    const s = summarizeTrials([1030, 1000, 1010, 990, 1500]);
    expect(s.medianUs).toBe(1010);
    expect([s.ciLowUs, s.ciHighUs]).toEqual([990, 1500]);
    expect(s.coverage).toBeCloseTo(0.9375, 6);
    expect(s.note).toContain('93.75 %');
  });

  it('6 trials reach 96.9 % with [min, max]; 9 trials narrow to the 2nd and 8th values', () => {
    const six = summarizeTrials([6, 1, 5, 2, 4, 3]);
    expect([six.ciLowUs, six.ciHighUs, six.medianUs]).toEqual([1, 6, 3.5]);
    expect(six.coverage).toBeCloseTo(1 - 2 / 64, 6);
    expect(six.note).toBeNull();
    const nine = summarizeTrials([9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect([nine.ciLowUs, nine.ciHighUs, nine.medianUs]).toEqual([2, 8, 5]);
    expect(nine.coverage).toBeCloseTo(1 - 2 * (10 / 512), 6);
  });

  it('coefficient of variation from known values', () => {
    // mean 100, sample sd sqrt(((−10)²+0+10²)/2) = 10
    expect(summarizeTrials([90, 100, 110]).cv).toBeCloseTo(0.1, 10);
    expect(summarizeTrials([42]).cv).toBeNull();
  });
});
