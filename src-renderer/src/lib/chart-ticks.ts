/** Tick labels for LineChart, kept free of Chart.js and the DOM so they are unit-tested (test/chart-ticks.test.ts). */
/**
 * A log axis gets a tick at every 1…9 × 10ⁿ: labelling all of them overlaps ("48.8 KiB58.6 KiB…").
 * Like Chart.js' own log labels, only 1, 2 and 5 × 10ⁿ are written; the others stay as grid lines.
 */
export function logTickLabel(v: number, format: (v: number) => string): string {
  if (!(v > 0)) return '';
  const mantissa = v / 10 ** Math.floor(Math.log10(v) + 1e-9);
  return [1, 2, 5].some((k) => Math.abs(mantissa - k) < 1e-6) ? format(v) : '';
}
