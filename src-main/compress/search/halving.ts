/**
 * Successive halving over architectures (Jamieson & Talwalkar 2016; the schedule Hyperband repeats):
 * every architecture trains briefly, the best 1/eta go on training longer, until a few finalists
 * have the full budget. "Best" is two-sided here, as the user's question is (accurate *and* fast):
 * candidates are ranked by non-dominated sorting on validation accuracy (higher is better) against
 * predicted latency on the target (lower is better), so the small fast ones and the accurate ones
 * both survive, and a candidate is only dropped when others beat it on both.
 */

/** Finalists the last rung keeps (each is then tried at every sparsity and precision). */
export const FINALISTS = 2;

export interface Rung {
  /** Architectures trained at this rung. */
  size: number;
  /** Total epochs an architecture has trained at the end of this rung. */
  epochs: number;
}

/** The rungs for `n` architectures: sizes shrink by `eta` down to FINALISTS, epochs grow by `eta` up to `maxEpochs`. */
export function rungSchedule(n: number, eta: number, minEpochs: number, maxEpochs: number): Rung[] {
  const rungs: Rung[] = [];
  let size = n;
  for (let r = 0; ; r++) {
    const last = size <= FINALISTS;
    rungs.push({ size, epochs: last ? maxEpochs : Math.min(maxEpochs, minEpochs * eta ** r) });
    if (last) break;
    size = Math.max(FINALISTS, Math.ceil(size / eta));
  }
  return rungs;
}

export interface Ranked {
  id: string;
  valAccuracy: number;
  predictedLatencyUs: number;
}

/**
 * Keep `k` of `items`: whole non-dominated fronts first, then, from the front that does not fit,
 * the most accurate. Returns the kept ids and, for each dropped one, why in words.
 */
export function selectSurvivors(items: Ranked[], k: number): { kept: string[]; dropped: Map<string, string> } {
  const fronts: Ranked[][] = [];
  let rest = [...items];
  const dominates = (a: Ranked, b: Ranked) => a.valAccuracy >= b.valAccuracy && a.predictedLatencyUs <= b.predictedLatencyUs && (a.valAccuracy > b.valAccuracy || a.predictedLatencyUs < b.predictedLatencyUs);
  while (rest.length) {
    const front = rest.filter((a) => !rest.some((b) => dominates(b, a)));
    fronts.push(front);
    rest = rest.filter((a) => !front.includes(a));
  }
  const kept: Ranked[] = [];
  for (const front of fronts) {
    if (kept.length >= k) break;
    const room = k - kept.length;
    kept.push(...[...front].sort((a, b) => b.valAccuracy - a.valAccuracy || a.predictedLatencyUs - b.predictedLatencyUs).slice(0, room));
  }
  const dropped = new Map<string, string>();
  const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
  const ms = (us: number) => `${(us / 1000).toFixed(3)} ms`;
  for (const a of items) {
    if (kept.includes(a)) continue;
    const by = kept.find((b) => dominates(b, a));
    dropped.set(
      a.id,
      by
        ? `${by.id} was at least as accurate (${pct(by.valAccuracy)} vs ${pct(a.valAccuracy)} on validation) and predicted at least as fast (${ms(by.predictedLatencyUs)} vs ${ms(a.predictedLatencyUs)})`
        : `not among the ${k} kept: the frontier of accuracy (${pct(a.valAccuracy)} on validation) against predicted latency (${ms(a.predictedLatencyUs)}) had better-placed candidates`,
    );
  }
  return { kept: kept.map((a) => a.id), dropped };
}
