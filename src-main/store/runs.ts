import type { RunDetail, RunStatus, RunSummary, StageRow, StageStatus } from '../../src-shared/types';
import { type DB, json, now, parseJson } from './db';
import { ArtifactQueries } from './artifacts';
import { type Identity, OWNER_GONE_AFTER_MS, processAlive } from './identity';

interface RunRecord {
  id: number;
  name: string;
  recipe_json: string;
  recipe_hash: string;
  seed: number;
  status: RunStatus;
  error: string | null;
  dataset_id: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  app_version: string;
  backend: string | null;
  backend_threads: number | null;
  made_by: string | null;
  machine: string | null;
  stage_count: number;
  artifact_count: number;
}

interface StageRecord {
  id: number;
  run_id: number;
  idx: number;
  kind: string;
  status: StageStatus;
  params_json: string;
  metrics_json: string | null;
  curves_json: string | null;
  started_at: number | null;
  finished_at: number | null;
  duration_ms: number | null;
  error: string | null;
}

export interface NewRun {
  name: string;
  recipe: unknown;
  recipeHash: string;
  seed: number;
  datasetId?: number | null;
  appVersion: string;
  backend?: string | null;
  backendThreads?: number | null;
  status?: RunStatus;
  stages?: { kind: string; params?: unknown }[];
}

const SUMMARY = `
  SELECT r.*,
    (SELECT count(*) FROM stages s WHERE s.run_id = r.id) AS stage_count,
    (SELECT count(*) FROM artifacts a WHERE a.run_id = r.id) AS artifact_count
  FROM runs r`;

function toSummary(r: RunRecord): RunSummary {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    seed: r.seed,
    datasetId: r.dataset_id,
    recipeHash: r.recipe_hash,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    backend: r.backend,
    backendThreads: r.backend_threads,
    appVersion: r.app_version,
    error: r.error,
    stageCount: r.stage_count,
    artifactCount: r.artifact_count,
    madeBy: r.made_by ?? null,
    machine: r.machine ?? null,
  };
}

function toStage(s: StageRecord): StageRow {
  return {
    id: s.id,
    runId: s.run_id,
    index: s.idx,
    kind: s.kind,
    status: s.status,
    params: parseJson(s.params_json, {}),
    metrics: parseJson(s.metrics_json, null),
    curves: parseJson(s.curves_json, null),
    startedAt: s.started_at,
    finishedAt: s.finished_at,
    durationMs: s.duration_ms,
    error: s.error,
  };
}

export class RunQueries {
  constructor(
    private readonly db: DB,
    private readonly artifacts: ArtifactQueries,
    private readonly who: Identity,
  ) {}

