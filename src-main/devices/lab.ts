/**
 * The device lab: ADB tracking, facts, runners, and one benchmark queue per target. Lives in the
 * host process (the pipeline's profile stage asks it through the worker protocol).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BenchmarkDetail, BenchmarkProgress, LiveDevice, LiveState, QueueEntry, RunnerInfo, SourceConfig, SourceInput, SourceStatus } from '../../src-shared/contract/devices';
import { AppError } from '../../src-shared/errors';
import type { BenchmarkSummary, Delegate, DeviceSummary } from '../../src-shared/types';
import type { EventBus } from '../host/events';
import type { Store } from '../store';
import { Adbc, DisconnectedError } from './adb';
import { serverListening } from './adb-status';
import { AndroidTarget, type AndroidTargetOptions } from './android-target';
import { type CollectedFacts, collectFacts } from './device-facts';
import { ABIS, downloadRunner, officialRunnerUrl, setRunnerFile, sha256File } from './runners';
import { summarizeTrials } from './stats';
import { AdbSource, type LabSource, LOCAL_SOURCE_ID, readSourceConfigs, remoteAdb, sourceConfigFrom, SOURCES_SETTING, StfSource, writeSourceConfigs } from './sources';
import type { StfDevice } from './stf';
import { StfTarget } from './stf-target';
import { type BenchOptions, BenchmarkFailure, type BenchmarkTarget, type TargetResult } from './target';

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
  /** How often a device farm's list is re-read, ms (default 5000). */
  stfPollMs?: number;
  /** How soon a lost ADB server is tried again, ms (default 2000). */
  sourceRetryMs?: number;
}

/** Where a target key's phone is: its source, and the serial and ADB client to reach it now. */
interface Located {
  source: LabSource;
  /** The serial as the source knows it (a farm's own serial). */
  serial: string;
  /** The serial on `adb`'s server (a farm device's connect address while a job holds it). */
  onServer: string;
  adb: Adbc | null;
}

/** Errors that mean "the link to the phone broke": the source itself may be gone. */
const LINK_ERRORS = new Set(['DEVICE_DISCONNECTED', 'DEVICE_NOT_FOUND', 'DEVICE_OFFLINE', 'DEVICE_ABSENT', 'ADB_ERROR', 'DEVICE_TIMEOUT']);

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

const HINTS: Partial<Record<LiveState, string>> = {
  unauthorized: 'Unlock the phone and accept the "Allow USB debugging?" prompt on it.',
  authorizing: 'Unlock the phone and accept the "Allow USB debugging?" prompt on it.',
  connecting: 'Connecting… if it stays like this, check the cable or the address.',
  offline: 'The phone is offline: unplug and replug it (or connect again for a remote one); restart it if that does not help.',
  absent: 'Not connected. Plug it in (or connect it by address) to benchmark on it.',
};

