export { formatBytes, formatCount, formatCoverage, formatDuration, formatKiB, formatMiB, formatPeakMem, formatPercent, formatRanOn } from '../../../src-shared/format';

export function formatDate(ms: number | null | undefined): string {
  if (!ms) return '—';
  const d = new Date(ms);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

