import { describe, expect, it } from 'vitest';
import { overallProgress } from '../src-renderer/src/lib/run-progress';

describe('overall run progress', () => {
  it('counts finished stages whole and the running one by its fraction', () => {
    const stages = [
      { index: 0, kind: 'train-teacher', status: 'succeeded' },
      { index: 1, kind: 'distill', status: 'running' },
      { index: 2, kind: 'quantize', status: 'pending' },
      { index: 3, kind: 'export', status: 'pending' },
    ];
    const o = overallProgress(stages, { 1: 0.5 });
    expect(o.fraction).toBeCloseTo(1.5 / 4);
    expect(o.running?.kind).toBe('distill');
    expect(o.done).toBe(1);
    expect(overallProgress(stages, { 1: 7 }).fraction).toBeCloseTo(2 / 4); // a stage never counts more than whole
    expect(overallProgress([], {})).toEqual({ fraction: 0, running: null, done: 0, total: 0 });
  });

  it('does not count stages a stopped run skipped (a resume runs them)', () => {
    const resumed = [
      { index: 0, kind: 'train-teacher', status: 'succeeded' },
      { index: 1, kind: 'distill', status: 'running' },
      { index: 2, kind: 'export', status: 'skipped' },
    ];
    expect(overallProgress(resumed, { 1: 0 })).toMatchObject({ done: 1, fraction: 1 / 3 });
  });
});
