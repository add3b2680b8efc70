/**
 * Gradual magnitude pruning (Zhu & Gupta 2017) on the engine's training loop, shared by the prune
 * stage's polynomial schedule and the compress benchmark: the sparsity rises along a polynomial
 * schedule while fine-tuning, masks are recomputed every `frequency` steps and re-applied after
 * every optimizer step, and fine-tuning continues at the final sparsity after the schedule ends.
 *
 * Model selection only considers epochs that ended at the final sparsity: restoring a
 * best-validation epoch from the ramp (a less sparse mask) and then multiplying the final mask in
 * would hand back weights that were never fine-tuned under that mask (the issue-4 accuracy loss).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import type { TrainingData } from '../../data';
import type { FitResult } from '../train';
import { fineTune, type FineTuneOptions, stepsPerEpoch } from './fine-tune';
import { applyMasks, computeMasks, DEFAULT_MIN_KEEP, disposeMasks, flooredLayers, type Masks, sparsityOf, type SparsityReport, stripPruning } from './magnitude';
import { type PolynomialSchedule, polynomialSparsity, polynomialUpdatesAt } from './schedule';

/** Default share of the fine-tuning steps over which the sparsity ramps up (the recipe's `rampShare` default). */
export const RAMP_SHARE = 2 / 3;
/** Default number of mask updates along the ramp. */
export const MASK_UPDATES = 30;

/** The first 1-based epoch that ends with the schedule's final masks in force. */
export function firstEpochAtTarget(schedule: PolynomialSchedule, batches: number): number {
  return Math.max(1, Math.ceil(schedule.endStep / batches));
}

export interface GradualPruneOptions extends Omit<FineTuneOptions, 'afterStep' | 'selectFromEpoch' | 'trainForward' | 'evalForward'> {
  data: TrainingData;
  schedule: PolynomialSchedule;
  scope: 'layer' | 'global';
  skipLayers?: readonly string[];
  /** Per-layer floor of a global threshold (share of each kernel kept); default DEFAULT_MIN_KEEP. */
  minKeep?: number;
}

export interface GradualPruneResult {
  /** A plain model (no pruning state) with the final masks in; the input model is left as trained. */
  model: tfl.LayersModel;
  report: SparsityReport;
  /** Layers held at the per-layer floor by the global threshold. */
  floored: string[];
  fit: FitResult;
  /** Whether fine-tuning continued after the final masks were set (false: the schedule outlasts the epochs). */
  tunedAtTarget: boolean;
}

export async function prunePolynomial(o: GradualPruneOptions): Promise<GradualPruneResult> {
  const { model, schedule } = o;
  const batches = stepsPerEpoch(o.data, o.batchSize);
  const totalSteps = o.epochs * batches;
  const mask = (sparsity: number) => computeMasks(model, { sparsity, scope: o.scope, skipLayers: o.skipLayers, minKeep: o.minKeep });
  let masks: Masks = mask(polynomialSparsity(schedule, 0));
  try {
    applyMasks(model, masks);
    const fit = await fineTune({
      ...o,
      // Only epochs that ended at the final sparsity may be restored as the best one.
      selectFromEpoch: firstEpochAtTarget(schedule, batches),
      afterStep: (step) => {
        if (polynomialUpdatesAt(schedule, step)) {
          disposeMasks(masks);
          masks = mask(polynomialSparsity(schedule, step));
        }
        applyMasks(model, masks);
      },
    });
    const tunedAtTarget = schedule.endStep < totalSteps;
    if (!tunedAtTarget) {
      disposeMasks(masks);
      masks = mask(schedule.final);
    }
    const plain = await stripPruning(model, masks);
    const report = sparsityOf(plain, o.skipLayers);
    return { model: plain, report, floored: o.scope === 'global' ? flooredLayers(report, o.minKeep ?? DEFAULT_MIN_KEEP) : [], fit, tunedAtTarget };
  } finally {
    disposeMasks(masks);
  }
}
