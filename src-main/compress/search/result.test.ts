import { describe, expect, it } from 'vitest';
import type { SearchCandidate } from '../../../src-shared/search';
import { budgetMisses, chooseRecommended, closestMiss, frontiers, margins } from './result';

const arch = { template: 'lenet', width: 0.5, resolution: 28 };
const c = (id: string, valAccuracy: number, latencyMs: number, bytes: number, fidelity = 0.99): SearchCandidate => ({
  id, arch, sparsity: 0, precision: 'int8', rung: 1, epochs: 4, status: 'dropped', valAccuracy, latencyMs, bytes, fidelity, measured: true,
});
const ref = { valAccuracy: 0.9, latencyMs: 1, bytes: 900_000 };

describe('search result', () => {
  const cands = [c('a', 0.895, 0.2, 60_000), c('b', 0.87, 0.1, 20_000), c('c', 0.899, 0.21, 50_000), c('d', 0.9, 0.5, 200_000)];

  it('recommends the fastest that meets the budget, the smaller file within 5 % of it', () => {
    const rec = chooseRecommended(cands, ref, { maxAccuracyDrop: 1 });
    expect(rec?.id).toBe('c');
    expect(margins(rec!, ref, { maxAccuracyDrop: 1 }).accuracy).toBeCloseTo(0.9, 6);
    expect(chooseRecommended(cands, ref, { maxAccuracyDrop: 5 })?.id).toBe('b');
    // Ranked by the quietest trial when known: a's median was inflated by a busy machine.
    const quiet = cands.map((x) => ({ ...x, bestLatencyMs: x.id === 'a' ? 0.09 : x.latencyMs }));
    expect(chooseRecommended(quiet, ref, { maxAccuracyDrop: 1 })?.id).toBe('a');
  });

  it('names every missed limit, and the closest miss when nothing fits', () => {
    expect(budgetMisses(cands[1], ref, { maxAccuracyDrop: 1, maxLatencyMs: 0.05, maxBytes: 10_000 })).toEqual([
      'accuracy 3.00 points below the teacher (budget 1)',
      'latency 0.100 ms > 0.05 ms',
      'file 20000 bytes > 10000',
    ]);
    const budget = { maxAccuracyDrop: 0.05, maxLatencyMs: 0.15 };
    expect(chooseRecommended(cands, ref, budget)).toBeNull();
    const closest = closestMiss(cands, ref, budget)!;
    // c: 0.05 points over a 0.05 budget (scaled by 1 point) + 40 % over on latency; d: 233 % over on latency.
    expect(closest.id).toBe('c');
    expect(closest.misses).toEqual(['accuracy 0.10 points below the teacher (budget 0.05)', 'latency 0.210 ms > 0.15 ms']);
    expect(budgetMisses(c('f', 0.9, 0.1, 1, 0.95), ref, { maxFidelityDrop: 2 })[0]).toMatch(/disagrees with the teacher on 5.00 points/);
  });

  it('frontiers leave out dominated and unmeasured candidates', () => {
    const f = frontiers([...cands, { ...c('u', 0.95, 0.01, 10), measured: false }]);
    expect(f.latency).toEqual(['b', 'a', 'c', 'd']);
    expect(f.size).toEqual(['b', 'c', 'd']);
  });
});
