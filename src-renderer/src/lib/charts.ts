/**
 * Chart.js, registered once with only the pieces PocketBench draws (line and scatter charts),
 * so the bundle stays small. Animations are off: charts redraw on live data.
 */
import { CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, ScatterController, Tooltip } from 'chart.js';

Chart.register(LineController, ScatterController, LineElement, PointElement, LinearScale, LogarithmicScale, CategoryScale, Legend, Tooltip, Filler);
Chart.defaults.animation = false;
Chart.defaults.font.family = 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif';

export function themeColors(): { text: string; grid: string; series: string[] } {
  const cs = getComputedStyle(document.documentElement);
  const v = (n: string) => cs.getPropertyValue(n).trim();
  return {
    text: v('--muted') || '#666',
    grid: v('--border') || '#ddd',
    series: ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'],
  };
}

export { Chart };

export interface Series {
  label: string;
  /** y values (x = index + 1) or explicit points. */
  data: number[] | { x: number; y: number }[];
  dashed?: boolean;
  /** Draw a line through this series (default: not in scatter charts, yes otherwise). */
  line?: boolean;
  /** Large markers without a line (highlighted points). */
  markers?: boolean;
  /** Override the palette colour (for example a muted colour for interval bounds). */
  color?: string;
  /** A name per point, shown in its tooltip with both values in their units. */
  pointLabels?: string[];
}
