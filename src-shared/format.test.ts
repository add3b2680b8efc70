/** Durations as people read them: the carried unit never shows 60 (issue 17: an estimate read "2 min 60 s"). */
import { describe, expect, it } from 'vitest';
import { formatDuration } from './format';

describe('formatDuration', () => {
  it('rounds before splitting into units', () => {
    expect(formatDuration(179_600)).toBe('3 min 0 s');
    expect(formatDuration(59_960)).toBe('1 min 0 s');
    expect(formatDuration(999.7)).toBe('1.0 s');
    expect(formatDuration(3_599_700)).toBe('1 h 0 min');
    expect(formatDuration(7_199_000)).toBe('2 h 0 min');
  });
  it('keeps each range in its unit', () => {
    expect(formatDuration(12.4)).toBe('12 ms');
    expect(formatDuration(1_234)).toBe('1.2 s');
    expect(formatDuration(334_000)).toBe('5 min 34 s');
    expect(formatDuration(5_430_000)).toBe('1 h 31 min');
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(Number.NaN)).toBe('—');
  });
});
