/**
 * The result of a run in a few figures: what the shipped .tflite scores, weighs and costs per
 * inference, each against the teacher (or the imported model it started from), and one verdict line.
 * Computed once here and shown the same way by the run view, the HTML report and the CLI.
 */
import { formatBytes, formatCoverage } from './format';
import { formatMetric, formatMs, formatPoints, metricInfo, splitTarget, targetName } from './metric-labels';
import type { RunDetail } from './types';

export interface SummaryFigure {
  key: 'accuracy' | 'size' | 'latency';
  label: string;
  value: string;
  /** Change against the reference model, in words ("−4.00 points", "11.9× smaller"). */
  change?: string;
  /** Whether the change is good news (for colour), undefined when neutral. */
  good?: boolean;
  detail?: string;
}

export interface RunSummary {
  figures: SummaryFigure[];
  /** What the figures are compared with: "the teacher" or "the imported model". */
  reference: string;
  verdict: string;
}

const num = (m: Record<string, unknown> | null | undefined, k: string) => (typeof m?.[k] === 'number' ? (m[k] as number) : undefined);

export function runSummary(run: Pick<RunDetail, 'status' | 'stages' | 'artifacts'>): RunSummary | null {
  const teacher = run.stages.find((s) => s.kind === 'train-teacher' || s.kind === 'load-teacher');
  const reference = teacher?.kind === 'load-teacher' ? 'the imported model' : 'the teacher';
  const refAcc = num(teacher?.metrics, 'accuracy');
  const refBytes = num(teacher?.metrics, 'bytes') ?? run.artifacts.find((a) => a.stageId === teacher?.id)?.bytes ?? undefined;
  const done = run.stages.filter((s) => s.status === 'succeeded' && s.metrics);
  if (!done.length) return null;
  const figures: SummaryFigure[] = [];

  // Accuracy: the exported file's when it was measured, else the last model's in TF.js. Without labels, fidelity to the teacher.
  const pick = (key: string) => [...done].reverse().find((s) => num(s.metrics, key) !== undefined);
  const fidelityRun = !pick('deployedAccuracy') && !pick('accuracy') && Boolean(pick('deployedFidelity') ?? pick('fidelity'));
  const deployedKey = fidelityRun ? 'deployedFidelity' : 'deployedAccuracy';
  const plainKey = fidelityRun ? 'fidelity' : 'accuracy';
  const deployed = pick(deployedKey);
  const lastAcc = pick(plainKey);
  const accStage = deployed ?? lastAcc;
  let acc: number | undefined;
  if (accStage) {
    acc = deployed ? num(deployed.metrics, deployedKey)! : num(lastAcc!.metrics, plainKey)!;
    const isRef = accStage === teacher;
    const diff = refAcc !== undefined && !isRef && !fidelityRun ? acc - refAcc : undefined;
    figures.push({
      key: 'accuracy',
      label: deployed ? metricInfo[deployedKey].label : fidelityRun ? metricInfo.fidelity.label : 'Accuracy (TF.js, not exported)',
      value: formatMetric(plainKey, acc),
      change: diff !== undefined ? `${formatPoints(diff)} vs ${reference}` : undefined,
      good: diff === undefined ? undefined : diff >= -0.01,
      detail: deployed ? 'CPU, TFLite runtime on this computer, whole test split' : 'on the test split',
    });
  }

  // Size: the .tflite file when there is one.
  const tflite = [...run.artifacts].filter((a) => a.format === 'tflite').sort((a, b) => b.id - a.id)[0];
  const lastBytes = [...done].reverse().find((s) => num(s.metrics, 'bytes') !== undefined);
  const bytes = tflite?.bytes ?? num(lastBytes?.metrics, 'bytes');
  if (bytes !== undefined && bytes !== null) {
    const ratio = refBytes && lastBytes !== teacher ? refBytes / bytes : undefined;
    figures.push({
      key: 'size',
      label: tflite ? `.tflite file size${tflite.precision ? ` (${tflite.precision.toUpperCase()})` : ''}` : 'Model size',
      value: formatBytes(bytes),
      change: ratio !== undefined ? (ratio >= 1 ? `${ratio.toFixed(1)}× smaller than ${reference}` : `${(1 / ratio).toFixed(1)}× larger than ${reference}`) : undefined,
      good: ratio === undefined ? undefined : ratio >= 1,
      detail: refBytes ? `${reference}: ${formatBytes(refBytes)} (float32)` : undefined,
    });
  }

  // Latency: the profile stage's first target that measured one, with its interval.
  const profile = [...done].reverse().find((s) => s.kind === 'profile');
  let latency: { target: string; ms: number; lo?: number; hi?: number; coverage?: number } | undefined;
  if (profile?.metrics) {
    for (const [k, v] of Object.entries(profile.metrics)) {
      const { target, key } = splitTarget(k);
      if (target && key === 'latencyMs' && typeof v === 'number') {
        latency = { target, ms: v, lo: num(profile.metrics, `${target}.ciLowMs`), hi: num(profile.metrics, `${target}.ciHighMs`), coverage: num(profile.metrics, `${target}.ciCoverage`) };
        break;
      }
    }
  }
  if (latency) {
    figures.push({
      key: 'latency',
      label: `Latency on ${targetName(latency.target)}`,
      value: formatMs(latency.ms),
      // The coverage the trials give (50 % with 2), never a nominal 95 %; runs stored before it was recorded say just "interval".
      change: latency.lo !== undefined && latency.hi !== undefined ? `${latency.coverage !== undefined ? `${formatCoverage(latency.coverage)} ` : ''}interval ${formatMs(latency.lo)}–${formatMs(latency.hi)}` : undefined,
      detail: 'median per inference',
    });
  }

  const parts: string[] = [];
  const what = tflite ? `The ${tflite.precision ? `${tflite.precision.toUpperCase()} ` : ''}.tflite` : 'The final model';
  const size = figures.find((f) => f.key === 'size');
  const accF = figures.find((f) => f.key === 'accuracy');
  if (size?.change) parts.push(`is ${size.change}`);
  else if (size) parts.push(`weighs ${size.value}`);
  if (fidelityRun && acc !== undefined) parts.push(`agrees with the teacher on ${formatMetric('fidelity', acc)} of the images`);
  else if (accF && acc !== undefined && refAcc !== undefined && accF.change) {
    const d = (acc - refAcc) * 100;
    parts.push(Math.abs(d) < 0.005 ? `exactly as accurate (${accF.value})` : d > 0 ? `${d.toFixed(2)} points more accurate (${accF.value})` : `${(-d).toFixed(2)} points less accurate (${accF.value})`);
  } else if (accF) parts.push(`scores ${accF.value}`);
  if (latency) parts.push(`runs in ${formatMs(latency.ms)} on ${targetName(latency.target)}`);
  let verdict = parts.length ? `${what} ${parts.join(', ')}.` : '';
  if (run.status !== 'succeeded') verdict += ` The run ${run.status === 'running' || run.status === 'queued' ? 'is still going' : `is ${run.status}`}: these are the stages finished so far.`;
  else if (!fidelityRun && acc !== undefined && refAcc !== undefined && refAcc - acc > 0.02) verdict += ` It loses more than 2 points: try a wider student, more epochs, or quantization-aware training.`;
  return { figures, reference, verdict: verdict.trim() };
}