export class DeviceLab {
  readonly adb: Adbc;
  /** This computer's ADB server. */
  readonly local: AdbSource;
  private readonly sources = new Map<string, LabSource>();
  /** Local serials that are farm devices connected for a job → their target key. */
  private readonly connections = new Map<string, string>();
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
    this.local = new AdbSource(LOCAL_SOURCE_ID, "This computer's ADB server", this.adb, this.sourceEvents, true, o.sourceRetryMs);
    this.sources.set(this.local.id, this.local);
    for (const c of readSourceConfigs(o.store.settings.get(SOURCES_SETTING, []), o.dataDir)) this.sources.set(c.id, this.makeSource(c));
  }

  private readonly sourceEvents = {
    device: (source: LabSource, serial: string, state: LiveState, prev: LiveState) => this.onDeviceState(source, serial, state, prev),
    status: (source: LabSource) => this.onSourceStatus(source),
  };

  private makeSource(c: SourceConfig): LabSource {
    if (c.kind === 'adb') return new AdbSource(c.id, c.label, remoteAdb(c.address), this.sourceEvents, false, this.o.sourceRetryMs);
    return new StfSource(c, this.sourceEvents, this.o.stfPollMs, (s, list) => this.storeFarmFacts(s, list));
  }

  /**
   * Start tracking (once). Rejects with a clear AppError when the local adb is missing or not
   * allowed to start; other sources start beside it and retry by themselves when unreachable.
   */
  start(): Promise<void> {
    for (const s of this.sources.values()) if (s !== this.local) this.startSource(s);
    this.started ??= this.local.start().catch((err) => {
      this.started = null;
      throw err;
    });
    return this.started;
  }

  private readonly sourcesStarted = new Set<LabSource>();
  private startSource(s: LabSource): void {
    if (this.sourcesStarted.has(s) || this.closed) return;
    this.sourcesStarted.add(s);
    s.start().catch(() => undefined);
  }

  private keyOf(source: LabSource, serial: string): string {
    if (source === this.local) return this.connections.get(serial) ?? serial;
    return source.keyOf(serial);
  }

  /** The source, serial and ADB client of a target key (a farm device has a client only while connected). */
  private locate(key: string): Located {
    for (const s of this.sources.values()) {
      if (s === this.local || !key.startsWith(`${s.id}/`)) continue;
      const serial = key.slice(s.id.length + 1);
      if (s instanceof AdbSource) return { source: s, serial, onServer: serial, adb: s.adb };
      const url = [...this.connections].find(([, k]) => k === key)?.[0];
      // While a job holds it, a farm device is reached on the local server by its connect address.
      return { source: s, serial, onServer: url ?? serial, adb: url ? this.local.adb : null };
    }
    return { source: this.local, serial: key, onServer: key, adb: this.adb };
  }

  private stateOf(key: string): LiveState {
    const { source, serial } = this.locate(key);
    return source.deviceState(serial);
  }

  private sourceLost(source: LabSource): AppError {
    return new AppError('SOURCE_LOST', `${source.message ?? `The device source ${source.label} (${source.address}) went away.`} The benchmark stopped there; what it measured before is kept.`, { source: source.id });
  }

  private onDeviceState(source: LabSource, serial: string, state: LiveState, prev: LiveState): void {
    const key = this.keyOf(source, serial);
    const farmLink = source === this.local && this.connections.has(serial);
    if (state === 'device' && !farmLink && source.kind !== 'stf' && !this.facts.has(key)) void this.readFacts(key).catch(() => undefined);
    // A farm's own listing does not stop a job: the ADB link to the farm device does (farmLink),
    // once it was up (it passes through connecting/offline states while `adb connect` settles).
    if (state !== 'device' && source.kind !== 'stf' && (!farmLink || prev === 'device')) {
      const job = this.running.get(key);
      const why = source.state === 'unreachable' ? this.sourceLost(source) : new DisconnectedError(farmLink ? key : serial, 'the benchmark');
      if (job && !job.controller.signal.aborted) job.controller.abort(why);
    }
    this.publishLive();
  }

  private onSourceStatus(source: LabSource): void {
    // A farm's REST API failing does not stop a job: its ADB link to the device decides (onDeviceState).
    if (source.state === 'unreachable' && !(source instanceof StfSource)) {
      for (const [key, job] of this.running) {
        if (this.locate(key).source === source && !job.controller.signal.aborted) job.controller.abort(this.sourceLost(source));
      }
    }
    if (!this.closed) this.o.bus.emit('sources.status', this.sourcesStatus());
    this.publishLive();
  }

  // ---- sources ----

  sourcesStatus(): SourceStatus[] {
    return [...this.sources.values()].map((s) => s.status());
  }

  private saveSources(): void {
    const configs = [...this.sources.values()].flatMap((s): SourceConfig[] => (s instanceof StfSource ? [s.config] : s instanceof AdbSource && s.kind === 'adb' ? [{ id: s.id, kind: 'adb', label: s.label, address: s.address }] : []));
    this.o.store.settings.set(SOURCES_SETTING, writeSourceConfigs(configs, this.o.dataDir));
  }

  /** Add a remote ADB server or an STF farm; kept in settings and tracked from now on. */
  async addSource(input: SourceInput): Promise<SourceStatus[]> {
    const c = sourceConfigFrom(input);
    if (this.sources.has(c.id)) throw new AppError('CONFLICT', `${c.id} is already a device source.`);
    if (c.kind === 'adb' && ['127.0.0.1', 'localhost'].includes(remoteAdb(c.address).host) && remoteAdb(c.address).port === this.adb.port) {
      throw new AppError('CONFLICT', `${c.address} is this computer's own ADB server, which is always a source. A tunnelled lab machine needs its own local port (ssh -L 5038:127.0.0.1:5037 lab-host, then 127.0.0.1:5038).`);
    }
    const s = this.makeSource(c);
    this.sources.set(c.id, s);
    this.saveSources();
    this.startSource(s);
    // A farm's first listing (or its refusal) is worth waiting for: the user sees the result at once.
    if (s instanceof StfSource) await s.poll().catch(() => undefined);
    this.onSourceStatus(s);
    return this.sourcesStatus();
  }

  removeSource(id: string): SourceStatus[] {
    const s = this.sources.get(id);
    if (!s) throw new AppError('NOT_FOUND', `There is no device source ${id}.`);
    if (s === this.local) throw new AppError('UNSUPPORTED', "This computer's ADB server is always a source.");
    for (const [key, job] of this.running) if (this.locate(key).source === s) job.controller.abort(new AppError('CANCELLED', `The device source ${s.label} was removed.`));
    s.stop();
    this.sources.delete(id);
    this.sourcesStarted.delete(s);
    this.saveSources();
    this.o.bus.emit('sources.status', this.sourcesStatus());
    this.publishLive();
    return this.sourcesStatus();
  }

  /** A farm's facts go to the history the first time a device is listed (the phone's own are read once it is connected). */
  private storeFarmFacts(source: StfSource, list: StfDevice[]): void {
    let changed = false;
    for (const d of list) {
      const key = source.keyOf(d.serial);
      if (this.o.store.devices.bySerial(key)?.model) continue;
      const sdk = Number(d.sdk);
      this.o.store.devices.upsert(key, 'android', {
        manufacturer: d.manufacturer ?? null,
        model: d.marketName || d.model || null,
        androidVersion: d.version ?? null,
        sdk: Number.isInteger(sdk) && sdk > 0 ? sdk : null,
        abis: d.abi ? [d.abi] : [],
        soc: d.cpuPlatform ?? null,
        facts: { source: { id: source.id, kind: source.kind, label: source.label }, stf: { provider: d.provider?.name ?? null, display: d.display ?? null } },
      });
      changed = true;
    }
    if (changed) this.o.bus.emit('devices.changed', this.o.store.devices.list());
  }

  private async waitReady(serial: string, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (signal.aborted) throw signal.reason instanceof AppError ? signal.reason : new AppError('CANCELLED', 'Cancelled.');
      await this.local.tracker.refresh().catch(() => undefined);
      const state = this.local.deviceState(serial);
      if (state === 'device') return;
      if (state === 'unauthorized') throw new AppError('DEVICE_UNAUTHORIZED', `The farm device at ${serial} has not authorized this computer. Add this computer's ADB public key (~/.android/adbkey.pub) in STF under Settings → Keys → ADB keys, then run again.`);
      if (Date.now() > deadline) throw new AppError('DEVICE_TIMEOUT', `The farm device at ${serial} was still ${state} 30 s after \`adb connect\`. Check that this computer reaches the farm's provider on that port.`);
      await new Promise((r) => setTimeout(r, 200));
    }
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
    const { source, onServer, adb } = this.locate(serial);
    if (!adb) return Promise.reject(new AppError('STF_NOT_RESERVED', `${serial} is a farm device: its facts are read while it is reserved for a benchmark.`));
    p = collectFacts(adb, onServer)
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
          facts: { cores: f.cores, clusters: f.clusters, bigCores: f.bigCores, conditions: f.conditions, unavailable: f.unavailable, source: { id: source.id, kind: source.kind, label: source.label } },
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
        source: null,
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
    for (const source of this.sources.values()) {
      for (const { serial, state } of source.devices()) {
        if (source === this.local && this.connections.has(serial)) continue;
        const key = source.keyOf(serial);
        seen.add(key);
        out.push(this.liveAndroid(key, state, source, serial));
      }
    }
    // Phones seen before but not attached now: listed so their history stays reachable.
    for (const d of this.o.store.devices.list()) {
      if (d.kind === 'android' && !seen.has(d.serial)) out.push(this.liveAndroid(d.serial, 'absent', null, d.serial));
    }
    return out;
  }

  private liveAndroid(key: string, state: LiveState, source: LabSource | null, onSource: string): LiveDevice {
    const serial = key;
    const f = this.facts.get(serial);
    const device = this.o.store.devices.bySerial(serial);
    const stored = device?.facts?.source as LiveDevice['source'] | undefined;
    const sourceHint = source instanceof StfSource ? source.hint(onSource) : source?.state === 'unreachable' && state === 'offline' ? source.message : null;
    const abis = f?.abis ?? device?.abis ?? [];
    const runner = abis.map((a) => this.o.store.runners.get(a)).find(Boolean) ?? null;
    const cond = f?.conditions;
    return {
      key: serial,
      kind: 'android',
      label: [device?.manufacturer, device?.model].filter(Boolean).join(' ') || onSource,
      state,
      source: source ? { id: source.id, kind: source.kind, label: source.label } : (stored ?? null),
      hint: sourceHint ?? HINTS[state] ?? (state === 'device' && abis.length && !runner ? `No benchmark_model for ${abis[0]} yet: set its file or download it under Runners.` : null),
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

  /** `adb connect` a phone on this computer's ADB server. */
  async connect(host: string, port: number): Promise<string> {
    await this.start();
    const msg = await this.adb.connect(host, port);
    if (/unable|failed|cannot/i.test(msg)) throw new AppError('CONNECT_FAILED', `adb could not connect to ${host}:${port}: ${msg.trim()}. Check the address and that the phone listens there.`);
    this.publishLive();
    return `${host}:${port}`;
  }

  async refreshFacts(serial: string): Promise<DeviceSummary> {
    await this.start();
    const state = this.stateOf(serial);
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
    const { source, serial, adb } = this.locate(key);
    if (source instanceof StfSource) {
      return new StfTarget(key, source, serial, {
        store: this.o.store,
        local: this.local,
        setConnection: (url, k) => (k ? this.connections.set(url, k) : this.connections.delete(url)),
        facts: (k) => this.readFacts(k),
        waitReady: (url, signal) => this.waitReady(url, signal),
        android: this.o.android,
      });
    }
    return new AndroidTarget(key, adb ?? this.adb, this.o.store, () => this.readFacts(key), this.o.android, serial);
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
    if (req.artifactId != null) {
      // The figures are filed under that artifact (Compare, Trends): they must be its bytes. A shared
      // history's path may name another file on this computer (another machine wrote the row, or
      // the file was replaced since).
      const artifact = this.o.store.artifacts.get(req.artifactId);
      if (artifact?.format === 'tflite' && artifact.contentHash !== modelSha256) {
        throw new AppError(
          'INVALID_ARGS',
          `${req.modelPath} is not the file of artifact #${req.artifactId} "${artifact.name}" (its content changed since it was stored, or the history names a file from another computer). Export the model again, or benchmark the file by its path without linking it.`,
        );
      }
    }
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
      if (job.target instanceof AndroidTarget || job.target instanceof StfTarget) {
        const { source } = this.locate(job.target.key);
        // Just started (a CLI run, the app's first benchmark): let the source list its devices first.
        await source.whenSettled();
        if (source.state === 'unreachable') throw this.sourceLost(source);
        const state = this.stateOf(job.target.key);
        if (job.target instanceof AndroidTarget && state !== 'device') throw new AppError(`DEVICE_${state.toUpperCase()}`, `${job.target.key} is ${state === 'absent' ? 'not connected' : state}. ${HINTS[state] ?? ''}`.trim());
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
      // A broken link may be the whole source going away (a killed server, a dropped SSH tunnel): say so.
      else if (LINK_ERRORS.has(error.code) && job.target.kind === 'android') error = (await this.lostSource(job.target.key)) ?? error;
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
    for (const s of this.sources.values()) s.stop();
  }

  /** The source-lost error when the ADB server behind a key no longer answers, else null. */
  private async lostSource(key: string): Promise<AppError | null> {
    const { source } = this.locate(key);
    const adbSource = source instanceof StfSource ? this.local : (source as AdbSource);
    if (adbSource.state === 'unreachable') return this.sourceLost(adbSource);
    if (await serverListening(adbSource.adb.port, adbSource.adb.host)) return null;
    // The tracker may have noticed while we probed: its words (and state) win.
    if ((adbSource.state as SourceStatus['state']) === 'unreachable') return this.sourceLost(adbSource);
    const what = adbSource.kind === 'local' ? `This computer's ADB server (${adbSource.address})` : `The ADB server ${adbSource.label} (${adbSource.address})`;
    adbSource.message = `${what} stopped answering during the benchmark. ${adbSource.kind === 'local' ? 'Start it again with `adb start-server`' : 'Check the SSH tunnel and that adb still runs on the lab machine'}.`;
    return this.sourceLost(adbSource);
  }
}
