import type { TrialInfo } from '../../src-shared/contract/devices';
import type { BenchmarkStatus, BenchmarkSummary, Delegate, PeakMemKind } from '../../src-shared/types';
import { type DB, json, now, parseJson } from './db';
import type { Identity } from './identity';
import { reclaim } from './runs';

interface BenchmarkRecord {
  id: number;
  artifact_id: number | null;
  device_id: number;
  status: BenchmarkStatus;
  error: string | null;
  config_json: string;
  runner_sha256: string | null;
  latency_us: number | null;
  ci_low_us: number | null;
  ci_high_us: number | null;
  cv: number | null;
  init_ms: number | null;
  peak_mem_mb: number | null;
  peak_mem_kind: PeakMemKind | null;
  ran_delegate: Delegate | null;
  delegated_share: number | null;
  ci_coverage: number | null;
  target: string | null;
  made_by?: string | null;
  machine?: string | null;
  created_at: number;
  finished_at: number | null;
}

export interface BenchmarkResult {
  status: BenchmarkStatus;
  error?: string | null;
  runnerSha256?: string | null;
  runnerVersion?: string | null;
  latencyUs?: number | null;
  ciLowUs?: number | null;
  ciHighUs?: number | null;
  cv?: number | null;
  initMs?: number | null;
  firstInferenceUs?: number | null;
  peakMemMb?: number | null;
  peakMemKind?: PeakMemKind | null;
  ranDelegate?: Delegate | null;
  delegatedShare?: number | null;
  ciCoverage?: number | null;
  vmHwmKb?: number | null;
  vmRssKb?: number | null;
  affinity?: string | null;
  stats?: unknown;
  thermalBefore?: unknown;
  thermalAfter?: unknown;
  batteryBefore?: unknown;
  batteryAfter?: unknown;
  rawOutput?: string | null;
}

/** A trial as stored (the contract's TrialInfo without its index). */
export type TrialRow = Omit<TrialInfo, 'idx'>;

export interface OpProfileRow {
  section: 'run_order' | 'by_type';
  nodeType: string;
  nodeName?: string | null;
  count?: number | null;
  avgMs?: number | null;
  pct?: number | null;
  memKb?: number | null;
}

function toSummary(b: BenchmarkRecord): BenchmarkSummary {
  return {
    id: b.id,
    artifactId: b.artifact_id,
    deviceId: b.device_id,
    status: b.status,
    error: b.error,
    config: parseJson(b.config_json, {}),
    runnerSha256: b.runner_sha256,
    latencyUs: b.latency_us,
    ciLowUs: b.ci_low_us,
    ciHighUs: b.ci_high_us,
    cv: b.cv,
    initMs: b.init_ms,
    peakMemMb: b.peak_mem_mb,
    peakMemKind: b.peak_mem_kind ?? null,
    ranDelegate: b.ran_delegate ?? null,
    delegatedShare: b.delegated_share ?? null,
    ciCoverage: b.ci_coverage ?? null,
    target: b.target ?? null,
    madeBy: b.made_by ?? null,
    machine: b.machine ?? null,
    createdAt: b.created_at,
    finishedAt: b.finished_at,
  };
}

export class BenchmarkQueries {
  constructor(
    private readonly db: DB,
    private readonly who: Identity,
  ) {}

