import { PEAK_MEM_LABEL, type PeakMemKind } from './types';

/**
 * Number formatting shared by the UI and the CLI. Bytes are always binary (1 KiB = 1024 B) and
 * labelled so: benchmark_model's "MB" is MiB too (tflite's memory_info divides KiB by 1024), so
 * every memory figure goes through `formatBytes` / `formatMiB` and none is written as 10^6.
 */
export const MIB = 2 ** 20;

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** A figure in MiB (benchmark_model's "MB", our *_mb columns). */
export function formatMiB(mib: number | null | undefined): string {
  return mib === null || mib === undefined || !Number.isFinite(mib) ? '—' : formatBytes(Math.round(mib * MIB));
}

/** A figure in KiB (/proc's "kB": VmHWM, VmRSS). */
export function formatKiB(kib: number | null | undefined): string {
  return kib === null || kib === undefined || !Number.isFinite(kib) ? '—' : formatBytes(Math.round(kib * 1024));
}

/** Coverage of an interval, as its label says it: 0.5 → "50 %", 0.9375 → "93.8 %", 0.96875 → "96.9 %" (never a nominal 95 %). */
export function formatCoverage(c: number): string {
  return `${Number((c * 100).toFixed(1))} %`;
}

/** A peak memory figure with its kind ("93.2 MiB (runner's peak footprint)"). */
export function formatPeakMem(mib: number | null | undefined, kind: PeakMemKind | null | undefined): string {
  if (mib === null || mib === undefined) return '—';
  return kind ? `${formatMiB(mib)} (${PEAK_MEM_LABEL[kind]})` : formatMiB(mib);
}

/** What ran, with the delegated share when not all of the graph ("gpu, 45 % of nodes"). */
export function formatRanOn(delegate: string | null | undefined, share: number | null | undefined): string {
  if (!delegate) return '—';
  return share !== null && share !== undefined && share < 1 && delegate !== 'cpu' ? `${delegate}, ${Math.round(share * 100)} % of nodes` : delegate;
}

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (Math.abs(n) < 1000) return String(n);
  if (Math.abs(n) < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 2 : 1)}k`;
  if (Math.abs(n) < 1e9) return `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)}M`;
  return `${(n / 1e9).toFixed(2)}G`;
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  // Round first, then split: 179.6 s is "3 min 0 s", never "2 min 60 s".
  if (Math.round(ms) < 1000) return `${Math.round(ms)} ms`;
  if (Math.round(ms / 100) < 600) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const m = Math.round(ms / 60_000);
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatPercent(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return `${(x * 100).toFixed(digits)} %`;
}

/** "Downloading Fashion-MNIST: 12.3 MB of 30.9 MB (file 2 of 4, resumed)", the same in the wizard and the CLI. */
export function describeDatasetDownload(p: { file: string; index: number; files: number; bytes: number; total: number | null; resumed: boolean; phase: string }): string {
  if (p.phase === 'done') return `Fashion-MNIST downloaded and verified (${formatBytes(p.bytes)}).`;
  if (p.phase === 'verify') return `Checking the SHA-256 of ${p.file} (file ${p.index + 1} of ${p.files})…`;
  const of = p.total ? ` of ${formatBytes(p.total)}` : '';
  return `Downloading Fashion-MNIST: ${formatBytes(p.bytes)}${of} (file ${p.index + 1} of ${p.files}${p.resumed ? ', resumed' : ''})`;
}
