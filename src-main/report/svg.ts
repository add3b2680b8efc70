/** Small static SVG line charts for the HTML report (no script, so the report stays self-contained and safe). */
const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2'];

export interface SvgSeries {
  label: string;
  points: { x: number; y: number }[];
  dashed?: boolean;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function niceTicks(min: number, max: number, n = 5): number[] {
  if (min === max) return [min];
  const step = 10 ** Math.floor(Math.log10((max - min) / n));
  const err = ((max - min) / n) / step;
  const s = step * (err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1);
  const out: number[] = [];
  for (let v = Math.ceil(min / s) * s; v <= max + s * 1e-9; v += s) out.push(Number(v.toPrecision(12)));
  return out;
}

export function lineChartSvg(series: SvgSeries[], opts: { title: string; xLabel: string; yLabel: string; width?: number; height?: number; logX?: boolean }): string {
  const W = opts.width ?? 520;
  const H = opts.height ?? 240;
  const m = { l: 56, r: 12, t: 28, b: 40 };
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (!all.length) return '';
  const tx = (x: number) => (opts.logX ? Math.log10(x) : x);
  let [x0, x1] = [Math.min(...all.map((p) => tx(p.x))), Math.max(...all.map((p) => tx(p.x)))];
  let [y0, y1] = [Math.min(...all.map((p) => p.y)), Math.max(...all.map((p) => p.y))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - Math.abs(y0 || 1) * 0.05, y1 + Math.abs(y1 || 1) * 0.05];
  const sx = (x: number) => m.l + ((tx(x) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(opts.title)}">`);
  parts.push(`<text x="${m.l}" y="16" font-size="13" font-weight="600">${esc(opts.title)}</text>`);
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${sy(t)}" y2="${sy(t)}" stroke="#e5e7eb"/><text x="${m.l - 6}" y="${sy(t) + 4}" font-size="10" text-anchor="end">${t}</text>`);
  }
  const xTicks = opts.logX ? [...new Set(all.map((p) => p.x))].sort((a, b) => a - b) : niceTicks(x0, x1);
  for (const t of xTicks) parts.push(`<text x="${sx(t)}" y="${H - m.b + 14}" font-size="10" text-anchor="middle">${t}</text>`);
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 6}" font-size="11" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  parts.push(`<text x="12" y="${(m.t + H - m.b) / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 12 ${(m.t + H - m.b) / 2})">${esc(opts.yLabel)}</text>`);
  series.forEach((s, i) => {
    const c = PALETTE[i % PALETTE.length];
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''} points="${pts.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="2.5" fill="${c}"/>`);
    parts.push(`<text x="${W - m.r - 4}" y="${m.t + 12 + i * 13}" font-size="10" text-anchor="end" fill="${c}">${esc(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
