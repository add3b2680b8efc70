/**
 * Call the backend once the input has settled: `run` starts after `ms`; the returned cleanup (give it
 * back from `$effect`) cancels a pending call and drops the answer of one already under way.
 */
export function settle<T>(ms: number, run: () => Promise<T>, done: (value: T | null, error: string) => void, busy?: (on: boolean) => void): () => void {
  let stale = false;
  const timer = setTimeout(() => {
    busy?.(true);
    run().then(
      (v) => {
        if (stale) return;
        busy?.(false);
        done(v, '');
      },
      (err) => {
        if (stale) return;
        busy?.(false);
        done(null, (err as Error).message);
      },
    );
  }, ms);
  return () => {
    stale = true;
    clearTimeout(timer);
  };
}
