/**
 * The sweep as data: which candidates a distill stage trains, and how the results turn into the
 * stage's verdict. Pure functions (no tensors), so the choice rules are tested directly.
 *
 * Choice rules (the test split is never looked at for any of them):
 * - the candidate with the highest mean validation accuracy over seeds wins (ties: the earlier one);
 * - the stage hands on the chosen candidate when its mean validation accuracy beats the control's,
 *   else the control (a choice between models);
 * - the claim "distillation helped" is a separate verdict: the per-seed validation differences
 *   (chosen − control, same seed and initial weights) must clear a one-sided Student-t bound at
 *   5 % divided by the number of distilled candidates (the best of N is optimistic: Bonferroni), so
 *   one seed, or a gain inside seed noise, is "no evidence", and without a control there is no claim;
 * - the gain is reported on the test split, per seed (distilled − control with the same seed and the
 *   same initial weights), as mean and sample standard deviation.
 */
import type { DistillCandidate, DistillSummary, SweepPoint } from '../../../src-shared/distill-result';
import type { StageSpec } from '../../../src-shared/recipe';
import { tQuantile } from '../../../src-shared/student-t';

type DistillSpec = Extract<StageSpec, { kind: 'distill' }>;

export type CandidatePlan =
  | { kind: 'control'; name: 'control' }
  | { kind: 'kd'; name: string; temperature: number; alpha: number }
  | { kind: 'features'; name: string; temperature: number; alpha: number }
  | { kind: 'self-progressive'; name: string }
  | { kind: 'self-aux'; name: string; temperature: number; alpha: number };

export function candidateName(temperature: number, alpha: number, prefix = ''): string {
  return `${prefix}T=${temperature} α=${alpha}`;
}

/** Candidates in training order: the control first (it is the baseline every candidate is compared with). */
export function planCandidates(spec: DistillSpec): CandidatePlan[] {
  const out: CandidatePlan[] = [];
  if (spec.control) out.push({ kind: 'control', name: 'control' });
  if (spec.self?.mode === 'progressive') {
    out.push({ kind: 'self-progressive', name: `self-progressive (max α=${spec.self.maxAlpha})` });
    return out;
  }
  for (const alpha of spec.alphas) {
    for (const temperature of spec.temperatures) {
      if (spec.self?.mode === 'aux-heads') out.push({ kind: 'self-aux', name: candidateName(temperature, alpha, 'aux heads '), temperature, alpha });
      else if (spec.features) out.push({ kind: 'features', name: candidateName(temperature, alpha, 'hints + '), temperature, alpha });
      else out.push({ kind: 'kd', name: candidateName(temperature, alpha), temperature, alpha });
    }
  }
  return out;
}

/** What one candidate gave on one seed. */
export interface SeedResult {
  valAccuracy: number;
  /** Test accuracy of this seed's final model (reported only; never used to choose). */
  testAccuracy: number;
  valCurve: number[];
  /** Training loss per epoch (the distillation objective), for the run view's loss chart; absent in state files written before it existed. */
  lossCurve?: number[];
  epochs: number;
}

