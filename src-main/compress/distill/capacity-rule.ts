/**
 * The capacity check before distilling: is the student too small to follow the teacher?
 *
 * Rule: warn when the student has less than 1/50 of the teacher's parameters, or less than 1/50
 * of its multiply-accumulates. Mirzadeh et al. (2020, "Improved knowledge distillation via teacher
 * assistant") found the gain from distillation shrinks, and can vanish, once the size gap grows
 * large. The threshold is a judgement, not a measured constant: it leaves the reference
 * student (LeNet width 0.25, about 1/16 of the teacher) unflagged and flags width 1/8 (about 1/60).
 * Also warn when the student is not smaller than the teacher (nothing is compressed).
 */
import type { CapacityComparison } from '../../models';

export const MIN_RATIO = 1 / 50;

export function capacityWarning(c: CapacityComparison): string | null {
  if (c.paramsRatio >= 1) return `The student has ${c.student.params.toLocaleString('en')} parameters, no fewer than the teacher's ${c.teacher.params.toLocaleString('en')}: distillation will not make the model smaller. Lower the student's width.`;
  const ratio = Math.min(c.paramsRatio, c.macsRatio || c.paramsRatio);
  if (ratio < MIN_RATIO) {
    return `The student is about 1/${Math.round(1 / ratio)} of the teacher's size (parameters ${c.student.params.toLocaleString('en')} vs ${c.teacher.params.toLocaleString('en')}); below 1/${1 / MIN_RATIO} a student often cannot follow its teacher and distillation gains little. Consider a wider student.`;
  }
  return null;
}
