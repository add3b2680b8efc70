/**
 * Pareto frontier for "lower x is better, higher y is better" (latency or size against accuracy):
 * the points no other point beats on both axes. Returned sorted by x.
 */
export function paretoFrontier<T>(points: T[], x: (p: T) => number, y: (p: T) => number): T[] {
  const sorted = points.filter((p) => Number.isFinite(x(p)) && Number.isFinite(y(p))).sort((a, b) => x(a) - x(b) || y(b) - y(a));
  const out: T[] = [];
  let best = -Infinity;
  for (const p of sorted) {
    if (y(p) > best) {
      out.push(p);
      best = y(p);
    }
  }
  return out;
}