  /** Creates the run and its pending stages in one transaction. */
  create(run: NewRun): number {
    return this.db.transaction(() => {
      // SQLite: the id comes after every id ever used (migration 4), never a deleted run's.
      // PostgreSQL: the identity sequence never hands an id out twice, even to concurrent writers.
      const id =
        this.db.dialect === 'sqlite'
          ? `MAX((SELECT last_id FROM id_high_water WHERE tbl = 'runs'), COALESCE((SELECT MAX(id) FROM runs), 0)) + 1, `
          : '';
      const t = now();
      const info = this.db
        .prepare(
          `INSERT INTO runs (${id ? 'id, ' : ''}name, recipe_json, recipe_hash, seed, status, dataset_id, created_at, app_version, backend, backend_threads,
             made_by, machine, owner_pid, heartbeat_at)
           VALUES (${id}?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          run.name,
          JSON.stringify(run.recipe ?? {}),
          run.recipeHash,
          run.seed,
          run.status ?? 'queued',
          run.datasetId ?? null,
          t,
          run.appVersion,
          run.backend ?? null,
          run.backendThreads ?? null,
          this.who.madeBy,
          this.who.machine,
          this.who.pid,
          t,
        );
      const runId = Number(info.lastInsertRowid);
      const insertStage = this.db.prepare(
        `INSERT INTO stages (run_id, idx, kind, status, params_json) VALUES (?, ?, ?, 'pending', ?)`,
      );
      (run.stages ?? []).forEach((s, i) => insertStage.run(runId, i, s.kind, JSON.stringify(s.params ?? {})));
      return runId;
    })();
  }

  list(opts: { limit: number; offset: number; status?: string }): { items: RunSummary[]; total: number } {
    const where = opts.status ? 'WHERE r.status = @status' : '';
    const items = (
      this.db
        .prepare(`${SUMMARY} ${where} ORDER BY r.created_at DESC, r.id DESC LIMIT @limit OFFSET @offset`)
        .all({ status: opts.status, limit: opts.limit, offset: opts.offset }) as RunRecord[]
    ).map(toSummary);
    const total = (
      this.db.prepare(`SELECT count(*) AS n FROM runs r ${where}`).get({ status: opts.status }) as { n: number }
    ).n;
    return { items, total };
  }

  get(id: number): RunDetail | null {
    const r = this.db.prepare(`${SUMMARY} WHERE r.id = ?`).get(id) as RunRecord | undefined;
    if (!r) return null;
    return {
      ...toSummary(r),
      recipe: parseJson(r.recipe_json, {}),
      stages: this.stages(id),
      artifacts: this.artifacts.list({ runId: id, limit: 10_000, offset: 0 }).items,
    };
  }

  stages(runId: number): StageRow[] {
    return (this.db.prepare('SELECT * FROM stages WHERE run_id = ? ORDER BY idx').all(runId) as StageRecord[]).map(toStage);
  }

  /** The dataset the run trained on, once its first stage loaded it (Compare groups runs by it). */
  setDataset(id: number, datasetId: number): void {
    this.db.prepare('UPDATE runs SET dataset_id = ? WHERE id = ?').run(datasetId, id);
  }

  setStatus(id: number, status: RunStatus, extra: { error?: string | null; backend?: string; backendThreads?: number } = {}): void {
    const t = now();
    this.db
      .prepare(
        `UPDATE runs SET status = @status,
           error = CASE WHEN @hasError THEN @error ELSE error END,
           started_at = CASE WHEN @status = 'running' AND started_at IS NULL THEN @t ELSE started_at END,
           finished_at = CASE WHEN @status IN ('succeeded','failed','cancelled','interrupted') THEN @t ELSE finished_at END,
           backend = coalesce(@backend, backend),
           backend_threads = coalesce(@threads, backend_threads)
         WHERE id = @id`,
      )
      .run({
        id,
        status,
        t,
        hasError: extra.error !== undefined ? 1 : 0,
        error: extra.error ?? null,
        backend: extra.backend ?? null,
        threads: extra.backendThreads ?? null,
      });
  }

  updateStage(
    runId: number,
    index: number,
    patch: { status?: StageStatus; metrics?: unknown; curves?: unknown; error?: string | null; params?: unknown },
  ): void {
    const t = now();
    const cur = this.db.prepare('SELECT * FROM stages WHERE run_id = ? AND idx = ?').get(runId, index) as StageRecord | undefined;
    if (!cur) throw new Error(`Run ${runId} has no stage ${index}`);
    const status = patch.status ?? cur.status;
    const started = status === 'running' && cur.started_at === null ? t : cur.started_at;
    const ended = ['succeeded', 'failed', 'skipped', 'cancelled'].includes(status) && patch.status ? t : cur.finished_at;
    this.db
      .prepare(
        `UPDATE stages SET status = ?, metrics_json = ?, curves_json = ?, error = ?, params_json = ?,
           started_at = ?, finished_at = ?, duration_ms = ? WHERE id = ?`,
      )
      .run(
        status,
        patch.metrics !== undefined ? json(patch.metrics) : cur.metrics_json,
        patch.curves !== undefined ? json(patch.curves) : cur.curves_json,
        patch.error !== undefined ? patch.error : cur.error,
        patch.params !== undefined ? JSON.stringify(patch.params) : cur.params_json,
        started,
        ended,
        started !== null && ended !== null ? ended - started : cur.duration_ms,
        cur.id,
      );
  }

  /**
   * Unfinished runs whose owner is gone are marked interrupted (resumable); see identity.ts.
   * Called when this process starts owning runs: a run recorded under this very pid on this machine
   * belongs to an earlier process that had the same pid. Runs of live owners (another instance of a
   * shared history, on this machine or another) are left alone.
   */
  markInterrupted(): number {
    return reclaim(this.db, 'runs', this.who,
      `status = 'interrupted', error = coalesce(error, 'The app stopped while this run was in progress. Resume it to continue from its last checkpoint.')`);
  }

  /** This process's unfinished runs are alive (identity.ts: other instances must not reclaim them). */
  heartbeat(): void {
    this.db
      .prepare(`UPDATE runs SET heartbeat_at = ? WHERE status IN ('running','queued') AND machine = ? AND owner_pid = ?`)
      .run(now(), this.who.machine, this.who.pid);
  }

  /** Deletes the run (stages, artifacts and their benchmarks cascade). Returns files no longer referenced. */
  delete(id: number): { found: boolean; orphanedPaths: string[] } {
    return this.db.transaction(() => {
      const paths = this.artifacts.pathsOwnedBy('run_id = ?', id);
      const info = this.db.prepare('DELETE FROM runs WHERE id = ?').run(id);
      return { found: info.changes > 0, orphanedPaths: this.artifacts.unreferenced(paths) };
    })();
  }
}

/**
 * Applies `set` (and finished_at = now) to the unfinished rows of `table` whose owner is gone: no
 * owner recorded (rows from before migration 5), this machine with a dead process (or this
 * process's pid, reused), or a heartbeat older than OWNER_GONE_AFTER_MS. Returns the rows marked.
 */
export function reclaim(db: DB, table: 'runs' | 'benchmarks', me: Identity, set: string): number {
  const t = now();
  const rows = db
    .prepare(`SELECT id, machine, owner_pid, heartbeat_at FROM ${table} WHERE status IN ('running','queued')`)
    .all() as { id: number; machine: string | null; owner_pid: number | null; heartbeat_at: number | null }[];
  const gone = rows
    .filter((r) => {
      if (r.machine === null || r.owner_pid === null) return true;
      if (r.machine === me.machine && (r.owner_pid === me.pid || !processAlive(r.owner_pid))) return true;
      return r.heartbeat_at === null || t - r.heartbeat_at > OWNER_GONE_AFTER_MS;
    })
    .map((r) => r.id);
  let marked = 0;
  for (let i = 0; i < gone.length; i += 500) {
    const ids = gone.slice(i, i + 500);
    marked += db
      .prepare(`UPDATE ${table} SET ${set}, finished_at = ? WHERE status IN ('running','queued') AND id IN (${ids.map(() => '?').join(', ')})`)
      .run(t, ...ids).changes;
  }
  return marked;
}