  create(b: { artifactId: number | null; deviceId: number; config: unknown; status?: BenchmarkStatus; modelSha256?: string | null; target?: string | null }): number {
    const t = now();
    const info = this.db
      .prepare(
        `INSERT INTO benchmarks (artifact_id, device_id, status, config_json, created_at, model_sha256, target, made_by, machine, owner_pid, heartbeat_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(b.artifactId, b.deviceId, b.status ?? 'queued', JSON.stringify(b.config ?? {}), t, b.modelSha256 ?? null, b.target ?? null,
        this.who.madeBy, this.who.machine, this.who.pid, t);
    return Number(info.lastInsertRowid);
  }

  markRunning(id: number): void {
    this.db.prepare(`UPDATE benchmarks SET status = 'running', started_at = ? WHERE id = ?`).run(now(), id);
  }

  /** Store the outcome, trials and op profile atomically: a reader never sees half a result. */
  finish(id: number, r: BenchmarkResult, trials: TrialRow[] = [], ops: OpProfileRow[] = []): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          `UPDATE benchmarks SET status = @status, error = @error, runner_sha256 = @runnerSha256, runner_version = @runnerVersion,
             latency_us = @latencyUs, ci_low_us = @ciLowUs, ci_high_us = @ciHighUs, cv = @cv, init_ms = @initMs,
             first_inference_us = @firstInferenceUs, peak_mem_mb = @peakMemMb, peak_mem_kind = @peakMemKind,
             ran_delegate = @ranDelegate, delegated_share = @delegatedShare, ci_coverage = @ciCoverage, vm_hwm_kb = @vmHwmKb, vm_rss_kb = @vmRssKb,
             affinity = @affinity, stats_json = @stats, thermal_before_json = @thermalBefore, thermal_after_json = @thermalAfter,
             battery_before_json = @batteryBefore, battery_after_json = @batteryAfter, raw_output = @rawOutput, finished_at = @t
           WHERE id = @id`,
        )
        .run({
          id,
          t: now(),
          status: r.status,
          error: r.error ?? null,
          runnerSha256: r.runnerSha256 ?? null,
          runnerVersion: r.runnerVersion ?? null,
          latencyUs: r.latencyUs ?? null,
          ciLowUs: r.ciLowUs ?? null,
          ciHighUs: r.ciHighUs ?? null,
          cv: r.cv ?? null,
          initMs: r.initMs ?? null,
          firstInferenceUs: r.firstInferenceUs ?? null,
          peakMemMb: r.peakMemMb ?? null,
          peakMemKind: r.peakMemMb != null ? (r.peakMemKind ?? null) : null,
          ranDelegate: r.ranDelegate ?? null,
          delegatedShare: r.delegatedShare ?? null,
          ciCoverage: r.ciCoverage ?? null,
          vmHwmKb: r.vmHwmKb ?? null,
          vmRssKb: r.vmRssKb ?? null,
          affinity: r.affinity ?? null,
          stats: json(r.stats),
          thermalBefore: json(r.thermalBefore),
          thermalAfter: json(r.thermalAfter),
          batteryBefore: json(r.batteryBefore),
          batteryAfter: json(r.batteryAfter),
          rawOutput: r.rawOutput ?? null,
        });
      const insTrial = this.db.prepare(
        `INSERT INTO benchmark_trials (benchmark_id, idx, count, mean_us, std_us, min_us, max_us, p5_us, median_us, p95_us,
           cooldown_ms, cooldown_timed_out, temp_before_c, temp_after_c, warmup_count, warmup_mean_us, warmup_std_us, warmup_min_us, warmup_max_us)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      trials.forEach((t, i) =>
        insTrial.run(id, i, t.count ?? null, t.meanUs ?? null, t.stdUs ?? null, t.minUs ?? null, t.maxUs ?? null, t.p5Us ?? null,
          t.medianUs ?? null, t.p95Us ?? null, t.cooldownMs ?? null, t.cooldownTimedOut ? 1 : 0, t.tempBeforeC ?? null, t.tempAfterC ?? null,
          t.warmupCount ?? null, t.warmupMeanUs ?? null, t.warmupStdUs ?? null, t.warmupMinUs ?? null, t.warmupMaxUs ?? null),
      );
      const insOp = this.db.prepare(
        `INSERT INTO op_profiles (benchmark_id, section, node_type, node_name, count, avg_ms, pct, mem_kb) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const o of ops) insOp.run(id, o.section, o.nodeType, o.nodeName ?? null, o.count ?? null, o.avgMs ?? null, o.pct ?? null, o.memKb ?? null);
    })();
  }

  get(id: number): BenchmarkSummary | null {
    const r = this.db.prepare('SELECT * FROM benchmarks WHERE id = ?').get(id) as BenchmarkRecord | undefined;
    return r ? toSummary(r) : null;
  }

  list(opts: { limit: number; offset: number; artifactId?: number; deviceId?: number }): { items: BenchmarkSummary[]; total: number } {
    const conds: string[] = [];
    if (opts.artifactId !== undefined) conds.push('artifact_id = @artifactId');
    if (opts.deviceId !== undefined) conds.push('device_id = @deviceId');
    const where = conds.length ? `WHERE ${conds.join(' AND ')}` : '';
    const params = { artifactId: opts.artifactId, deviceId: opts.deviceId, limit: opts.limit, offset: opts.offset };
    const items = (
      this.db.prepare(`SELECT * FROM benchmarks ${where} ORDER BY created_at DESC, id DESC LIMIT @limit OFFSET @offset`).all(params) as BenchmarkRecord[]
    ).map(toSummary);
    const total = (this.db.prepare(`SELECT count(*) AS n FROM benchmarks ${where}`).get(params) as { n: number }).n;
    return { items, total };
  }

  trials(benchmarkId: number): (TrialRow & { idx: number })[] {
    return (
      this.db.prepare('SELECT * FROM benchmark_trials WHERE benchmark_id = ? ORDER BY idx').all(benchmarkId) as Record<string, number | null>[]
    ).map((t) => ({
      idx: t.idx as number,
      count: t.count,
      meanUs: t.mean_us,
      stdUs: t.std_us,
      minUs: t.min_us,
      maxUs: t.max_us,
      p5Us: t.p5_us,
      medianUs: t.median_us,
      p95Us: t.p95_us,
      cooldownMs: t.cooldown_ms,
      cooldownTimedOut: t.cooldown_timed_out === 1,
      tempBeforeC: t.temp_before_c,
      tempAfterC: t.temp_after_c,
      warmupCount: t.warmup_count ?? null,
      warmupMeanUs: t.warmup_mean_us ?? null,
      warmupStdUs: t.warmup_std_us ?? null,
      warmupMinUs: t.warmup_min_us ?? null,
      warmupMaxUs: t.warmup_max_us ?? null,
    }));
  }

  ops(benchmarkId: number): OpProfileRow[] {
    return (
      this.db.prepare('SELECT * FROM op_profiles WHERE benchmark_id = ? ORDER BY id').all(benchmarkId) as Record<string, string | number | null>[]
    ).map((o) => ({
      section: o.section as OpProfileRow['section'],
      nodeType: o.node_type as string,
      nodeName: o.node_name as string | null,
      count: o.count as number | null,
      avgMs: o.avg_ms as number | null,
      pct: o.pct as number | null,
      memKb: o.mem_kb as number | null,
    }));
  }

  /** Everything stored about one benchmark beyond its summary (the detail view, the CLI). */
  extra(id: number): { modelSha256: string | null; target: string | null; runnerVersion: string | null; firstInferenceUs: number | null; vmHwmKb: number | null; vmRssKb: number | null; affinity: string | null; stats: unknown; thermalBefore: unknown; thermalAfter: unknown; batteryBefore: unknown; batteryAfter: unknown; rawOutput: string | null } | null {
    const r = this.db.prepare('SELECT * FROM benchmarks WHERE id = ?').get(id) as Record<string, string | number | null> | undefined;
    if (!r) return null;
    const j = (k: string) => parseJson(r[k] as string | null, null);
    return {
      modelSha256: r.model_sha256 as string | null,
      target: r.target as string | null,
      runnerVersion: r.runner_version as string | null,
      firstInferenceUs: r.first_inference_us as number | null,
      vmHwmKb: r.vm_hwm_kb as number | null,
      vmRssKb: r.vm_rss_kb as number | null,
      affinity: r.affinity as string | null,
      stats: j('stats_json'),
      thermalBefore: j('thermal_before_json'),
      thermalAfter: j('thermal_after_json'),
      batteryBefore: j('battery_before_json'),
      batteryAfter: j('battery_after_json'),
      rawOutput: r.raw_output as string | null,
    };
  }

  /** Unfinished benchmarks whose owner is gone are failed (the rule is runs.ts' `reclaim`). */
  markInterrupted(): number {
    return reclaim(this.db, 'benchmarks', this.who, `status = 'failed', error = 'PocketBench stopped while this benchmark was running.'`);
  }

  heartbeat(): void {
    this.db
      .prepare(`UPDATE benchmarks SET heartbeat_at = ? WHERE status IN ('running','queued') AND machine = ? AND owner_pid = ?`)
      .run(now(), this.who.machine, this.who.pid);
  }
}
