/**
 * The device lab: ADB tracking, facts, runners, and one benchmark queue per target. Lives in the
 * host process (the pipeline's profile stage asks it through the worker protocol).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BenchmarkDetail, BenchmarkProgress, LiveDevice, QueueEntry, RunnerInfo } from '../../src-shared/contract/devices';
import { AppError } from '../../src-shared/errors';
import type { BenchmarkSummary, Delegate, DeviceSummary } from '../../src-shared/types';
import type { EventBus } from '../host/events';
import type { Store } from '../store';
import { Adbc, type AdbDeviceState, DisconnectedError } from './adb';
import { AndroidTarget, type AndroidTargetOptions } from './android-target';
import { type CollectedFacts, collectFacts } from './device-facts';
import { ABIS, downloadRunner, officialRunnerUrl, setRunnerFile, sha256File } from './runners';
import { summarizeTrials } from './stats';
import { type BenchOptions, BenchmarkFailure, type BenchmarkTarget, type TargetResult } from './target';
import { DeviceTracker } from './tracker';

export type ExtraTargets = (key: string) => BenchmarkTarget | null;

export interface LabOptions {
  store: Store;
  bus: EventBus;
  /** Where downloaded runners go (the app data folder). */
  dataDir: string;
  /** Other targets, e.g. "This computer" (key `host`), from src-main/devices/host-runner.ts. */
  extraTargets?: ExtraTargets;
  /** Keys of extra targets to list on the Devices page. */
  extraTargetKeys?: string[];
  adb?: Adbc;
  android?: AndroidTargetOptions;
}

interface Job {
  benchmarkId: number;
  target: BenchmarkTarget;
  modelPath: string;
  modelName: string;
  modelSha256: string;
  modelBytes: number;
  options: BenchOptions;
  controller: AbortController;
  progress: BenchmarkProgress;
  done: Promise<BenchmarkSummary>;
  resolve: (b: BenchmarkSummary) => void;
}

export interface QueueRequest {
  modelPath: string;
  artifactId?: number | null;
  modelName?: string;
  targets: string[];
  options: BenchOptions;
}

const HINTS: Partial<Record<AdbDeviceState, string>> = {
  unauthorized: 'Unlock the phone and accept the "Allow USB debugging?" prompt on it.',
  authorizing: 'Unlock the phone and accept the "Allow USB debugging?" prompt on it.',
  connecting: 'Connecting… if it stays like this, check the cable or the address.',
  offline: 'The phone is offline: unplug and replug it (or connect again for a remote one); restart it if that does not help.',
  absent: 'Not connected. Plug it in (or connect it by address) to benchmark on it.',
};

