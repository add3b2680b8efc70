/**
 * A run as one self-contained HTML file: recipe, stages with metrics and curves (static SVG),
 * artifacts, and the benchmarks of its artifacts. No scripts, no external resources, so it opens
 * anywhere and can be attached to a ticket or an email.
 */
import { formatBytes, formatCount, formatDuration, formatPeakMem } from '../../src-shared/format';
import { formatMetric, listedMetrics, stageLabel } from '../../src-shared/metric-labels';
import { runSummary } from '../../src-shared/run-summary';
import type { RunDetail } from '../../src-shared/types';
import type { Store } from '../store';
import { lineChartSvg, type SvgSeries } from './svg';

const esc = (v: unknown) => String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const date = (ms: number | null) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '—');

function metricsTable(m: Record<string, unknown>): string {
  // Labels and units from the table the app and the CLI use; the stored key stays visible, small.
  const rows = listedMetrics(m).map((r) => `<tr><th${r.help ? ` title="${esc(r.help)}"` : ''}>${esc(r.label)}</th><td>${esc(r.value)}</td><td class="mono key">${esc(r.key)}</td></tr>`);
  return rows.length ? `<table class="kv">${rows.join('')}</table>` : '';
}

function summaryHtml(run: RunDetail): string {
  const s = runSummary(run);
  if (!s || !s.figures.length) return '';
  return `<section class="summary"><h2>Result</h2><table><tr>${s.figures.map((f) => `<th>${esc(f.label)}</th>`).join('')}</tr><tr>${s.figures
    .map((f) => `<td><strong class="big">${esc(f.value)}</strong>${f.change ? `<br>${esc(f.change)}` : ''}${f.detail ? `<br><small>${esc(f.detail)}</small>` : ''}</td>`)
    .join('')}</tr></table><p>${esc(s.verdict)}</p></section>`;
}

