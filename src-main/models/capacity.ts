/**
 * Student/teacher size numbers for the capacity check. The warning rule itself belongs to the
 * distillation stage; this provides the ratios and student widths that hit chosen fractions of the
 * teacher's parameters.
 */
import { AppError } from '../../src-shared/errors';
import type { CapacityComparison, WidthSuggestion } from '../../src-shared/engine-types';
import { type ModelSummary, summarizeModel } from './summary';
import { buildTemplate, type TemplateSpec } from './templates';

export type { CapacityComparison, WidthSuggestion } from '../../src-shared/engine-types';

export function compareCapacity(student: ModelSummary, teacher: ModelSummary): CapacityComparison {
  const t = { params: teacher.totals.params, macs: teacher.totals.macsDeployed };
  const s = { params: student.totals.params, macs: student.totals.macsDeployed };
  return { teacher: t, student: s, paramsRatio: t.params ? s.params / t.params : 0, macsRatio: t.macs ? s.macs / t.macs : 0 };
}


/** Widths tried, ascending: fine steps where small students live, coarser above 1. */
export const CANDIDATE_WIDTHS = [1 / 32, 1 / 16, 3 / 32, 1 / 8, 3 / 16, 1 / 4, 5 / 16, 3 / 8, 1 / 2, 5 / 8, 3 / 4, 7 / 8, 1, 1.25, 1.5, 2, 3, 4];

/**
 * For each target fraction (default 1/4, 1/8, 1/16 of the teacher's parameters), the candidate
 * width of `student`'s template whose parameter count is closest to it (in ratio). Builds each
 * candidate once (needs an initialised backend) and stops once students outgrow every target.
 */
export function suggestWidths(student: Omit<TemplateSpec, 'width'>, teacher: ModelSummary, targets: number[] = [1 / 4, 1 / 8, 1 / 16]): WidthSuggestion[] {
  if (!targets.length || targets.some((t) => !(t > 0))) throw new AppError('INVALID_ARGS', 'Target fractions of the teacher size must be above 0.');
  const tParams = teacher.totals.params;
  const tMacs = teacher.totals.macsDeployed;
  const maxTarget = Math.max(...targets);
  const tried: { width: number; params: number; macs: number }[] = [];
  for (const width of CANDIDATE_WIDTHS) {
    const model = buildTemplate({ ...student, width } as TemplateSpec);
    try {
      const s = summarizeModel(model, { nonZero: false });
      tried.push({ width, params: s.totals.params, macs: s.totals.macsDeployed });
    } finally {
      model.dispose();
    }
    if (tried[tried.length - 1].params > 2 * maxTarget * tParams) break;
  }
  return targets.map((target) => {
    const goal = target * tParams;
    let best = tried[0];
    for (const c of tried) if (Math.abs(Math.log(c.params / goal)) < Math.abs(Math.log(best.params / goal))) best = c;
    return { target, width: best.width, params: best.params, macs: best.macs, paramsRatio: best.params / tParams, macsRatio: tMacs ? best.macs / tMacs : 0 };
  });
}
