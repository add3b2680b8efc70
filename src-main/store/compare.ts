/**
 * Queries behind Compare and Trends. They read across artifacts, runs, benchmarks and devices,
 * and must stay fast with thousands of rows: everything is one indexed SQL statement.
 */
import type { CompareRow, Delegate, Lineage, TrendMetric, TrendPoint } from '../../src-shared/types';
import { TREND_MAX_CV, TREND_MIN_TRIALS } from '../../src-shared/trend-rules';
import type { DB } from './db';
import type { Dialect } from './sql';

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

/** The label of the device source a phone came from (devices' `facts.source`, the lab's); older rows: local. */
export const LOCAL_SOURCE_LABEL = "This computer's ADB server";
function deviceSourceSql(dialect: Dialect): string {
  const label = dialect === 'postgres' ? `(d.facts_json::jsonb #>> '{source,label}')` : `json_extract(d.facts_json, '$.source.label')`;
  return `CASE WHEN d.id IS NULL THEN NULL WHEN d.kind = 'host' THEN 'This computer' ELSE coalesce(${label}, '${LOCAL_SOURCE_LABEL.replace(/'/g, "''")}') END`;
}

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

/** The values Compare and Trends can filter on, as they occur in the history. */
export interface CompareFacets {
  people: string[];
  machines: string[];
  deviceSources: string[];
}

export class CompareQueries {
  constructor(private readonly db: DB) {}