export function runReportHtml(store: Store, run: RunDetail): string {
  const parts: string[] = [];
  for (const s of run.stages) {
    const m = (s.metrics ?? {}) as Record<string, unknown>;
    const charts: string[] = [];
    if (s.curves) {
      const series = (re: RegExp): SvgSeries[] =>
        Object.entries(s.curves!)
          .filter(([k]) => re.test(k))
          .map(([k, v]) => ({ label: k, points: v.map((y, i) => ({ x: i + 1, y })), dashed: /^val|control/i.test(k) }));
      const loss = series(/loss$/i);
      const acc = series(/acc/i);
      if (loss.length) charts.push(lineChartSvg(loss, { title: 'Loss', xLabel: 'epoch', yLabel: 'loss' }));
      if (acc.length) charts.push(lineChartSvg(acc, { title: 'Accuracy', xLabel: 'epoch', yLabel: 'accuracy' }));
    }
    if (Array.isArray(m.sweep) && m.sweep.length) {
      const sweep = m.sweep as { temperature: number; alpha?: number; valAccuracy: number }[];
      const alphas = [...new Set(sweep.map((r) => r.alpha ?? 0))];
      charts.push(
        lineChartSvg(
          alphas.map((a) => ({ label: `α = ${a}`, points: sweep.filter((r) => (r.alpha ?? 0) === a).map((r) => ({ x: r.temperature, y: r.valAccuracy })).sort((p, q) => p.x - q.x) })),
          { title: 'Temperature sweep', xLabel: 'temperature T', yLabel: 'validation accuracy', logX: true },
        ),
      );
    }
    const arts = run.artifacts.filter((a) => a.stageId === s.id);
    parts.push(`<section class="stage">
      <h2>${s.index + 1}. ${esc(stageLabel(s.kind))} <span class="status ${esc(s.status)}">${esc(s.status)}</span> <small>${formatDuration(s.durationMs)}</small></h2>
      ${s.error ? `<p class="error">${esc(s.error)}</p>` : ''}
      ${typeof m.note === 'string' ? `<p class="note">${esc(m.note)}</p>` : ''}
      ${metricsTable(m)}
      <div class="charts">${charts.join('')}</div>
      ${arts.length ? `<h3>Artifacts</h3><table><tr><th>Name</th><th>Format</th><th>Precision</th><th>Bytes</th><th>Gzip</th><th>Params</th><th>SHA-256</th></tr>${arts
        .map((a) => `<tr><td>${esc(a.name)}</td><td>${esc(a.format)}</td><td>${esc(a.precision ?? '—')}</td><td>${formatBytes(a.bytes)}</td><td>${formatBytes(a.gzipBytes)}</td><td>${formatCount(a.params)}</td><td class="mono">${esc(a.contentHash)}</td></tr>`)
        .join('')}</table>` : ''}
    </section>`);
  }

  const benches = run.artifacts.flatMap((a) => store.benchmarks.list({ artifactId: a.id, limit: 100, offset: 0 }).items.map((b) => ({ a, b })));
  const benchHtml = benches.length
    ? `<h2>Benchmarks</h2><table><tr><th>Artifact</th><th>Device</th><th>Status</th><th>Config</th><th>Latency (median of trials)</th><th>Interval (coverage)</th><th>Run-to-run variation (CV)</th><th>Peak memory</th><th>Runner SHA-256</th></tr>${benches
        .map(({ a, b }) => {
          const d = store.devices.get(b.deviceId);
          const dev = d ? (d.kind === 'host' ? 'This computer' : `${d.manufacturer ?? ''} ${d.model ?? d.serial}`) : `#${b.deviceId}`;
          return `<tr><td>${esc(a.name)}</td><td>${esc(dev)}</td><td>${esc(b.status)}${b.error ? ` — ${esc(b.error)}` : ''}</td><td class="mono">${esc(JSON.stringify(b.config))}</td><td>${b.latencyUs !== null ? `${(b.latencyUs / 1000).toFixed(3)} ms` : '—'}</td><td>${b.ciLowUs !== null && b.ciHighUs !== null ? `${(b.ciLowUs / 1000).toFixed(3)}–${(b.ciHighUs / 1000).toFixed(3)} ms${b.ciCoverage !== null ? ` (${(b.ciCoverage * 100).toFixed(1)} %)` : ''}` : '—'}</td><td>${formatMetric('cv', b.cv)}</td><td>${esc(formatPeakMem(b.peakMemMb, b.peakMemKind))}</td><td class="mono">${esc(b.runnerSha256 ?? '—')}</td></tr>`;
        })
        .join('')}</table>`
    : '';

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>PocketBench run #${run.id}: ${esc(run.name)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#1b1f24;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #d9dde3;padding-bottom:4px}h3{font-size:14px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #d9dde3;padding:4px 8px;text-align:left;font-size:13px}
table.kv th{background:#f6f7f9;font-weight:600}.mono{font-family:ui-monospace,monospace;font-size:11px}
.status{font-size:12px;border:1px solid #999;border-radius:9px;padding:0 8px;font-weight:normal}.succeeded{color:#15803d}.failed{color:#b91c1c}
.error{color:#b91c1c}.note{border-left:3px solid #b45309;padding-left:8px}.charts svg{margin:4px 12px 4px 0}
.key{color:#5b6470}.big{font-size:20px}pre{background:#f6f7f9;padding:8px;overflow:auto;font-size:12px}small{color:#5b6470;font-weight:normal}
</style></head><body>
<h1>Run #${run.id}: ${esc(run.name)}</h1>
<p>Status <strong>${esc(run.status)}</strong> · seed ${run.seed} · started ${date(run.startedAt)} · finished ${date(run.finishedAt)} ·
compute ${esc(run.backend ?? '—')}${run.backendThreads ? ` (${run.backendThreads} threads)` : ''} · PocketBench ${esc(run.appVersion)} · recipe hash <span class="mono">${esc(run.recipeHash.slice(0, 16))}</span></p>
${run.error ? `<p class="error">${esc(run.error)}</p>` : ''}
${summaryHtml(run)}
${parts.join('\n')}
${benchHtml}
<h2>Recipe</h2><pre>${esc(JSON.stringify(run.recipe, null, 2))}</pre>
<p><small>Generated by PocketBench on ${date(Date.now())}. Deployed accuracy is the CPU accuracy of the exact .tflite file measured with the TFLite runtime on a desktop; a phone's GPU or NNAPI delegate can still differ.</small></p>
</body></html>`;
}
