/**
 * Compare's view model, free of Svelte so it is unit-tested (test/compare-view.test.ts): rows grouped
 * by dataset and task (a Pareto frontier never spans two datasets), names that tell artifacts apart,
 * sorting, and a note for every row a chart cannot show.
 */
import { formatCoverage, formatRanOn } from '../../../src-shared/format';
import type { CompareRow, DatasetSummary } from '../../../src-shared/types';

export interface CompareGroup {
  key: string;
  title: string;
  rows: CompareRow[];
}

/** One group per dataset; artifacts with no run (imported files) form their own group. */
export function groupByDataset(rows: readonly CompareRow[], runDataset: ReadonlyMap<number, number | null>, datasets: readonly DatasetSummary[]): CompareGroup[] {
  const groups = new Map<string, CompareGroup>();
  for (const r of rows) {
    const dsId = r.runId !== null ? (runDataset.get(r.runId) ?? null) : null;
    const ds = dsId !== null ? datasets.find((d) => d.id === dsId) : undefined;
    const key = ds ? `ds:${ds.id}` : r.runId !== null ? 'ds:unknown' : 'imported';
    if (!groups.has(key)) {
      const task = ds ? (ds.kind === 'csv' ? 'table classification' : 'image classification') : '';
      const title = ds ? `${ds.name} · ${task}, ${ds.classes.length} classes` : r.runId !== null ? 'Runs whose dataset is not recorded' : 'Imported files (no dataset)';
      groups.set(key, { key, title, rows: [] });
    }
    groups.get(key)!.rows.push(r);
  }
  return [...groups.values()];
}

const precisionWords: Record<string, string> = { fp32: 'FP32', fp16: 'FP16', int8: 'INT8', 'int8-dynamic': 'dynamic INT8', mixed: 'mixed' };

/** "Quick check #1 · INT8 (minmax) · .tflite INT8 · from #4": run, what the artifact is, its precision and parent. */
export function displayName(r: CompareRow): string {
  const parts: string[] = [];
  parts.push(r.runId !== null ? `${r.runName ?? 'run'} #${r.runId}` : 'imported');
  const name = r.artifactName.replace(/\s*·\s*[\w-]+\.tflite$/, '');
  parts.push(name);
  parts.push(`${r.format === 'tflite' ? '.tflite' : 'TF.js'}${r.precision ? ` ${precisionWords[r.precision] ?? r.precision}` : ''}`);
  if (r.parentId !== null) parts.push(`from #${r.parentId}`);
  return `${parts.join(' · ')} (#${r.artifactId})`;
}

/** A row's identity: an artifact, alone or with one of its benchmarks. */
export const rowKey = (r: Pick<CompareRow, 'artifactId' | 'benchmarkId'>): string => `${r.artifactId}:${r.benchmarkId ?? '-'}`;

export type SortKey = 'name' | 'accuracy' | 'bytes' | 'latency' | 'peakMem' | 'params' | 'device';
export const accuracyOf = (r: CompareRow): number | null => r.deployedAccuracy ?? r.accuracy;

const sortValue: Record<SortKey, (r: CompareRow) => number | string | null> = {
  name: (r) => displayName(r),
  accuracy: accuracyOf,
  bytes: (r) => r.bytes,
  latency: (r) => r.latencyUs,
  peakMem: (r) => r.peakMemMb,
  params: (r) => r.params,
  device: (r) => r.deviceName,
};

/** Sorted copy; rows without the value go last whatever the direction. */
export function sortRows(rows: readonly CompareRow[], key: SortKey, dir: 'asc' | 'desc'): CompareRow[] {
  const f = sortValue[key];
  return [...rows].sort((a, b) => {
    const x = f(a);
    const y = f(b);
    if (x === null && y === null) return 0;
    if (x === null) return 1;
    if (y === null) return -1;
    const c = typeof x === 'string' || typeof y === 'string' ? String(x).localeCompare(String(y)) : x - y;
    return dir === 'asc' ? c : -c;
  });
}

/** Why each row is missing from a chart, in words (one note per row the chart cannot place). */
export function chartNotes(rows: readonly CompareRow[], axis: 'latency' | 'size'): string[] {
  const notes: string[] = [];
  for (const r of rows) {
    const missing: string[] = [];
    if (accuracyOf(r) === null) missing.push('no accuracy was measured');
    if (axis === 'latency' && r.latencyUs === null) missing.push(r.benchmarkId === null ? 'it has not been benchmarked' : 'its benchmark gave no latency');
    if (missing.length) notes.push(`${displayName(r)}: not shown, ${missing.join(' and ')}.`);
  }
  return notes;
}

/** A latency in ms as the table shows it: 2 decimals, 3 under 1 ms (0.666 ms, 2.10 ms). */
export function formatLatencyUs(us: number): string {
  const ms = us / 1000;
  return `${ms.toFixed(ms < 1 ? 3 : 2)} ms`;
}

/**
 * The stored interval of the median latency, labelled with the coverage stored with it (the
 * order-statistic interval of the trial means: 50 % with 2 trials, 96.9 % with 6), never a nominal
 * 95 %. Rows stored before the coverage was recorded say just "interval". Null without an interval;
 * the range is kept on one line by the table.
 */
export function latencyInterval(r: Pick<CompareRow, 'ciLowUs' | 'ciHighUs' | 'ciCoverage'>): { label: string; range: string } | null {
  if (r.ciLowUs === null || r.ciHighUs === null) return null;
  const [lo, hi] = [formatLatencyUs(r.ciLowUs), formatLatencyUs(r.ciHighUs)];
  return { label: `${r.ciCoverage !== null ? `${formatCoverage(r.ciCoverage)} ` : ''}interval`, range: `${lo.replace(' ms', '')}–${hi}` };
}

/** The Device cell: where the benchmark ran, what ran and with how many threads, and who measured it. */
export function deviceText(r: CompareRow): string {
  const parts = [r.benchmarkId === null ? 'not benchmarked' : (r.deviceName ?? '—')];
  if (r.delegate) parts.push(`ran on ${formatRanOn(r.delegate, r.delegatedShare)}`);
  if (r.threads) parts.push(`${r.threads} thr.`);
  if (r.madeBy) parts.push(`by ${r.madeBy}${r.machine ? ` on ${r.machine}` : ''}`);
  return parts.join(' · ');
}
