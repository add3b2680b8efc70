/**
 * Pruning schedules as small value objects (after TF Model Optimization's `ConstantSparsity` /
 * `PolynomialDecay`): they only say how sparse the model should be at a given point; the code that
 * computes and applies masks (magnitude.ts) is separate.
 */
import { AppError } from '../../../src-shared/errors';

/** Prune once to the target, then fine-tune. */
export interface OneShotSchedule {
  kind: 'one-shot';
  target: number;
}

/**
 * Prune `stepFraction` of the weights that remain, fine-tune `epochsPerStep` epochs, repeat until
 * the target: sparsities 1 − (1 − f)^k, the last one capped at the target.
 */
export interface IterativeSchedule {
  kind: 'iterative';
  target: number;
  stepFraction: number;
  epochsPerStep: number;
}

/**
 * Sparsity rises from `initial` to `final` between `beginStep` and `endStep` (optimizer steps):
 * s(t) = final + (initial − final) · (1 − (t − begin)/(end − begin))^power, with masks updated every
 * `frequency` steps (Zhu & Gupta 2017).
 */
export interface PolynomialSchedule {
  kind: 'polynomial';
  initial: number;
  final: number;
  beginStep: number;
  endStep: number;
  power: number;
  frequency: number;
}

export type PruningSchedule = OneShotSchedule | IterativeSchedule | PolynomialSchedule;

function checkSparsity(name: string, s: number): void {
  if (!(s >= 0 && s < 1)) throw new AppError('INVALID_ARGS', `${name} must be at least 0 and below 1 (got ${s}); 1 would remove every weight.`);
}

export function oneShot(target: number): OneShotSchedule {
  checkSparsity('The target sparsity', target);
  return { kind: 'one-shot', target };
}

export function iterative(target: number, stepFraction = 0.5, epochsPerStep = 2): IterativeSchedule {
  checkSparsity('The target sparsity', target);
  if (!(stepFraction > 0 && stepFraction < 1)) throw new AppError('INVALID_ARGS', `The step fraction must be above 0 and below 1 (got ${stepFraction}).`);
  if (!Number.isInteger(epochsPerStep) || epochsPerStep < 0) throw new AppError('INVALID_ARGS', `Fine-tuning epochs per step must be a whole number ≥ 0 (got ${epochsPerStep}).`);
  return { kind: 'iterative', target, stepFraction, epochsPerStep };
}

export function polynomialDecay(opts: { initial?: number; final: number; beginStep?: number; endStep: number; power?: number; frequency?: number }): PolynomialSchedule {
  const s: PolynomialSchedule = { kind: 'polynomial', initial: opts.initial ?? 0, final: opts.final, beginStep: opts.beginStep ?? 0, endStep: opts.endStep, power: opts.power ?? 3, frequency: opts.frequency ?? 100 };
  checkSparsity('The initial sparsity', s.initial);
  checkSparsity('The final sparsity', s.final);
  if (s.initial > s.final) throw new AppError('INVALID_ARGS', `The initial sparsity (${s.initial}) must not exceed the final sparsity (${s.final}).`);
  if (!(s.endStep > s.beginStep)) throw new AppError('INVALID_ARGS', `The end step (${s.endStep}) must come after the begin step (${s.beginStep}).`);
  if (!(s.power >= 1)) throw new AppError('INVALID_ARGS', `The power must be at least 1 (got ${s.power}).`);
  if (!Number.isInteger(s.frequency) || s.frequency < 1) throw new AppError('INVALID_ARGS', `The pruning frequency must be a whole number of steps ≥ 1 (got ${s.frequency}).`);
  return s;
}

/** Iterative: the sparsity after each prune step, ending exactly at the target. */
export function iterativeLevels(s: IterativeSchedule): number[] {
  const levels: number[] = [];
  if (s.target === 0) return levels;
  for (let k = 1; ; k++) {
    const level = 1 - (1 - s.stepFraction) ** k;
    if (level >= s.target - 1e-9) {
      levels.push(s.target);
      return levels;
    }
    levels.push(level);
  }
}

/** Polynomial: the target sparsity at optimizer step `step`. */
export function polynomialSparsity(s: PolynomialSchedule, step: number): number {
  if (step <= s.beginStep) return s.initial;
  if (step >= s.endStep) return s.final;
  const p = (step - s.beginStep) / (s.endStep - s.beginStep);
  return s.final + (s.initial - s.final) * (1 - p) ** s.power;
}

/** Polynomial: whether masks are recomputed at this step (every `frequency` steps in [begin, end], and at end). */
export function polynomialUpdatesAt(s: PolynomialSchedule, step: number): boolean {
  if (step < s.beginStep || step > s.endStep) return false;
  return (step - s.beginStep) % s.frequency === 0 || step === s.endStep;
}

/** The largest share of the remaining weights a schedule removes in one step (for the guard rail). */
export function largestStep(s: PruningSchedule): number {
  if (s.kind === 'one-shot') return s.target;
  if (s.kind === 'iterative') {
    let prev = 0;
    let worst = 0;
    for (const l of iterativeLevels(s)) {
      worst = Math.max(worst, (l - prev) / (1 - prev));
      prev = l;
    }
    return worst;
  }
  let prev = s.initial;
  let worst = s.initial;
  for (let t = s.beginStep; t <= s.endStep; t += s.frequency) {
    const l = polynomialSparsity(s, t);
    worst = Math.max(worst, (l - prev) / (1 - prev));
    prev = l;
  }
  const last = s.final;
  return Math.max(worst, (last - prev) / (1 - prev));
}
