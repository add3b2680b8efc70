/**
 * Statistics over K benchmark trials: the median of trial means, a distribution-free 95 % interval
 * for that median from order statistics, and the coefficient of variation.
 *
 * The interval [x(k), x(n-k+1)] of the sorted trial means covers the true median with probability
 * 1 - 2·P(Bin(n, ½) ≤ k-1), whatever the distribution. We take the narrowest such interval with
 * coverage ≥ 95 %. With n ≤ 5 no interval reaches 95 %: the widest one, [min, max], covers
 * 1 - 2·½ⁿ (93.75 % for 5 trials), and the result says so.
 */
export interface TrialSummary {
  n: number;
  medianUs: number;
  ciLowUs: number;
  ciHighUs: number;
  /** Probability that [ciLow, ciHigh] contains the true median (0..1). */
  coverage: number;
  /** Sample standard deviation / mean of the trial means; null with one trial. */
  cv: number | null;
  /** Said to the user when the interval is not a full 95 % one. */
  note: string | null;
}

function binomCdfHalf(n: number, k: number): number {
  // P(Bin(n, 1/2) <= k), exact for the small n we use.
  let c = 1;
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) c = (c * (n - i + 1)) / i;
    sum += c;
  }
  return sum / 2 ** n;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Largest k (1-based lower index) whose order-statistic interval [x(k), x(n-k+1)] reaches 95 %; 0 when none does. */
function intervalRank(n: number): number {
  let k = 0;
  for (let j = 1; j <= Math.floor(n / 2); j++) if (1 - 2 * binomCdfHalf(n, j - 1) >= 0.95) k = j;
  return k;
}

/** The coverage the interval `summarizeTrials` reports for n trials really has (0.9375 for 5, 0.96875 for 6). */
export function intervalCoverage(n: number): number {
  const k = intervalRank(n);
  if (k > 0) return 1 - 2 * binomCdfHalf(n, k - 1);
  return n > 1 ? 1 - 2 * 0.5 ** n : 0;
}

export function summarizeTrials(means: number[]): TrialSummary {
  const xs = means.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const n = xs.length;
  if (n === 0) throw new Error('no trial produced a mean latency');
  const med = median(xs);
  const k = intervalRank(n);
  const lo = k > 0 ? xs[k - 1] : xs[0];
  const hi = k > 0 ? xs[n - k] : xs[n - 1];
  const coverage = intervalCoverage(n);
  const note =
    k > 0
      ? null
      : n > 1
        ? `With ${n} trials the best available interval (min to max) covers the median with ${(coverage * 100).toFixed(2)} %, not 95 %; run 6 or more trials for a full 95 % interval.`
        : 'One trial gives no interval; run 6 or more trials for a 95 % interval.';
  let cv: number | null = null;
  if (n > 1) {
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    cv = mean > 0 ? sd / mean : null;
  }
  return { n, medianUs: med, ciLowUs: lo, ciHighUs: hi, coverage, cv, note };
}
