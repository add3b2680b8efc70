/**
 * Queries behind Compare and Trends. They read across artifacts, runs, benchmarks and devices,
 * and must stay fast with thousands of rows: everything is one indexed SQL statement.
 */
import type { CompareFacets, CompareRow, Delegate, Lineage, TrendMetric, TrendPoint } from '../../src-shared/types';
import { TREND_MAX_CV, TREND_MIN_TRIALS } from '../../src-shared/trend-rules';
import type { DB } from './db';
import { AppError } from '../../src-shared/errors';

/**
 * What ran the benchmark: the delegate the runner reported (ran_delegate), else, for rows stored
 * before that was recorded, the one asked for in its config (gpu, nnapi, xnnpack keys).
 */
const DELEGATE_SQL = `CASE
  WHEN b.ran_delegate IS NOT NULL THEN b.ran_delegate
  WHEN json_extract(b.config_json, '$.gpu') = 1 THEN 'gpu'
  WHEN json_extract(b.config_json, '$.nnapi') = 1 THEN 'nnapi'
  WHEN json_extract(b.config_json, '$.xnnpack') = 0 THEN 'cpu'
  WHEN b.id IS NULL THEN NULL
  ELSE 'xnnpack' END`;

const DEVICE_NAME_SQL = `CASE WHEN d.kind = 'host' THEN 'This computer' ELSE trim(coalesce(d.manufacturer, '') || ' ' || coalesce(d.model, d.serial)) END`;

/**
 * The label of the device source a phone came from (devices' `facts.source`, the lab's); older rows:
 * local; the host: 'This computer'. Stored as `devices.source_label`, a computed column with an index
 * (migration 7), so a filter on it is an index lookup and PostgreSQL's planner knows how many phones
 * match (on the JSON expression it guessed one, and sorted every benchmark of the source's phones).
 */
export const LOCAL_SOURCE_LABEL = "This computer's ADB server";

/** `@p0, @p1, …` for a list, its values added to `params` (both dialects; better-sqlite3 cannot mix named and `?`). */
function namedList(prefix: string, values: readonly unknown[], params: Record<string, unknown>): string {
  values.forEach((v, i) => (params[`${prefix}${i}`] = v));
  return values.map((_, i) => `@${prefix}${i}`).join(', ');
}

export interface CompareFilter {
  artifactIds?: number[];
  runIds?: number[];
  deviceId?: number;
  delegate?: Delegate;
  threads?: number;
  /** Who made the benchmark (the run, for an artifact without one): Settings name or OS user. */
  madeBy?: string;
  /** The machine that made it (host name), same rule. */
  machine?: string;
  /** The device source of the phone it ran on (its label, e.g. a lab machine's ADB server). */
  deviceSource?: string;
  /** Include artifacts that have no benchmark matching the filter (size/accuracy only). */
  includeUnbenchmarked?: boolean;
  limit: number;
}

interface Row extends Omit<CompareRow, 'accuracy' | 'deployedAccuracy'> {
  metrics_json: string | null;
}


export class CompareQueries {
  constructor(private readonly db: DB) {}

