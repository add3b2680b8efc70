/**
 * The pipeline service (main process): validates recipes, queues runs (one at a time: training
 * already uses every core), starts a worker per run, relays its progress, and handles cancel,
 * crash (-> interrupted) and resume.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { RunProgress } from '../../src-shared/contract/pipeline';
import { AppError, toErrorInfo } from '../../src-shared/errors';
import type { BackendInfo } from '../../src-shared/types';
import { type RecipeIssue, validateRecipe } from '../../src-shared/recipe';
import type { EventBus } from '../host/events';
import type { AppPaths } from '../host/paths';
import { APP_VERSION } from '../host/version';
import type { Store } from '../store';
import { type FromWorker, HEARTBEAT_MS, type ToWorker } from './protocol';
import { cancelFlagPath, checkpointRoot, NOT_RUN } from './runner';
import { type SpawnWorker, type WorkerHandle, forkWorker, typedWorker } from './worker-process';

export interface PipelineOptions {
  store: Store;
  bus: EventBus;
  paths: AppPaths;
  workerEntry: string;
  spawn?: SpawnWorker;
  /** Module registering stage runners (tests use their own). */
  stagesModule?: string;
  /** How long a cancelled worker gets to stop cleanly before it is killed. */
  cancelGraceMs?: number;
  /**
   * A worker silent this long (no heartbeat, no progress: its event loop is stuck) is stopped and its
   * run left resumable. Long, since one synchronous training step may take a while on a slow machine.
   */
  stuckAfterMs?: number;
  /** Services stages may ask the host for (worker `host-request`), by name. */
  hostServices?: Record<string, HostService>;
  /** The backend a run trains on, and why (for the status bar). */
  onBackend?: (info: BackendInfo) => void;
}

/** Work a stage asks the host process to do (e.g. the device lab queuing benchmarks). */
export type HostService = (payload: unknown, ctx: { signal: AbortSignal; progress(p: unknown): void }) => Promise<unknown>;

interface Active {
  runId: number;
  worker: WorkerHandle;
  cancelRequested: boolean;
  /** Stopped for not answering (the watchdog), not by the user or a crash. */
  stuck: boolean;
  finished: Promise<void>;
}

export function recipeHash(recipe: unknown): string {
  return crypto.createHash('sha256').update(stableStringify(recipe)).digest('hex');
}

