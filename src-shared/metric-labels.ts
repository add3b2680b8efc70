/**
 * One table of what every stored metric means: a human label and a unit. The run view, the HTML
 * report and the CLI all format metrics through it, so a figure reads the same everywhere
 * ("Calibration error (ECE) 28.91 %", never 0.2891 in one place and 28.91 % in another). Raw keys
 * appear only in details views, beside their label.
 */
import { formatBytes, formatCount, formatMiB, formatPercent } from './format';
import { PEAK_MEM_LABEL, type PeakMemKind } from './types';

export type MetricUnit = 'percent' | 'points' | 'bytes' | 'count' | 'ms' | 'us' | 'mb' | 'number' | 'text' | 'yesno' | 'id';

export interface MetricInfo {
  label: string;
  unit: MetricUnit;
  /** What it means, for a tooltip. */
  help?: string;
}

export const metricInfo: Record<string, MetricInfo> = {
  accuracy: { label: 'Accuracy (test split)', unit: 'percent', help: 'Share of the test images classified correctly by the model in TF.js.' },
  deployedAccuracy: { label: 'Accuracy of the .tflite', unit: 'percent', help: 'CPU accuracy of the exact .tflite file, measured with the TFLite runtime on this computer. A phone’s GPU or NNAPI delegate can still differ.' },
  fidelity: { label: 'Agreement with the teacher (fidelity)', unit: 'percent', help: 'Share of images on which the model’s top class equals the teacher’s (used when the images have no labels).' },
  deployedFidelity: { label: 'Agreement of the .tflite with the teacher', unit: 'percent', help: 'Fidelity of the exact .tflite file, run with the TFLite runtime on this computer.' },
  fidelityImages: { label: 'Images compared with the teacher', unit: 'count' },
  targets: { label: 'Scored against', unit: 'text' },
  valAccuracy: { label: 'Validation accuracy', unit: 'percent' },
  accuracyFloat: { label: 'Accuracy before quantization', unit: 'percent' },
  accuracyDrop: { label: 'Accuracy lost by quantization', unit: 'points' },
  controlAccuracy: { label: 'Control accuracy (labels only)', unit: 'percent', help: 'The same student trained on labels alone, with the same start and budget.' },
  distilledAccuracy: { label: 'Distilled student accuracy', unit: 'percent' },
  gain: { label: 'Gain from distillation', unit: 'points', help: 'Distilled student minus control, on the test split.' },
  gainSpread: { label: 'Gain spread across seeds', unit: 'points' },
  topK: { label: 'Top-k accuracy', unit: 'percent', help: 'Share of test images whose true class is among the k most likely.' },
  k: { label: 'k (for top-k)', unit: 'count' },
  ece: { label: 'Calibration error (ECE)', unit: 'percent', help: 'Expected calibration error: how far the model’s confidence is from its real accuracy (0 % is perfectly calibrated).' },
  testLoss: { label: 'Test loss', unit: 'number' },
  epochs: { label: 'Epochs trained', unit: 'count' },
  bestEpoch: { label: 'Best epoch (kept)', unit: 'count' },
  stoppedEarly: { label: 'Stopped early', unit: 'yesno' },
  resumedFromEpoch: { label: 'Resumed from epoch', unit: 'count', help: '0 when the stage was not resumed.' },
  msPerBatch: { label: 'Time per training batch', unit: 'ms' },
  params: { label: 'Parameters', unit: 'count' },
  nonzeroParams: { label: 'Non-zero parameters', unit: 'count' },
  sparsity: { label: 'Sparsity', unit: 'percent', help: 'Share of weights that are zero.' },
  macs: { label: 'Multiply-accumulates per inference', unit: 'count' },
  bytes: { label: 'Size', unit: 'bytes' },
  gzipBytes: { label: 'Size gzipped', unit: 'bytes' },
  fileBytes: { label: 'File size', unit: 'bytes' },
  operators: { label: 'Operators in the file', unit: 'count' },
  precision: { label: 'Precision', unit: 'text' },
  mode: { label: 'Quantization', unit: 'text' },
  observer: { label: 'Range estimate', unit: 'text' },
  calibrationSamples: { label: 'Calibration images', unit: 'count' },
  simulated: { label: 'Accuracy simulated in integers', unit: 'yesno' },
  output: { label: 'Stage output', unit: 'text' },
  chosen: { label: 'Best candidate', unit: 'text' },
  trainImages: { label: 'Training images', unit: 'count' },
  labeledImages: { label: 'Labelled training images', unit: 'count' },
  latencyUs: { label: 'Latency (median)', unit: 'us' },
  latencyMs: { label: 'Latency (median)', unit: 'ms' },
  // The interval of the median has the coverage its trial count gives (50 % with 2 trials, 93.75 % with
  // 5): it is stated beside it, never a nominal 95 %.
  ciLowMs: { label: 'Latency, interval low', unit: 'ms', help: 'Low end of the interval of the median latency; its coverage is given as "Interval coverage".' },
  ciHighMs: { label: 'Latency, interval high', unit: 'ms', help: 'High end of the interval of the median latency; its coverage is given as "Interval coverage".' },
  ciCoverage: { label: 'Interval coverage', unit: 'percent', help: 'Chance that the interval holds the true median. It depends on the number of trials: 6 or more give at least 95 %.' },
  cv: { label: 'Run-to-run variation (CV)', unit: 'percent', help: 'Coefficient of variation of the trial means: standard deviation over mean.' },
  peakMemMb: { label: 'Peak memory', unit: 'mb', help: 'Binary units (1 MiB = 1,048,576 bytes); what was measured is given as "Peak memory measured as".' },
  peakMemKind: { label: 'Peak memory measured as', unit: 'text' },
  ranOn: { label: 'Ran on', unit: 'text', help: 'Where the operators ran: the CPU, or the delegate (XNNPack, GPU, NNAPI) that took them.' },
  delegatedShare: { label: 'Operators run by the delegate', unit: 'percent' },
  benchmarkId: { label: 'Benchmark', unit: 'id' },
  status: { label: 'Status', unit: 'text' },
};

