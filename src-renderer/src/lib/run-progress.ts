/** Overall progress of a run across its stages (pure; test/run-progress.test.ts). */
export interface StageLike {
  index: number;
  kind: string;
  status: string;
}

export interface Overall {
  /** 0..1 over the whole run: finished stages count whole, the running one by its own fraction. */
  fraction: number;
  running: StageLike | null;
  done: number;
  total: number;
}

export function overallProgress(stages: readonly StageLike[], fractions: Readonly<Record<number, number | undefined>>): Overall {
  const total = stages.length;
  if (!total) return { fraction: 0, running: null, done: 0, total };
  // 'skipped' is a stage a stopped run never reached (a resume runs it): not done.
  const finished = stages.filter((s) => s.status === 'succeeded').length;
  const running = stages.find((s) => s.status === 'running') ?? null;
  const partial = running ? Math.max(0, Math.min(1, fractions[running.index] ?? 0)) : 0;
  return { fraction: (finished + partial) / total, running, done: finished, total };
}