export interface CandidateResults {
  plan: CandidatePlan;
  /** seed -> result, in the order of `seeds`. */
  perSeed: SeedResult[];
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
export function sampleStd(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** The best non-control candidate by mean validation accuracy. */
export function chooseCandidate(results: CandidateResults[]): CandidateResults {
  const distilled = results.filter((r) => r.plan.kind !== 'control');
  if (!distilled.length) throw new Error('no distillation candidate was trained');
  let best = distilled[0];
  for (const r of distilled) if (mean(r.perSeed.map((s) => s.valAccuracy)) > mean(best.perSeed.map((s) => s.valAccuracy))) best = r;
  return best;
}

export function summarize(results: CandidateResults[], seeds: number[]): DistillSummary {
  const chosen = chooseCandidate(results);
  const control = results.find((r) => r.plan.kind === 'control');
  const candidates: DistillCandidate[] = results.map((r) => ({
    name: r.plan.name,
    ...('temperature' in r.plan ? { temperature: r.plan.temperature, alpha: r.plan.alpha } : {}),
    valAccuracy: mean(r.perSeed.map((s) => s.valAccuracy)),
    valAccuracies: r.perSeed.map((s) => s.valAccuracy),
    valCurve: r.perSeed[0]?.valCurve ?? [],
    epochs: r.perSeed[0]?.epochs ?? 0,
  }));
  const sweep: SweepPoint[] = candidates
    .filter((c) => c.temperature !== undefined && c.name !== 'control')
    .map((c) => ({ temperature: c.temperature as number, alpha: c.alpha, valAccuracy: c.valAccuracy }));
  const distilledAccuracies = chosen.perSeed.map((s) => s.testAccuracy);
  const chosenVal = mean(chosen.perSeed.map((s) => s.valAccuracy));
  if (!control) {
    return { candidates, sweep, chosen: chosen.plan.name, distilledAccuracies, seeds, distillationHelped: false, evidence: 'no-control', output: 'distilled' };
  }
  const controlVal = mean(control.perSeed.map((s) => s.valAccuracy));
  const gains = chosen.perSeed.map((s, i) => s.testAccuracy - control.perSeed[i].testAccuracy);
  const margin = pairedMargin(
    chosen.perSeed.map((s, i) => s.valAccuracy - control.perSeed[i].valAccuracy),
    results.filter((r) => r.plan.kind !== 'control').length,
  );
  const evidence = margin.low !== null && margin.low > 0 ? 'helped' : margin.high !== null && margin.high < 0 ? 'hurt' : 'no-evidence';
  return {
    candidates,
    sweep,
    chosen: chosen.plan.name,
    control: { valAccuracy: controlVal, accuracy: mean(control.perSeed.map((s) => s.testAccuracy)), accuracies: control.perSeed.map((s) => s.testAccuracy) },
    distilledAccuracies,
    gain: mean(gains),
    gainSpread: sampleStd(gains),
    seeds,
    distillationHelped: evidence === 'helped',
    evidence,
    margin,
    output: chosenVal > controlVal ? 'distilled' : 'control',
  };
}

/** Family-wise level of the verdict (one-sided), split over the candidates the best was picked from. */
export const VERDICT_LEVEL = 0.05;

/** Mean paired difference with one-sided bounds at VERDICT_LEVEL / candidates; no bounds from one seed. */
export function pairedMargin(diffs: number[], candidates: number): NonNullable<DistillSummary['margin']> {
  const n = diffs.length;
  const m = mean(diffs);
  const level = VERDICT_LEVEL / Math.max(1, candidates);
  if (n < 2) return { mean: m, low: null, high: null, level, candidates };
  const half = tQuantile(1 - level, n - 1) * (sampleStd(diffs) / Math.sqrt(n));
  return { mean: m, low: m - half, high: m + half, level, candidates };
}

/** The sentence the run view and the CLI show. */
export function verdict(s: DistillSummary): string {
  const pts = (v: number) => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(2)}`;
  const spread = s.seeds.length > 1 ? ` ± ${(100 * (s.gainSpread ?? 0)).toFixed(2)} over ${s.seeds.length} seeds` : '';
  if (!s.control) return `Chose ${s.chosen} by validation accuracy (no control was trained, so the gain from distillation is not measured).`;
  const pct = (v: number | undefined) => `${(100 * (v ?? NaN)).toFixed(2)} %`;
  const val = `${pct(s.candidates.find((c) => c.name === s.chosen)?.valAccuracy)} vs ${pct(s.control.valAccuracy)}`;
  const bound = s.margin && s.margin.low !== null && s.margin.high !== null ? `${pts(s.margin.low)} to ${pts(s.margin.high)} points (one-sided ${(100 * s.margin.level).toFixed(2)} % each way, best of ${s.margin.candidates})` : null;
  if (s.evidence === 'no-evidence') {
    const why = s.seeds.length < 2 ? 'one seed cannot tell a gain from seed noise (train 3 or more seeds)' : `the paired validation difference, ${bound}, includes 0`;
    return `No evidence that distillation helped: ${why}. ${s.output === 'distilled' ? s.chosen : 'The control'} is the stage's output as the better on validation (${val}); on the test split the distilled student differs by ${pts(s.gain ?? 0)} points${spread}.`;
  }
  if (s.distillationHelped) return `Distillation helped: ${s.chosen} beat the control on the validation split (${val}${bound ? `; paired difference ${bound}` : ''}); on the test split it differs from the control by ${pts(s.gain ?? 0)} points${spread}.`;
  return `Distillation did not help: the control (labels only, same student, start and budget) was at least as good on the validation split (best distilled ${s.chosen}: ${val}), so the control is this stage's output. On the test split the distilled student differs by ${pts(s.gain ?? 0)} points${spread}.`;
}
