/**
 * When Trends judges a latency change (shared by the store's query and the page that explains it).
 * A change is judged only between two benchmarks that each have at least TREND_MIN_TRIALS trials
 * (5 trials: a 93.75 % interval of the median) and a CV of trial means of at most TREND_MAX_CV;
 * phones at rest show 1-5 %, a loaded desktop showed 43-60 %.
 */
export const TREND_MIN_TRIALS = 5;
export const TREND_MAX_CV = 0.1;

export const CHANGE_LABEL: Record<'changed' | 'no-change' | 'too-noisy' | 'not-comparable' | 'none', string> = {
  changed: 'changed beyond noise',
  'no-change': 'no change beyond noise',
  'too-noisy': 'too noisy to tell',
  'not-comparable': 'different kind of memory figure: not compared',
  none: '',
};