function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export class PipelineService {
  private readonly queue: { runId: number; resume: boolean }[] = [];
  private active: Active | null = null;
  private readonly latest = new Map<number, RunProgress>();
  private closed = false;

  constructor(private readonly opts: PipelineOptions) {}

  start(recipeInput: unknown): { runId: number; warnings: RecipeIssue[] } {
    const checked = validateRecipe(recipeInput);
    if (!checked.ok) {
      throw new AppError('INVALID_RECIPE', `The recipe has problems: ${checked.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, {
        errors: checked.errors,
      });
    }
    const recipe = checked.recipe;
    const runId = this.opts.store.runs.create({
      name: recipe.name,
      recipe,
      recipeHash: recipeHash(recipe),
      seed: recipe.seed,
      appVersion: APP_VERSION,
      status: 'queued',
      stages: recipe.stages.map((s) => ({ kind: s.kind, params: s })),
    });
    this.opts.bus.emit('runs.changed', { runId });
    this.queue.push({ runId, resume: false });
    this.pump();
    return { runId, warnings: checked.warnings };
  }

  cancel(runId: number): boolean {
    const qi = this.queue.findIndex((q) => q.runId === runId);
    if (qi >= 0) {
      this.queue.splice(qi, 1);
      this.opts.store.runs.setStatus(runId, 'cancelled', { error: 'Cancelled before it started.' });
      this.opts.bus.emit('runs.changed', { runId });
      return true;
    }
    const a = this.active;
    if (!a || a.runId !== runId) return false;
    a.cancelRequested = true;
    // The file is seen by a stage in a loop that never yields to read the message (tf/cancel.ts).
    try {
      fs.mkdirSync(checkpointRoot(this.opts.paths.dataDir, runId), { recursive: true });
      fs.writeFileSync(cancelFlagPath(this.opts.paths.dataDir, runId), new Date().toISOString());
    } catch {
      // A full or read-only disk: the message below still stops it, at the next point that yields.
    }
    a.worker.send({ type: 'cancel' });
    // A stage stops at its next batch; if it does not (stuck in a long kernel), stop the process.
    const timer = setTimeout(() => a.worker.kill(), this.opts.cancelGraceMs ?? 15_000);
    void a.finished.then(() => clearTimeout(timer));
    return true;
  }

  /**
   * Before a run is deleted: takes it off the queue, stops its worker at once (nothing of the run
   * needs a clean stop) and waits for it to exit, then removes its checkpoints.
   */
  async forget(runId: number): Promise<void> {
    const qi = this.queue.findIndex((q) => q.runId === runId);
    if (qi >= 0) this.queue.splice(qi, 1);
    const a = this.active;
    if (a && a.runId === runId) {
      a.cancelRequested = true;
      a.worker.kill();
      await a.finished;
    }
    this.latest.delete(runId);
    fs.rmSync(checkpointRoot(this.opts.paths.dataDir, runId), { recursive: true, force: true });
  }

  resume(runId: number): boolean {
    const run = this.opts.store.runs.get(runId);
    if (!run) throw new AppError('NOT_FOUND', `There is no run #${runId}.`);
    if (!['interrupted', 'failed', 'cancelled'].includes(run.status)) {
      throw new AppError('CONFLICT', `Run #${runId} is ${run.status}; only interrupted, failed or cancelled runs can be resumed.`);
    }
    this.opts.store.runs.setStatus(runId, 'queued', { error: null });
    this.opts.bus.emit('runs.changed', { runId });
    this.queue.push({ runId, resume: true });
    this.pump();
    return true;
  }

  progress(): RunProgress[] {
    return [...this.latest.values()];
  }

  /** Resolves when nothing is running or queued (tests, CLI). */
  async idle(): Promise<void> {
    while (this.active || this.queue.length) await (this.active?.finished ?? new Promise((r) => setTimeout(r, 10)));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    const a = this.active;
    if (a) {
      a.worker.kill();
      await a.finished;
    }
  }

  private pump(): void {
    if (this.active || this.closed) return;
    const next = this.queue.shift();
    if (!next) return;
    const { store, bus, paths } = this.opts;
    const worker = typedWorker<ToWorker, FromWorker>(this.opts.spawn ?? forkWorker, this.opts.workerEntry, 'PocketBench pipeline');
    let done = false;
    let resolveFinished!: () => void;
    const active: Active = { runId: next.runId, worker, cancelRequested: false, stuck: false, finished: new Promise((r) => (resolveFinished = r)) };
    this.active = active;
    const hostCalls = new Map<number, AbortController>();
    const stuckAfterMs = this.opts.stuckAfterMs ?? 5 * 60_000;
    let lastHeard = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - lastHeard <= stuckAfterMs) return;
      active.stuck = true;
      worker.kill();
    }, Math.min(HEARTBEAT_MS, stuckAfterMs / 2));

    worker.onMessage((msg) => {
      lastHeard = Date.now();
      switch (msg.type) {
        case 'host-request': {
          const service = this.opts.hostServices?.[msg.service];
          const ac = new AbortController();
          hostCalls.set(msg.requestId, ac);
          const reply = (r: { ok: true; result: unknown } | { ok: false; error: ReturnType<typeof toErrorInfo> }) => {
            hostCalls.delete(msg.requestId);
            worker.send({ type: 'host-reply', requestId: msg.requestId, ...r } as ToWorker);
          };
          if (!service) {
            reply({ ok: false, error: { code: 'UNSUPPORTED', message: `This PocketBench has no "${msg.service}" service for pipeline stages.` } });
            break;
          }
          service(msg.payload, { signal: ac.signal, progress: (p) => worker.send({ type: 'host-progress', requestId: msg.requestId, progress: p }) }).then(
            (result) => reply({ ok: true, result }),
            (err: unknown) => reply({ ok: false, error: toErrorInfo(err) }),
          );
          break;
        }
        case 'host-cancel':
          hostCalls.get(msg.requestId)?.abort();
          break;
        case 'progress':
          this.latest.set(msg.progress.runId, msg.progress);
          bus.emit('run.progress', msg.progress);
          break;
        case 'changed':
          bus.emit('runs.changed', { runId: next.runId });
          break;
        case 'log':
          bus.emit('run.log', { runId: next.runId, level: msg.level, message: msg.message });
          break;
        case 'backend':
          this.opts.onBackend?.(msg.info);
          break;
        case 'done':
          done = true;
          break;
      }
    });
    worker.onExit((code, signal) => {
      clearInterval(watchdog);
      for (const ac of hostCalls.values()) ac.abort();
      this.latest.delete(next.runId);
      if (!done) {
        // The worker died without finishing: keep everything it stored, mark the run resumable.
        const cur = store.runs.get(next.runId);
        if (cur && (cur.status === 'running' || cur.status === 'queued')) {
          const why = active.cancelRequested
            ? 'Cancelled by the user (the worker was stopped). Finished stages are kept; resume to continue.'
            : active.stuck
              ? `The worker stopped answering for ${Math.round(stuckAfterMs / 1000)} s and was stopped. Finished stages and the last checkpoint are kept: resume to continue.`
              : `The worker stopped unexpectedly (${signal ?? `exit code ${code}`}). Finished stages and the last checkpoint are kept: resume to continue.`;
          store.runs.setStatus(next.runId, active.cancelRequested ? 'cancelled' : 'interrupted', { error: why });
          for (const s of cur.stages) if (s.status === 'running') store.runs.updateStage(next.runId, s.index, { status: active.cancelRequested ? 'cancelled' : 'failed', error: why });
          for (const s of cur.stages) if (s.status === 'pending') store.runs.updateStage(next.runId, s.index, { status: 'skipped', error: NOT_RUN });
        }
      }
      bus.emit('runs.changed', { runId: next.runId });
      this.active = null;
      resolveFinished();
      this.pump();
    });
    worker.send({ type: 'start', runId: next.runId, dbPath: store.file, localDbPath: store.opts.localFile, dataDir: paths.dataDir, resume: next.resume, stagesModule: this.opts.stagesModule });
  }
}
