/**
 * Turning the measured candidates into an answer: which meet the budget (validation only), the
 * Pareto frontiers, the recommendation (the fastest that meets the budget, then the smallest), and,
 * when none does, the one that misses by least.
 */
import { paretoFrontier } from '../../../src-shared/pareto';
import type { SearchBudget, SearchCandidate } from '../../../src-shared/search';

export interface Reference {
  valAccuracy: number;
  latencyMs: number;
  bytes: number;
}

const pts = (v: number) => `${(v * 100).toFixed(2)} points`;

/** What `c` misses of the budget, in words (empty: it meets it). Accuracy and fidelity on validation. */
export function budgetMisses(c: SearchCandidate, ref: Reference, budget: SearchBudget): string[] {
  const misses: string[] = [];
  if (budget.maxAccuracyDrop !== undefined && c.valAccuracy !== undefined) {
    const drop = ref.valAccuracy - c.valAccuracy;
    if (drop * 100 > budget.maxAccuracyDrop + 1e-9) misses.push(`accuracy ${pts(drop)} below the teacher (budget ${budget.maxAccuracyDrop})`);
  }
  if (budget.maxFidelityDrop !== undefined && c.fidelity !== undefined) {
    const drop = 1 - c.fidelity;
    if (drop * 100 > budget.maxFidelityDrop + 1e-9) misses.push(`disagrees with the teacher on ${pts(drop)} of validation images (budget ${budget.maxFidelityDrop})`);
  }
  if (budget.maxLatencyMs !== undefined && c.latencyMs !== undefined && c.latencyMs > budget.maxLatencyMs) misses.push(`latency ${c.latencyMs.toFixed(3)} ms > ${budget.maxLatencyMs} ms`);
  if (budget.maxBytes !== undefined && c.bytes !== undefined && c.bytes > budget.maxBytes) misses.push(`file ${c.bytes} bytes > ${budget.maxBytes}`);
  return misses;
}

/** How badly `c` misses the budget: the sum of its relative overshoots (0 = meets it). */
export function budgetDistance(c: SearchCandidate, ref: Reference, budget: SearchBudget): number {
  let d = 0;
  const over = (value: number, limit: number, scale: number) => Math.max(0, value - limit) / scale;
  if (budget.maxAccuracyDrop !== undefined && c.valAccuracy !== undefined) d += over((ref.valAccuracy - c.valAccuracy) * 100, budget.maxAccuracyDrop, Math.max(1, budget.maxAccuracyDrop));
  if (budget.maxFidelityDrop !== undefined && c.fidelity !== undefined) d += over((1 - c.fidelity) * 100, budget.maxFidelityDrop, Math.max(1, budget.maxFidelityDrop));
  if (budget.maxLatencyMs !== undefined && c.latencyMs !== undefined) d += over(c.latencyMs, budget.maxLatencyMs, budget.maxLatencyMs);
  if (budget.maxBytes !== undefined && c.bytes !== undefined) d += over(c.bytes, budget.maxBytes, budget.maxBytes);
  return d;
}

/** Candidates that finished (exported, validated, measured on the target). */
export const finished = (cs: SearchCandidate[]) => cs.filter((c) => c.measured && c.valAccuracy !== undefined && c.latencyMs !== undefined && c.bytes !== undefined);

export function frontiers(cs: SearchCandidate[]): { latency: string[]; size: string[] } {
  const done = finished(cs);
  return {
    latency: paretoFrontier(done, rankMs, (c) => c.valAccuracy!).map((c) => c.id),
    size: paretoFrontier(done, (c) => c.bytes!, (c) => c.valAccuracy!).map((c) => c.id),
  };
}

/** What candidates are ranked by: the quietest trial when known, else the median. */
const rankMs = (c: SearchCandidate) => c.bestLatencyMs ?? c.latencyMs!;

/**
 * The recommendation among finished candidates that meet the budget: the fastest (by the quietest
 * trial); within 5 % of the fastest (inside the noise of a benchmark), the smallest file; then the
 * most accurate.
 */
export function chooseRecommended(cs: SearchCandidate[], ref: Reference, budget: SearchBudget): SearchCandidate | null {
  const ok = finished(cs).filter((c) => budgetMisses(c, ref, budget).length === 0);
  if (!ok.length) return null;
  const fastest = Math.min(...ok.map(rankMs));
  const near = ok.filter((c) => rankMs(c) <= fastest * 1.05);
  near.sort((a, b) => a.bytes! - b.bytes! || b.valAccuracy! - a.valAccuracy! || rankMs(a) - rankMs(b));
  return near[0];
}

export function closestMiss(cs: SearchCandidate[], ref: Reference, budget: SearchBudget): { id: string; misses: string[] } | null {
  const done = finished(cs);
  if (!done.length) return null;
  const best = done.reduce((a, b) => (budgetDistance(b, ref, budget) < budgetDistance(a, ref, budget) ? b : a));
  return { id: best.id, misses: budgetMisses(best, ref, budget) };
}

/** Budget minus value for each limit given (accuracy and fidelity in points). */
export function margins(c: SearchCandidate, ref: Reference, budget: SearchBudget): { accuracy?: number; fidelity?: number; latencyMs?: number; bytes?: number } {
  return {
    ...(budget.maxAccuracyDrop !== undefined && c.valAccuracy !== undefined ? { accuracy: budget.maxAccuracyDrop - (ref.valAccuracy - c.valAccuracy) * 100 } : {}),
    ...(budget.maxFidelityDrop !== undefined && c.fidelity !== undefined ? { fidelity: budget.maxFidelityDrop - (1 - c.fidelity) * 100 } : {}),
    ...(budget.maxLatencyMs !== undefined && c.latencyMs !== undefined ? { latencyMs: budget.maxLatencyMs - c.latencyMs } : {}),
    ...(budget.maxBytes !== undefined && c.bytes !== undefined ? { bytes: budget.maxBytes - c.bytes } : {}),
  };
}