/** What each stage does, in words (the recipe's `kind` stays in the JSON and in tooltips). */
const stageLabels: Record<string, string> = {
  'train-teacher': 'Train the teacher',
  'load-teacher': 'Import the teacher',
  distill: 'Distill into the student',
  prune: 'Prune',
  quantize: 'Quantize',
  export: 'Export to .tflite',
  profile: 'Measure latency and memory',
  search: 'Search for the best model',
};

export const stageLabel = (kind: string): string => stageLabels[kind] ?? kind;

/** `host.latencyMs` → target `host`, key `latencyMs` (the profile stage prefixes figures by target). */
export function splitTarget(key: string): { target?: string; key: string } {
  const i = key.lastIndexOf('.');
  return i > 0 ? { target: key.slice(0, i), key: key.slice(i + 1) } : { key };
}

export const targetName = (t: string): string => (t === 'host' ? 'this computer' : t);

export function metricLabel(key: string): string {
  const { target, key: k } = splitTarget(key);
  const info = metricInfo[k];
  const base = info?.label ?? k;
  return target ? `${base} · ${targetName(target)}` : base;
}

export function metricHelp(key: string): string | undefined {
  return metricInfo[splitTarget(key).key]?.help;
}

/** A metric's value in its unit, the same string in the UI, the report and the CLI. */
export function formatMetric(key: string, value: unknown): string {
  if (value === null || value === undefined) return '—';
  const unit = metricInfo[splitTarget(key).key]?.unit ?? (typeof value === 'number' ? 'number' : 'text');
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (splitTarget(key).key === 'peakMemKind' && typeof value === 'string') return PEAK_MEM_LABEL[value as PeakMemKind] ?? value;
  if (typeof value !== 'number') return String(value);
  if (!Number.isFinite(value)) return '—';
  switch (unit) {
    case 'percent':
      return formatPercent(value, 2);
    case 'points':
      return formatPoints(value);
    case 'bytes':
      return formatBytes(value);
    case 'count':
      return Number.isInteger(value) ? formatCount(value) : value.toFixed(1);
    case 'ms':
      return formatMs(value);
    case 'us':
      return formatMs(value / 1000);
    case 'mb':
      // benchmark_model's and our *_mb figures are MiB (see format.ts).
      return formatMiB(value);
    case 'id':
      return `#${value}`;
    case 'yesno':
      return value ? 'yes' : 'no';
    default:
      return Number.isInteger(value) ? String(value) : value.toFixed(4);
  }
}

/** A difference of two fractions in percentage points, signed: "+1.20 points", "−18.33 points". */
export function formatPoints(diff: number): string {
  const p = diff * 100;
  return `${p > 0 ? '+' : p < 0 ? '−' : '±'}${Math.abs(p).toFixed(2)} points`;
}

export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(3)} ms` : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Metrics a details view lists: plain values only (tables, lists and the stage note are shown elsewhere). */
export function listedMetrics(m: Record<string, unknown> | null | undefined): { key: string; label: string; value: string; help?: string }[] {
  if (!m) return [];
  return Object.entries(m)
    .filter(([k, v]) => k !== 'note' && (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean'))
    .map(([k, v]) => ({ key: k, label: metricLabel(k), value: formatMetric(k, v), help: metricHelp(k) }));
}
