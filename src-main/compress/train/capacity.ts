/**
 * The capacity rule: can a student follow its teacher? Distillation transfers little when the
 * student is far too small, and some shapes cannot carry the information at all.
 *
 * - size: r = min(student/teacher parameters, student/teacher MACs). r < 1/30: warning (the gap is
 *   large; expect the student to trail the teacher clearly). r < 1/100: severe (the student is very
 *   unlikely to follow; pick a wider student).
 * - convolution width: every Conv2D (and each separable/depthwise stage's pointwise output) needs at
 *   least 4 output channels; fewer starves every later layer (warning).
 * - bottleneck: the features entering the final classifier need at least classes - 1 dimensions
 *   (the rank a linear classifier over that many classes needs); fewer is severe.
 * With a warning or worse, student widths at 1/4, 1/8 and 1/16 of the teacher's parameters are
 * suggested (when the student is a template).
 */
import type { CapacityLevel, CapacityReport } from '../../../src-shared/engine-types';
import { compareCapacity, type ModelSummary } from '../../models';

export const CAPACITY_RULE =
  'Warn when the student has less than 1/30 of the teacher’s parameters or MACs, and flag it as severe below 1/100; ' +
  'every convolution needs at least 4 output channels; the features entering the classifier need at least (classes − 1) dimensions.';

export const WARN_RATIO = 1 / 30;
export const SEVERE_RATIO = 1 / 100;
export const MIN_CONV_CHANNELS = 4;

const CONV_TYPES = new Set(['Conv2D', 'SeparableConv2D']);

const fmtRatio = (r: number) => (r >= 0.1 ? `${(100 * r).toFixed(0)} %` : `1/${Math.round(1 / r)}`);

export function capacityCheck(student: ModelSummary, teacher: ModelSummary, numClasses: number): Omit<CapacityReport, 'suggestions'> {
  const comparison = compareCapacity(student, teacher);
  const findings: CapacityReport['findings'] = [];
  const ratio = Math.min(comparison.paramsRatio, comparison.macsRatio || comparison.paramsRatio);
  const which = comparison.paramsRatio <= (comparison.macsRatio || Infinity) ? 'parameters' : 'MACs';
  if (ratio < SEVERE_RATIO) {
    findings.push({ level: 'severe', message: `The student has ${fmtRatio(ratio)} of the teacher’s ${which}: far too small to follow it. Pick a wider student.` });
  } else if (ratio < WARN_RATIO) {
    findings.push({ level: 'warn', message: `The student has ${fmtRatio(ratio)} of the teacher’s ${which}: a large gap, expect it to trail the teacher clearly. A wider student (or an intermediate “teacher assistant”) usually helps.` });
  }
  const narrow = student.layers.filter((l) => CONV_TYPES.has(l.type) && (l.outputShape[l.outputShape.length - 1] ?? 0) < MIN_CONV_CHANNELS);
  if (narrow.length) {
    findings.push({
      level: 'warn',
      message: `${narrow.map((l) => `${l.name} (${l.outputShape[l.outputShape.length - 1]})`).join(', ')} ha${narrow.length === 1 ? 's' : 've'} fewer than ${MIN_CONV_CHANNELS} output channels, which starves the layers after ${narrow.length === 1 ? 'it' : 'them'}. Raise the width.`,
    });
  }
  const features = classifierInputs(student);
  if (features !== null && features < numClasses - 1) {
    findings.push({ level: 'severe', message: `Only ${features} features reach the final classifier, fewer than the ${numClasses - 1} that ${numClasses} classes need. Raise the width of the last hidden layer.` });
  }
  const level: CapacityLevel = findings.some((f) => f.level === 'severe') ? 'severe' : findings.length ? 'warn' : 'ok';
  findings.sort((a, b) => (a.level === b.level ? 0 : a.level === 'severe' ? -1 : 1));
  return { level, comparison, findings, rule: CAPACITY_RULE };
}

/** Input features of the last Dense layer (the classifier): its weights are features x classes, plus a bias per class. */
function classifierInputs(s: ModelSummary): number | null {
  const last = [...s.layers].reverse().find((l) => l.type === 'Dense');
  if (!last) return null;
  const classes = last.outputShape[last.outputShape.length - 1];
  return classes ? Math.round((last.params - classes) / classes) : null;
}
