import { describe, expect, it } from 'vitest';
import { tCdf, tQuantile } from './student-t';

describe("Student's t", () => {
  it('matches published table values', () => {
    // Two-sided 95 % (p = 0.975) and one-sided 95 % / 99 % critical values.
    expect(tQuantile(0.975, 1)).toBeCloseTo(12.706, 2);
    expect(tQuantile(0.975, 4)).toBeCloseTo(2.776, 3);
    expect(tQuantile(0.95, 1)).toBeCloseTo(6.314, 3);
    expect(tQuantile(0.95, 9)).toBeCloseTo(1.833, 3);
    expect(tQuantile(0.99, 9)).toBeCloseTo(2.821, 3);
    expect(tQuantile(0.975, 30)).toBeCloseTo(2.042, 3);
    expect(tCdf(0, 5)).toBeCloseTo(0.5, 12);
    expect(tCdf(-2.015, 5)).toBeCloseTo(0.05, 3);
  });
});