  rows(f: CompareFilter): CompareRow[] {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: f.limit };
    if (f.artifactIds?.length) where.push(`a.id IN (${namedList('artifact', f.artifactIds, params)})`);
    if (f.runIds?.length) where.push(`a.run_id IN (${namedList('run', f.runIds, params)})`);
    // Who and where: the benchmark's own (recorded together with its run's since migration 5), else the run's.
    const who: string[] = [];
    if (f.madeBy !== undefined) {
      who.push('made_by = @madeBy');
      params.madeBy = f.madeBy;
    }
    if (f.machine !== undefined) {
      who.push('machine = @machine');
      params.machine = f.machine;
    }
    if (f.deviceSource !== undefined) params.deviceSource = f.deviceSource;
    const benchConds = [`b.artifact_id = a.id`, `b.status = 'succeeded'`];
    if (f.deviceId !== undefined) {
      benchConds.push('b.device_id = @deviceId');
      params.deviceId = f.deviceId;
    }
    if (f.threads !== undefined) {
      benchConds.push(`json_extract(b.config_json, '$.threads') = @threads`);
      params.threads = f.threads;
    }
    let delegateCond = '';
    if (f.delegate) {
      delegateCond = `(${DELEGATE_SQL}) = @delegate`;
      params.delegate = f.delegate;
    }
    // Two ordered halves, each able to stop early on an index (benchmarks by finished_at, artifacts
    // by created_at), instead of joining every artifact with every benchmark and sorting the lot:
    // the measured rows (newest benchmark first), and, unless excluded, the artifacts with no
    // benchmark matching the filter (size and accuracy only), newest first. Same rows as the one
    // LEFT JOIN ordered by coalesce(b.finished_at, a.created_at): a succeeded benchmark always has
    // its finished_at. Both halves share one select list; the second joins no benchmark and no device
    // (ON b.id = NULL: a key lookup that finds nothing; SQLite ran `ON 1 = 0` as a scan of every
    // benchmark per artifact, 32 s for Compare's default page over 100,000 benchmarks, now ~90 ms).
    const measured = [
      ...where,
      ...who.map((w) => `b.${w}`),
      ...(delegateCond ? [delegateCond] : []),
      // SQLite would probe each of the source's phones on benchmarks_device and sort all their rows
      // (100,000 benchmarks: ~300 ms); a unary + keeps it on the newest-first walk, which stops at
      // the limit (~80 ms). PostgreSQL chooses by its statistics of source_label.
      ...(f.deviceSource !== undefined ? [`${this.db.dialect === 'sqlite' ? '+' : ''}b.device_id IN (SELECT d.id FROM devices d WHERE d.source_label = @deviceSource)`] : []),
    ];
    const unmeasured = [...where, ...who.map((w) => `r.${w}`)];
    const columns = `a.id AS artifactId, a.name AS artifactName, a.run_id AS runId, r.name AS runName, a.parent_id AS parentId,
             a.format, a.precision, a.bytes, a.gzip_bytes AS gzipBytes, a.params, a.nonzero_params AS nonzeroParams,
             a.sparsity, a.macs, a.metrics_json,
             b.id AS benchmarkId, b.device_id AS deviceId, ${DEVICE_NAME_SQL} AS deviceName,
             json_extract(b.config_json, '$.threads') AS threads, ${DELEGATE_SQL} AS delegate,
             b.delegated_share AS delegatedShare,
             b.latency_us AS latencyUs, b.ci_low_us AS ciLowUs, b.ci_high_us AS ciHighUs, b.ci_coverage AS ciCoverage, b.cv,
             b.peak_mem_mb AS peakMemMb, b.peak_mem_kind AS peakMemKind,
             coalesce(b.made_by, r.made_by) AS madeBy, coalesce(b.machine, r.machine) AS machine, d.source_label AS deviceSource,
             coalesce(b.finished_at, a.created_at) AS measuredAt`;
    const halves = [
      `SELECT * FROM (SELECT ${columns}
         FROM benchmarks b JOIN artifacts a ON ${benchConds.join(' AND ')}
         LEFT JOIN runs r ON r.id = a.run_id LEFT JOIN devices d ON d.id = b.device_id
         ${measured.length ? `WHERE ${measured.join(' AND ')}` : ''}
         ORDER BY b.finished_at DESC, b.id DESC LIMIT @limit) AS measured`,
    ];
    if (f.includeUnbenchmarked !== false && f.deviceSource === undefined) {
      halves.push(
        `SELECT * FROM (SELECT ${columns}
           FROM artifacts a LEFT JOIN runs r ON r.id = a.run_id
           LEFT JOIN benchmarks b ON b.id = NULL LEFT JOIN devices d ON d.id = NULL
           WHERE NOT EXISTS (SELECT 1 FROM benchmarks b WHERE ${benchConds.join(' AND ')})
           ${unmeasured.length ? `AND ${unmeasured.join(' AND ')}` : ''}
           ORDER BY a.created_at DESC, a.id DESC LIMIT @limit) AS unmeasured`,
      );
    }
    const sql = `SELECT * FROM (${halves.join(' UNION ALL ')}) AS hits ORDER BY measuredAt DESC, artifactId DESC LIMIT @limit`;
    return (this.db.prepare(sql).all(params) as Row[]).map(({ metrics_json, ...r }) => {
      const m = metrics_json ? (JSON.parse(metrics_json) as Record<string, unknown>) : {};
      const n = (k: string) => (typeof m[k] === 'number' ? (m[k] as number) : null);
      return { ...r, accuracy: n('accuracy'), deployedAccuracy: n('deployedAccuracy') };
    });
  }

  /** Lineages: artifacts of runs sharing a recipe name, by artifact name, per device they were measured on. */
  lineages(limit = 200): Lineage[] {
    const stmt = this.db.prepare(
        // One pass: every artifact with its succeeded benchmarks grouped straight into its lineage
        // (recipe name, artifact name, device): ~10^3 groups in one small hash. Counting them first
        // per (artifact, device) built a hash as large as the table at team scale (one group per
        // benchmark) and joined it back. An artifact without a succeeded benchmark counts once, on
        // no device (count(*) of its one NULL-extended row).
        `WITH per AS (
           SELECT r.name AS run_name, a.name AS artifact_name, b.device_id AS did,
                  count(*) AS n, max(coalesce(b.finished_at, a.created_at)) AS last
           FROM artifacts a JOIN runs r ON r.id = a.run_id
           LEFT JOIN benchmarks b ON b.artifact_id = a.id AND b.status = 'succeeded'
           GROUP BY r.name, a.name, b.device_id
         )
         SELECT per.run_name AS runName, per.artifact_name AS artifactName, per.did AS deviceId,
                ${DEVICE_NAME_SQL} AS deviceName, per.n AS points, per.last AS lastAt
         FROM per LEFT JOIN devices d ON d.id = per.did
         ORDER BY lastAt DESC, runName, artifactName, deviceId LIMIT ?`,
    );
    const read = () => stmt.all(limit) as Lineage[];
    if (this.db.dialect !== 'postgres') return read();
    // The grouping reads every artifact and benchmark (~10^5 rows at team scale): CPU-bound work that
    // PostgreSQL's defaults keep on one core (parallel_setup_cost 1000, and the artifacts table is
    // under min_parallel_table_scan_size). Allowed to use parallel workers for this statement only
    // (SET LOCAL ends with its read-only transaction): 97–111 → 66 ms at 20,000 runs and 100,000
    // benchmarks on 2 idle cores. Read-only, so a connection lost in it is simply read again once.
    const parallel = this.db.transaction(() => {
      this.db.exec('SET LOCAL parallel_setup_cost = 100; SET LOCAL min_parallel_table_scan_size = 0');
      return read();
    });
    try {
      return parallel();
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'DATABASE_GONE') throw err;
      return parallel();
    }
  }

  /**
   * People, machines and device sources that occur in the history (the filters' choices). People and
   * machines are read as loose index scans (each next value is one index probe past the previous),
   * not by reading every run and benchmark: ~10 values among 10^5 rows.
   */
  facets(): CompareFacets {
    const col = (sql: string) => (this.db.prepare(sql).all() as { v: string }[]).map((r) => r.v);
    const distinct = (table: string, column: string) =>
      `WITH RECURSIVE seen(v) AS (
         SELECT (SELECT ${column} FROM ${table} WHERE ${column} IS NOT NULL ORDER BY ${column} LIMIT 1)
         UNION ALL
         SELECT (SELECT ${column} FROM ${table} WHERE ${column} > seen.v ORDER BY ${column} LIMIT 1) FROM seen WHERE seen.v IS NOT NULL
       ) SELECT v FROM seen WHERE v IS NOT NULL`;
    const both = (column: string) => col(`SELECT v FROM (${distinct('runs', column)}) AS r UNION SELECT v FROM (${distinct('benchmarks', column)}) AS b ORDER BY v`);
    const people = both('made_by');
    const machines = both('machine');
    const deviceSources = col(`SELECT DISTINCT source_label AS v FROM devices ORDER BY v`);
    const sharedModels = col(`SELECT model AS v FROM devices WHERE kind = 'android' AND model IS NOT NULL GROUP BY model HAVING count(*) > 1 ORDER BY v`);
    return { people, machines, deviceSources, sharedModels };
  }

  /**
   * One metric over time for a lineage. A latency point says whether it changed from the previous
   * one only when both have at least TREND_MIN_TRIALS trials and a CV of trial means at most
   * TREND_MAX_CV: then "changed" when the change exceeds the two intervals' half-widths added (they
   * do not overlap), else "no change"; otherwise "too noisy to tell". Peak memory is compared only
   * between points of the same kind (never a runner peak against a runtime heap); metrics without an
   * interval are never judged.
   */
  series(q: {
    runName: string;
    artifactName: string;
    deviceId: number | null;
    metric: TrendMetric;
    /** Every phone of this model (the same model in several labs) instead of `deviceId`. */
    deviceModel?: string;
    madeBy?: string;
    machine?: string;
    deviceSource?: string;
  }): TrendPoint[] {
    const bench = q.metric === 'latencyUs' || q.metric === 'peakMemMb';
    const value =
      q.metric === 'latencyUs'
        ? 'b.latency_us'
        : q.metric === 'peakMemMb'
          ? 'b.peak_mem_mb'
          : q.metric === 'bytes'
            ? 'a.bytes'
            : q.metric === 'gzipBytes'
              ? 'a.gzip_bytes'
              : `json_extract(a.metrics_json, '$.${q.metric}')`;
    const lat = q.metric === 'latencyUs';
    // Benchmark conditions: one device, or every phone of one model (several labs); who, where, which source.
    const on = [`b.artifact_id = a.id`, `b.status = 'succeeded'`];
    if (q.deviceModel !== undefined) on.push(`b.device_id IN (SELECT id FROM devices WHERE model = @deviceModel)`);
    else if (q.deviceId !== null) on.push('b.device_id = @deviceId');
    if (q.madeBy !== undefined) on.push('b.made_by = @madeBy');
    if (q.machine !== undefined) on.push('b.machine = @machine');
    if (q.deviceSource !== undefined) on.push(`b.device_id IN (SELECT d.id FROM devices d WHERE d.source_label = @deviceSource)`);
    const inner = bench || on.length > 2;
    const rows = this.db
      .prepare(
        `SELECT coalesce(b.finished_at, a.created_at) AS at, ${value} AS value,
                ${lat ? 'b.ci_low_us' : 'NULL'} AS low, ${lat ? 'b.ci_high_us' : 'NULL'} AS high, ${lat ? 'b.ci_coverage' : 'NULL'} AS coverage,
                ${bench ? 'b.cv' : 'NULL'} AS cv, ${bench ? '(SELECT count(*) FROM benchmark_trials t WHERE t.benchmark_id = b.id)' : 'NULL'} AS trials,
                ${q.metric === 'peakMemMb' ? 'b.peak_mem_kind' : 'NULL'} AS kind,
                a.run_id AS runId, a.id AS artifactId, b.id AS benchmarkId
         FROM artifacts a JOIN runs r ON r.id = a.run_id
         ${inner ? 'JOIN' : 'LEFT JOIN'} benchmarks b ON ${on.join(' AND ')}
         WHERE r.name = @runName AND a.name = @artifactName AND ${value} IS NOT NULL
         ORDER BY at, a.id, b.id`,
      )
      .all({
        runName: q.runName,
        artifactName: q.artifactName,
        deviceId: q.deviceId,
        deviceModel: q.deviceModel,
        madeBy: q.madeBy,
        machine: q.machine,
        deviceSource: q.deviceSource,
      }) as Omit<TrendPoint, 'flagged' | 'change'>[];
    return rows.map((p, i) => {
      const prev = rows[i - 1];
      const change = prev ? trendChange(prev, p, q.metric) : null;
      return { ...p, change, flagged: change === 'changed' };
    });
  }
}

type SeriesPoint = Pick<TrendPoint, 'value' | 'low' | 'high' | 'cv' | 'trials' | 'kind'>;

export function trendChange(prev: SeriesPoint, p: SeriesPoint, metric: TrendMetric): TrendPoint['change'] {
  if (metric === 'peakMemMb') return prev.kind !== p.kind ? 'not-comparable' : null;
  if (metric !== 'latencyUs') return null;
  const steady = (x: SeriesPoint) => (x.trials ?? 0) >= TREND_MIN_TRIALS && x.cv !== null && x.cv !== undefined && x.cv <= TREND_MAX_CV && x.low !== null && x.high !== null;
  if (!steady(prev) || !steady(p)) return 'too-noisy';
  const half = (p.high! - p.low!) / 2 + (prev.high! - prev.low!) / 2;
  return Math.abs(p.value - prev.value) > half ? 'changed' : 'no-change';
}