  rows(f: CompareFilter): CompareRow[] {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: f.limit };
    if (f.artifactIds?.length) where.push(`a.id IN (${namedList('artifact', f.artifactIds, params)})`);
    if (f.runIds?.length) where.push(`a.run_id IN (${namedList('run', f.runIds, params)})`);
    const source = deviceSourceSql(this.db.dialect);
    if (f.madeBy !== undefined) {
      where.push('coalesce(b.made_by, r.made_by) = @madeBy');
      params.madeBy = f.madeBy;
    }
    if (f.machine !== undefined) {
      where.push('coalesce(b.machine, r.machine) = @machine');
      params.machine = f.machine;
    }
    if (f.deviceSource !== undefined) {
      where.push(`(${source}) = @deviceSource`);
      params.deviceSource = f.deviceSource;
    }
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
    const join = f.includeUnbenchmarked === false ? 'JOIN' : 'LEFT JOIN';
    if (delegateCond) where.push(f.includeUnbenchmarked === false ? delegateCond : `(b.id IS NULL OR ${delegateCond})`);
    if (f.includeUnbenchmarked === false) where.push('b.id IS NOT NULL');
    const sql = `
      SELECT a.id AS artifactId, a.name AS artifactName, a.run_id AS runId, r.name AS runName, a.parent_id AS parentId,
             a.format, a.precision, a.bytes, a.gzip_bytes AS gzipBytes, a.params, a.nonzero_params AS nonzeroParams,
             a.sparsity, a.macs, a.metrics_json,
             b.id AS benchmarkId, b.device_id AS deviceId, ${DEVICE_NAME_SQL} AS deviceName,
             json_extract(b.config_json, '$.threads') AS threads, ${DELEGATE_SQL} AS delegate,
             b.delegated_share AS delegatedShare,
             b.latency_us AS latencyUs, b.ci_low_us AS ciLowUs, b.ci_high_us AS ciHighUs, b.ci_coverage AS ciCoverage, b.cv,
             b.peak_mem_mb AS peakMemMb, b.peak_mem_kind AS peakMemKind,
             coalesce(b.made_by, r.made_by) AS madeBy, coalesce(b.machine, r.machine) AS machine, ${source} AS deviceSource,
             coalesce(b.finished_at, a.created_at) AS measuredAt
      FROM artifacts a
      LEFT JOIN runs r ON r.id = a.run_id
      ${join} benchmarks b ON ${benchConds.join(' AND ')}
      LEFT JOIN devices d ON d.id = b.device_id
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY measuredAt DESC, a.id DESC
      LIMIT @limit`;
    return (this.db.prepare(sql).all(params) as Row[]).map(({ metrics_json, ...r }) => {
      const m = metrics_json ? (JSON.parse(metrics_json) as Record<string, unknown>) : {};
      const n = (k: string) => (typeof m[k] === 'number' ? (m[k] as number) : null);
      return { ...r, accuracy: n('accuracy'), deployedAccuracy: n('deployedAccuracy') };
    });
  }

  /** Lineages: artifacts of runs sharing a recipe name, by artifact name, per device they were measured on. */
  lineages(limit = 200): Lineage[] {
    return this.db
      .prepare(
        `SELECT r.name AS runName, a.name AS artifactName, b.device_id AS deviceId, ${DEVICE_NAME_SQL} AS deviceName,
                count(*) AS points, max(coalesce(b.finished_at, a.created_at)) AS lastAt
         FROM artifacts a JOIN runs r ON r.id = a.run_id
         LEFT JOIN benchmarks b ON b.artifact_id = a.id AND b.status = 'succeeded'
         LEFT JOIN devices d ON d.id = b.device_id
         GROUP BY r.name, a.name, b.device_id, d.id
         ORDER BY lastAt DESC LIMIT ?`,
      )
      .all(limit) as Lineage[];
  }

  /** People, machines and device sources that occur in the history (the filters' choices). */
  facets(): CompareFacets {
    const col = (sql: string) => (this.db.prepare(sql).all() as { v: string }[]).map((r) => r.v);
    const people = col(`SELECT made_by AS v FROM runs WHERE made_by IS NOT NULL UNION SELECT made_by FROM benchmarks WHERE made_by IS NOT NULL ORDER BY v`);
    const machines = col(`SELECT machine AS v FROM runs WHERE machine IS NOT NULL UNION SELECT machine FROM benchmarks WHERE machine IS NOT NULL ORDER BY v`);
    const deviceSources = col(`SELECT DISTINCT ${deviceSourceSql(this.db.dialect)} AS v FROM devices d ORDER BY v`);
    return { people, machines, deviceSources };
  }

  /**
   * One metric over time for a lineage. A latency point says whether it changed from the previous
   * one only when both have at least TREND_MIN_TRIALS trials and a CV of trial means at most
   * TREND_MAX_CV: then "changed" when the change exceeds the two intervals' half-widths added (they
   * do not overlap), else "no change"; otherwise "too noisy to tell". Peak memory is compared only
   * between points of the same kind (never a runner peak against a runtime heap); metrics without an
   * interval are never judged.
   */
  series(q: { runName: string; artifactName: string; deviceId: number | null; metric: TrendMetric }): TrendPoint[] {
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
    const rows = this.db
      .prepare(
        `SELECT coalesce(b.finished_at, a.created_at) AS at, ${value} AS value,
                ${lat ? 'b.ci_low_us' : 'NULL'} AS low, ${lat ? 'b.ci_high_us' : 'NULL'} AS high, ${lat ? 'b.ci_coverage' : 'NULL'} AS coverage,
                ${bench ? 'b.cv' : 'NULL'} AS cv, ${bench ? '(SELECT count(*) FROM benchmark_trials t WHERE t.benchmark_id = b.id)' : 'NULL'} AS trials,
                ${q.metric === 'peakMemMb' ? 'b.peak_mem_kind' : 'NULL'} AS kind,
                a.run_id AS runId, a.id AS artifactId, b.id AS benchmarkId
         FROM artifacts a JOIN runs r ON r.id = a.run_id
         ${bench || q.deviceId !== null ? 'JOIN' : 'LEFT JOIN'} benchmarks b ON b.artifact_id = a.id AND b.status = 'succeeded' ${q.deviceId !== null ? 'AND b.device_id = @deviceId' : ''}
         WHERE r.name = @runName AND a.name = @artifactName AND ${value} IS NOT NULL
         ORDER BY at, a.id, b.id`,
      )
      .all({ runName: q.runName, artifactName: q.artifactName, deviceId: q.deviceId }) as Omit<TrendPoint, 'flagged' | 'change'>[];
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
