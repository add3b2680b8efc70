/**
 * What a distill stage stores in its StageResult metrics (beside the usual accuracy, params,
 * bytes...), read by the run view's sweep chart and control panel. Plain JSON.
 */

/** One setting tried by the sweep (a temperature/alpha pair, or a self/feature variant). */
export interface DistillCandidate {
  /** `T=4 α=0.7`, `control`, `self-progressive`... */
  name: string;
  temperature?: number;
  alpha?: number;
  /** Mean validation accuracy over seeds: what the choice is made on. */
  valAccuracy: number;
  /** One value per seed. */
  valAccuracies: number[];
  /** Per-epoch validation accuracy of the first seed (the curve shown in the UI). */
  valCurve: number[];
  epochs: number;
}

export interface SweepPoint {
  temperature: number;
  alpha?: number;
  valAccuracy: number;
}

export interface DistillSummary {
  candidates: DistillCandidate[];
  sweep: SweepPoint[];
  /** The candidate the sweep picked (by validation accuracy). */
  chosen: string;
  control?: {
    valAccuracy: number;
    /** Test accuracy of the control, mean over seeds. */
    accuracy: number;
    accuracies: number[];
  };
  /** Test accuracy of the chosen distilled student, one per seed. */
  distilledAccuracies: number[];
  /** Mean test-accuracy gain of the chosen setting over the control (points of accuracy as a fraction: 0.01 = 1 point). */
  gain?: number;
  /** Sample standard deviation of the per-seed gains (0 with one seed). */
  gainSpread?: number;
  seeds: number[];
  /**
   * True only when the evidence says so (`evidence === 'helped'`): never without a control, never
   * from one seed, never inside the noise margin.
   */
  distillationHelped: boolean;
  /**
   * The verdict on validation, paired by seed (distilled − control, same seed and start), against a
   * margin for seed noise and for picking the best of several candidates (one-sided t bound at
   * 5 % / number of candidates): `helped` / `hurt` when the bound clears 0, `no-evidence` otherwise
   * (always with one seed), `no-control` when no control was trained. Absent in older results.
   */
  evidence?: 'helped' | 'hurt' | 'no-evidence' | 'no-control';
  /** The paired validation difference and its bounds, in accuracy (0.01 = 1 point). */
  margin?: { mean: number; low: number | null; high: number | null; level: number; candidates: number };
  /** Which model the stage hands on: the better on validation (a choice, not a claim of a gain). */
  output: 'distilled' | 'control';
}

export function isDistillSummary(v: unknown): v is DistillSummary {
  return typeof v === 'object' && v !== null && Array.isArray((v as DistillSummary).candidates) && Array.isArray((v as DistillSummary).sweep);
}
