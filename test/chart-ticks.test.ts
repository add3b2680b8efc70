/** Log-axis tick labels (issue 17): Compare's size axis wrote every 1…9 × 10ⁿ tick and they overlapped. */
import { describe, expect, it } from 'vitest';
import { formatBytes } from '../src-shared/format';
import { logTickLabel } from '../src-renderer/src/lib/chart-ticks';

describe('logTickLabel', () => {
  it('labels only 1, 2 and 5 × 10ⁿ, leaving the other ticks as grid lines', () => {
    const ticks = [10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000, 80_000, 90_000, 100_000, 200_000, 300_000];
    expect(ticks.map((t) => logTickLabel(t, formatBytes))).toEqual(['9.77 KiB', '19.5 KiB', '', '', '48.8 KiB', '', '', '', '', '97.7 KiB', '195 KiB', '']);
    expect(logTickLabel(0.2, (v) => `${v} ms`)).toBe('0.2 ms');
    expect(logTickLabel(0.3, (v) => `${v} ms`)).toBe('');
    expect(logTickLabel(0, String)).toBe('');
  });
});