export class DeviceLab {
  readonly adb: Adbc;
  private readonly tracker: DeviceTracker;
  private readonly facts = new Map<string, CollectedFacts>();
  private readonly factsPending = new Map<string, Promise<CollectedFacts>>();
  private readonly queues = new Map<string, Job[]>();
  private readonly running = new Map<string, Job>();
  private readonly jobs = new Map<number, Job>();
  private started: Promise<void> | null = null;
  private closed = false;
  private liveTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: LabOptions) {
    this.adb = o.adb ?? new Adbc();
    this.tracker = new DeviceTracker(this.adb, (serial, state, prev) => this.onDeviceState(serial, state, prev));
  }

  /** Start tracking (once). Rejects with a clear AppError when adb is missing or not allowed to start. */
  start(): Promise<void> {
    this.started ??= this.tracker.start().catch((err) => {
      this.started = null;
      throw err;
    });
    return this.started;
  }

  private onDeviceState(serial: string, state: AdbDeviceState, _prev: AdbDeviceState): void {
    if (state === 'device' && !this.facts.has(serial)) void this.readFacts(serial).catch(() => undefined);
    if (state !== 'device') {
      const job = this.running.get(serial);
      if (job && !job.controller.signal.aborted) job.controller.abort(new DisconnectedError(serial, 'the benchmark'));
    }
    this.publishLive();
  }

  private publishLive(): void {
    if (this.liveTimer || this.closed) return;
    this.liveTimer = setTimeout(() => {
      this.liveTimer = null;
      if (!this.closed) this.o.bus.emit('devices.live', this.live());
    }, 50);
  }

  /** Facts of an attached phone (read once per attach, stored in the history). */
  readFacts(serial: string, force = false): Promise<CollectedFacts> {
    if (!force) {
      const have = this.facts.get(serial);
      if (have) return Promise.resolve(have);
    }
    let p = this.factsPending.get(serial);
    if (p && !force) return p;
    p = collectFacts(this.adb, serial)
      .then((f) => {
        this.facts.set(serial, f);
        this.o.store.devices.upsert(serial, 'android', {
          manufacturer: f.manufacturer,
          model: f.model,
          androidVersion: f.androidVersion,
          sdk: f.sdk,
          abis: f.abis,
          soc: f.soc,
          ramBytes: f.ramBytes,
          facts: { cores: f.cores, clusters: f.clusters, bigCores: f.bigCores, conditions: f.conditions, unavailable: f.unavailable },
        });
        this.o.bus.emit('devices.changed', this.o.store.devices.list());
        this.publishLive();
        return f;
      })
      .finally(() => this.factsPending.delete(serial));
    this.factsPending.set(serial, p);
    return p;
  }

  live(): LiveDevice[] {
    const out: LiveDevice[] = [];
    for (const key of this.o.extraTargetKeys ?? []) {
      const t = this.o.extraTargets?.(key);
      if (!t) continue;
      const device = this.o.store.devices.get(t.deviceId());
      out.push({
        key,
        kind: t.kind,
        label: key === 'host' ? 'This computer' : key,
        state: 'ready',
        hint: null,
        device,
        batteryPct: null,
        charging: null,
        thermalStatus: null,
        maxTempC: null,
        runner: null,
        unavailable: [],
        queued: this.queueLength(key),
      });
    }
    const seen = new Set<string>();
    for (const { serial, state } of this.tracker.current()) {
      seen.add(serial);
      out.push(this.liveAndroid(serial, state));
    }
    // Phones seen before but not attached now: listed so their history stays reachable.
    for (const d of this.o.store.devices.list()) {
      if (d.kind === 'android' && !seen.has(d.serial)) out.push(this.liveAndroid(d.serial, 'absent'));
    }
    return out;
  }

  private liveAndroid(serial: string, state: AdbDeviceState): LiveDevice {
    const f = this.facts.get(serial);
    const device = this.o.store.devices.bySerial(serial);
    const abis = f?.abis ?? device?.abis ?? [];
    const runner = abis.map((a) => this.o.store.runners.get(a)).find(Boolean) ?? null;
    const cond = f?.conditions;
    return {
      key: serial,
      kind: 'android',
      label: [device?.manufacturer, device?.model].filter(Boolean).join(' ') || serial,
      state,
      hint: HINTS[state] ?? (state === 'device' && abis.length && !runner ? `No benchmark_model for ${abis[0]} yet: set its file or download it under Runners.` : null),
      device,
      batteryPct: cond?.battery?.levelPct ?? null,
      charging: cond?.battery?.charging ?? null,
      thermalStatus: cond?.thermal?.statusName ?? null,
      maxTempC: cond?.maxTempC ?? null,
      runner: { abi: runner?.abi ?? abis[0] ?? null, sha256: runner?.sha256 ?? null, ready: Boolean(runner) },
      unavailable: f?.unavailable ?? [],
      queued: this.queueLength(serial),
    };
  }

  private queueLength(key: string): number {
    return (this.queues.get(key)?.length ?? 0) + (this.running.has(key) ? 1 : 0);
  }

  async connect(host: string, port: number): Promise<string> {
    await this.start();
    const msg = await this.adb.connect(host, port);
    if (/unable|failed|cannot/i.test(msg)) throw new AppError('CONNECT_FAILED', `adb could not connect to ${host}:${port}: ${msg.trim()}. Check the address and that the phone listens there.`);
    this.publishLive();
    return `${host}:${port}`;
  }

  async refreshFacts(serial: string): Promise<DeviceSummary> {
    await this.start();
    const state = this.tracker.state(serial);
    if (state !== 'device') throw new AppError(`DEVICE_${state.toUpperCase()}`, `${serial} is ${state === 'absent' ? 'not connected' : state}. ${HINTS[state] ?? ''}`.trim());
    await this.readFacts(serial, true);
    return this.o.store.devices.bySerial(serial)!;
  }

  // ---- runners ----

  runners(): RunnerInfo[] {
    return ABIS.map((abi) => {
      const r = this.o.store.runners.get(abi);
      return { abi, path: r?.path ?? null, sha256: r?.sha256 ?? null, bytes: r?.bytes ?? null, source: r?.source ?? null, elfMachine: r?.elfMachine ?? null, downloadable: officialRunnerUrl(abi) !== null };
    });
  }

  async setRunner(abi: string, file: string): Promise<RunnerInfo> {
    await setRunnerFile(this.o.store, abi, file);
    this.publishLive();
    return this.runners().find((r) => r.abi === abi)!;
  }

  async downloadRunner(abi: string): Promise<RunnerInfo> {
    await downloadRunner(this.o.store, abi, path.join(this.o.dataDir, 'runners'), (bytes, total) => this.o.bus.emit('runners.progress', { abi, bytes, total }));
    this.publishLive();
    return this.runners().find((r) => r.abi === abi)!;
  }

  // ---- benchmarks ----

  private target(key: string): BenchmarkTarget {
    const extra = this.o.extraTargets?.(key);
    if (extra) return extra;
    if (key === 'host') throw new AppError('UNSUPPORTED', '"This computer" cannot run benchmarks in this build (the LiteRT host runner is not installed).');
    return new AndroidTarget(key, this.adb, this.o.store, () => this.readFacts(key), this.o.android);
  }

  /** Queue one model on several targets; each target has its own queue. Returns the benchmark ids. */
  async queue(req: QueueRequest): Promise<number[]> {
    let st: fs.Stats;
    try {
      st = fs.statSync(req.modelPath);
    } catch {
      throw new AppError('NOT_FOUND', `There is no model file at ${req.modelPath}.`);
    }
    if (!st.isFile()) throw new AppError('INVALID_ARGS', `${req.modelPath} is not a file.`);
    const head = Buffer.alloc(8);
    const fd = fs.openSync(req.modelPath, 'r');
    fs.readSync(fd, head, 0, 8, 0);
    fs.closeSync(fd);
    if (head.subarray(4, 8).toString('latin1') !== 'TFL3') {
      throw new AppError('NOT_TFLITE', `${path.basename(req.modelPath)} is not a TensorFlow Lite model (no TFL3 identifier). Export the model to .tflite first.`);
    }
    const modelSha256 = await sha256File(req.modelPath);
    const targets = [...new Set(req.targets)].map((k) => this.target(k));
    if (targets.some((t) => t.kind === 'android')) await this.start();
    const ids: number[] = [];
    for (const target of targets) {
      const benchmarkId = this.o.store.benchmarks.create({
        artifactId: req.artifactId ?? null,
        deviceId: target.deviceId(),
        config: { ...req.options, model: path.basename(req.modelPath), modelBytes: st.size },
        modelSha256,
        target: target.key,
      });
      let resolve!: (b: BenchmarkSummary) => void;
      const done = new Promise<BenchmarkSummary>((r) => (resolve = r));
      const job: Job = {
        benchmarkId,
        target,
        modelPath: req.modelPath,
        modelName: req.modelName ?? path.basename(req.modelPath),
        modelSha256,
        modelBytes: st.size,
        options: req.options,
        controller: new AbortController(),
        progress: { benchmarkId, target: target.key, modelName: req.modelName ?? path.basename(req.modelPath), status: 'queued', phase: null, message: 'Waiting for the device', fraction: null, trial: null, trials: req.options.trials },
        done,
        resolve,
      };
      this.jobs.set(benchmarkId, job);
      const q = this.queues.get(target.key) ?? [];
      q.push(job);
      this.queues.set(target.key, q);
      ids.push(benchmarkId);
      this.o.bus.emit('benchmark.progress', { ...job.progress });
      this.pump(target.key);
    }
    this.publishLive();
    return ids;
  }

  /** Resolves with the stored summary when the benchmark has finished (any outcome). */
  wait(benchmarkId: number): Promise<BenchmarkSummary> {
    const job = this.jobs.get(benchmarkId);
    if (job) return job.done;
    const b = this.o.store.benchmarks.get(benchmarkId);
    if (!b) return Promise.reject(new AppError('NOT_FOUND', `There is no benchmark #${benchmarkId}.`));
    return Promise.resolve(b);
  }

  queueEntries(): QueueEntry[] {
    return [...this.jobs.values()].map((j) => ({ ...j.progress }) as QueueEntry);
  }

  cancel(benchmarkId: number): boolean {
    const job = this.jobs.get(benchmarkId);
    if (!job) return false;
    const q = this.queues.get(job.target.key) ?? [];
    const i = q.indexOf(job);
    if (i >= 0) {
      q.splice(i, 1);
      this.o.store.benchmarks.finish(benchmarkId, { status: 'cancelled', error: 'Cancelled before it started.' });
      this.settle(job);
      return true;
    }
    job.controller.abort(new AppError('CANCELLED', 'Cancelled by the user; the runner on the phone was stopped.'));
    return true;
  }

  private pump(key: string): void {
    if (this.running.has(key) || this.closed) return;
    const job = this.queues.get(key)?.shift();
    if (!job) return;
    this.running.set(key, job);
    void this.execute(job).finally(() => {
      this.running.delete(key);
      this.pump(key);
      this.publishLive();
    });
  }

  private async execute(job: Job): Promise<void> {
    const { store, bus } = this.o;
    store.benchmarks.markRunning(job.benchmarkId);
    const emit = (p: Partial<BenchmarkProgress>) => {
      Object.assign(job.progress, p);
      bus.emit('benchmark.progress', { ...job.progress });
    };
    emit({ status: 'running', phase: 'start', message: 'Starting' });
    const signal = job.controller.signal;
    try {
      if (job.target instanceof AndroidTarget) {
        const state = this.tracker.state(job.target.key);
        if (state !== 'device') throw new AppError(`DEVICE_${state.toUpperCase()}`, `${job.target.key} is ${state === 'absent' ? 'not connected' : state}. ${HINTS[state] ?? ''}`.trim());
      }
      const result = await job.target.run(
        { benchmarkId: job.benchmarkId, modelPath: job.modelPath, modelSha256: job.modelSha256, modelBytes: job.modelBytes, options: job.options },
        { signal, progress: (p) => emit({ phase: p.phase, message: p.message, fraction: p.fraction ?? null, trial: p.trial ?? job.progress.trial }) },
      );
      this.store(job, 'succeeded', null, result);
    } catch (err) {
      let error: AppError = err instanceof BenchmarkFailure ? err.error : err instanceof AppError ? err : new AppError('INTERNAL', (err as Error).message);
      // The reason the job was aborted wins over the error the abort caused downstream.
      if (signal.aborted && signal.reason instanceof AppError) error = signal.reason;
      const partial = err instanceof BenchmarkFailure ? err.partial : {};
      this.store(job, error.code === 'CANCELLED' ? 'cancelled' : 'failed', error, partial);
    }
  }

  private store(job: Job, status: 'succeeded' | 'failed' | 'cancelled', error: AppError | null, r: Partial<TargetResult>): void {
    const trials = r.trials ?? [];
    const means = trials.map((t) => t.stats.meanUs);
    const summary = means.length ? summarizeTrials(means) : null;
    const first = trials[0]?.stats;
    const ran = (r.extra?.ran ?? null) as { delegate?: Delegate; share?: number | null } | null;
    this.o.store.benchmarks.finish(
      job.benchmarkId,
      {
        status,
        error: error ? error.message : null,
        runnerSha256: r.runnerSha256 ?? null,
        runnerVersion: r.runnerVersion ?? null,
        latencyUs: summary?.medianUs ?? null,
        ciLowUs: summary && summary.n > 1 ? summary.ciLowUs : null,
        ciHighUs: summary && summary.n > 1 ? summary.ciHighUs : null,
        ciCoverage: summary && summary.n > 1 ? summary.coverage : null,
        cv: summary?.cv ?? null,
        initMs: first?.initMs ?? null,
        firstInferenceUs: first?.firstInferenceUs ?? null,
        peakMemMb: r.peakMemMb ?? null,
        peakMemKind: r.peakMemKind ?? null,
        ranDelegate: ran?.delegate ?? null,
        delegatedShare: ran?.share ?? null,
        vmHwmKb: r.vmHwmKb ?? null,
        vmRssKb: r.vmRssKb ?? null,
        affinity: r.affinity ?? null,
        stats: { ...(r.extra ?? {}), trials: summary ? { n: summary.n, coverage: summary.coverage, note: summary.note } : null, errorCode: error?.code ?? null },
        thermalBefore: r.conditionsBefore?.thermal ?? null,
        thermalAfter: r.conditionsAfter?.thermal ?? null,
        batteryBefore: r.conditionsBefore?.battery ?? null,
        batteryAfter: r.conditionsAfter?.battery ?? null,
        rawOutput: r.rawOutput ?? null,
      },
      trials.map((t) => ({
        count: t.stats.count,
        meanUs: t.stats.meanUs,
        stdUs: t.stats.stdUs,
        minUs: t.stats.minUs,
        maxUs: t.stats.maxUs,
        p5Us: t.stats.p5Us,
        medianUs: t.stats.medianUs,
        p95Us: t.stats.p95Us,
        cooldownMs: t.cooldownMs,
        cooldownTimedOut: t.cooldownTimedOut,
        tempBeforeC: t.tempBeforeC,
        tempAfterC: t.tempAfterC,
        warmupCount: t.stats.warmup?.count ?? null,
        warmupMeanUs: t.stats.warmup?.meanUs ?? null,
        warmupStdUs: t.stats.warmup?.stdUs ?? null,
        warmupMinUs: t.stats.warmup?.minUs ?? null,
        warmupMaxUs: t.stats.warmup?.maxUs ?? null,
      })),
      r.ops ?? [],
    );
    this.settle(job, status, error?.message ?? null);
  }

  private settle(job: Job, status: BenchmarkProgress['status'] | 'succeeded' | 'failed' | 'cancelled' = 'cancelled', message: string | null = 'Cancelled before it started.'): void {
    this.jobs.delete(job.benchmarkId);
    const final = { ...job.progress, status: status as BenchmarkProgress['status'], phase: 'done', message: message ?? 'Done', fraction: 1 };
    this.o.bus.emit('benchmark.progress', final);
    job.resolve(this.o.store.benchmarks.get(job.benchmarkId)!);
    this.publishLive();
  }

  detail(id: number): BenchmarkDetail {
    const summary = this.o.store.benchmarks.get(id);
    const extra = this.o.store.benchmarks.extra(id);
    if (!summary || !extra) throw new AppError('NOT_FOUND', `There is no benchmark #${id}.`);
    return {
      summary,
      target: extra.target,
      modelSha256: extra.modelSha256,
      affinity: extra.affinity,
      vmHwmKb: extra.vmHwmKb,
      vmRssKb: extra.vmRssKb,
      stats: (extra.stats as Record<string, unknown>) ?? null,
      trials: this.o.store.benchmarks.trials(id),
      ops: this.o.store.benchmarks.ops(id),
      batteryBefore: extra.batteryBefore,
      batteryAfter: extra.batteryAfter,
      thermalBefore: extra.thermalBefore,
      thermalAfter: extra.thermalAfter,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.liveTimer) clearTimeout(this.liveTimer);
    for (const q of this.queues.values()) q.length = 0;
    for (const j of this.running.values()) j.controller.abort(new AppError('CANCELLED', 'PocketBench is closing.'));
    await Promise.all([...this.running.values()].map((j) => j.done));
    this.tracker.stop();
  }
}
