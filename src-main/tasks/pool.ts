/**
 * The host side of task workers: a small pool of worker processes (the pipeline's spawner, so the
 * desktop app uses Electron utility processes) that run CPU-heavy requests (tasks/registry.ts)
 * with a time limit each. A task past its limit, or cancelled, has its worker killed (TF.js and
 * LiteRT kernels cannot be interrupted) and a replacement is started on the next request; the
 * caller gets an error that says what to do. Idle workers exit after `idleMs`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../../src-shared/errors';
import type { AppPaths } from '../host/paths';
import { forkWorker, type SpawnWorker, typedWorker, type WorkerHandle } from '../pipeline/worker-process';
import type { FromTaskWorker, ToTaskWorker } from './protocol';
import type { TaskArgs, TaskName, TaskResult } from './registry';

/** What each task is called in messages, its default time limit, and what to do when it runs out. */
export const TASK_LIMITS: Record<TaskName, { what: string; limitMs: number; advice: string }> = {
  'models.summary': { what: 'Summarising the model', limitMs: 60_000, advice: 'Choose a smaller input shape, width or fewer layers.' },
  'models.capacity': { what: 'The capacity check', limitMs: 60_000, advice: 'Choose a smaller input shape, width or fewer layers.' },
  'models.import': { what: 'Importing the model', limitMs: 5 * 60_000, advice: 'Check that the file is a model PocketBench reads; very large models may need converting to a smaller one first.' },
  'recipes.estimate': {
    what: 'The estimate (it times training steps of each model)',
    limitMs: 2 * 60_000,
    advice: 'Lower the batch size, input resolution or model width; a step this slow would make the run take very long.',
  },
  'datasets.preview': { what: 'Previewing the dataset', limitMs: 2 * 60_000, advice: 'Point at a smaller folder or file, or check that it holds what PocketBench reads.' },
  'export.tflite': { what: 'The export', limitMs: 15 * 60_000, advice: 'Use fewer calibration samples, or export at a precision that needs no calibration (FP32, FP16).' },
  'export.inspect': { what: 'Reading the .tflite file', limitMs: 60_000, advice: 'Check that the file is a .tflite model.' },
  'export.graph': { what: 'Building the model graph', limitMs: 60_000, advice: 'The model may be too large to draw.' },
  'export.import': { what: 'Importing the .tflite file', limitMs: 2 * 60_000, advice: 'Check that the file is a .tflite model.' },
  'export.desktopAccuracy': { what: 'Measuring the accuracy on this computer', limitMs: 30 * 60_000, advice: 'Use a smaller test split.' },
  'host.describe': { what: 'Describing this computer', limitMs: 60_000, advice: 'Try again; if it keeps failing, LiteRT cannot start here.' },
  'host.trial': { what: 'The benchmark on this computer', limitMs: 30 * 60_000, advice: 'Use fewer runs per trial.' },
  'backend.probe': { what: 'Choosing the compute backend', limitMs: 5 * 60_000, advice: 'Restart the app; set POCKETBENCH_BACKEND to skip the probe.' },
};

export interface TaskPoolOptions {
  paths: AppPaths;
  /** The worker entry (defaultTaskEntry). */
  entry: string;
  spawn?: SpawnWorker;
  /** Workers running at once (default 2: a long estimate does not hold up a summary). */
  size?: number;
  /** An idle worker exits after this long (default 60 s). */
  idleMs?: number;
  /** Time limits that replace the defaults (tests, settings). */
  limitsMs?: Partial<Record<TaskName, number>>;
  /** Events a task sends to every UI. */
  onEvent?: (name: string, payload: unknown) => void;
}

export interface RunTaskOptions {
  signal?: AbortSignal;
  onProgress?: (p: unknown) => void;
}

interface Job {
  id: number;
  name: TaskName;
  args: unknown;
  opts: RunTaskOptions;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

interface Slot {
  worker: WorkerHandle<ToTaskWorker, FromTaskWorker>;
  job: Job | null;
  exited: boolean;
  idleTimer: NodeJS.Timeout | null;
  /** Why this worker is being stopped (the running job's error). */
  stopping: AppError | null;
}

export class TaskPool {
  private readonly slots = new Set<Slot>();
  private readonly waiting: Job[] = [];
  private nextId = 1;
  private closed = false;
  /** Workers started so far (tests check that validation refused a request before any started). */
  spawned = 0;

  constructor(private readonly opts: TaskPoolOptions) {}

  run<N extends TaskName>(name: N, args: TaskArgs<N>, opts: RunTaskOptions = {}): Promise<TaskResult<N>> {
    if (this.closed) return Promise.reject(new AppError('CLOSED', 'PocketBench is shutting down.'));
    if (opts.signal?.aborted) return Promise.reject(cancelled(name));
    return new Promise((resolve, reject) => {
      const job: Job = { id: this.nextId++, name, args, opts, resolve: resolve as (v: unknown) => void, reject };
      this.waiting.push(job);
      opts.signal?.addEventListener('abort', () => this.abort(job, cancelled(name)), { once: true });
      this.pump();
    });
  }

  limitMs(name: TaskName): number {
    return this.opts.limitsMs?.[name] ?? TASK_LIMITS[name].limitMs;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.waiting.splice(0)) j.reject(new AppError('CLOSED', 'PocketBench is shutting down.'));
    const exits = [...this.slots].map((s) => this.stop(s, new AppError('CLOSED', 'PocketBench is shutting down.')));
    await Promise.all(exits);
  }

  private pump(): void {
    while (this.waiting.length) {
      let slot = [...this.slots].find((s) => !s.job && !s.exited && !s.stopping);
      if (!slot) {
        if (this.slots.size >= (this.opts.size ?? 2)) return;
        slot = this.spawn();
      }
      this.assign(slot, this.waiting.shift()!);
    }
  }

  private spawn(): Slot {
    const worker = typedWorker<ToTaskWorker, FromTaskWorker>(this.opts.spawn ?? forkWorker, this.opts.entry, 'PocketBench tasks');
    this.spawned++;
    const slot: Slot = { worker, job: null, exited: false, idleTimer: null, stopping: null };
    this.slots.add(slot);
    worker.onMessage((msg) => {
      if (msg.type === 'event') return this.opts.onEvent?.(msg.name, msg.payload);
      const job = slot.job;
      if (!job || msg.id !== job.id) return;
      if (msg.type === 'progress') return job.opts.onProgress?.(msg.progress);
      this.finish(slot, job);
      if (msg.ok) job.resolve(msg.result);
      else job.reject(AppError.fromInfo(msg.error));
    });
    worker.onExit((code, signal) => {
      slot.exited = true;
      this.slots.delete(slot);
      if (slot.idleTimer) clearTimeout(slot.idleTimer);
      const job = slot.job;
      if (job) {
        slot.job = null;
        const t = TASK_LIMITS[job.name];
        job.reject(
          slot.stopping ??
            new AppError(
              'TASK_FAILED',
              `${t.what} stopped unexpectedly (the worker process ended with ${signal ?? `exit code ${code}`}; it may have run out of memory). Nothing was changed. ${t.advice}`,
              { task: job.name },
            ),
        );
      }
      this.pump();
    });
    return slot;
  }

  private assign(slot: Slot, job: Job): void {
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    slot.idleTimer = null;
    slot.job = job;
    const limit = this.limitMs(job.name);
    const timer = setTimeout(() => {
      if (slot.job !== job) return;
      const t = TASK_LIMITS[job.name];
      void this.stop(
        slot,
        new AppError('TIMEOUT', `${t.what} took longer than ${formatLimit(limit)} and was stopped, so the app stays responsive. ${t.advice}`, {
          task: job.name,
          limitMs: limit,
        }),
      );
    }, limit);
    timer.unref();
    const clear = () => clearTimeout(timer);
    job.resolve = chain(job.resolve, clear);
    job.reject = chain(job.reject, clear);
    slot.worker.send({ type: 'task', id: job.id, name: job.name, args: job.args, paths: this.opts.paths });
  }

  private finish(slot: Slot, job: Job): void {
    if (slot.job !== job) return;
    slot.job = null;
    slot.idleTimer = setTimeout(() => void this.stop(slot, null), this.opts.idleMs ?? 60_000);
    slot.idleTimer.unref();
    this.pump();
  }

  private abort(job: Job, err: AppError): void {
    const qi = this.waiting.indexOf(job);
    if (qi >= 0) {
      this.waiting.splice(qi, 1);
      job.reject(err);
      return;
    }
    const slot = [...this.slots].find((s) => s.job === job);
    if (slot) void this.stop(slot, err);
  }

  /** Kills a worker (its job, if any, fails with `why`) and resolves when it has exited. */
  private stop(slot: Slot, why: AppError | null): Promise<void> {
    if (slot.exited) return Promise.resolve();
    slot.stopping ??= why ?? new AppError('CLOSED', 'The task worker was stopped.');
    const exited = new Promise<void>((r) => slot.worker.onExit(() => r()));
    slot.worker.kill();
    return exited;
  }
}

function chain<T extends unknown[]>(fn: (...a: T) => void, before: () => void): (...a: T) => void {
  return (...a) => {
    before();
    fn(...a);
  };
}

function cancelled(name: TaskName): AppError {
  return new AppError('CANCELLED', `${TASK_LIMITS[name].what} was cancelled.`);
}

function formatLimit(ms: number): string {
  return ms >= 60_000 && ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 100) / 10} s`;
}

/** The built task worker next to the entry bundle, or the TypeScript source when running from sources. */
export function defaultTaskEntry(builtDir?: string): string {
  if (builtDir) {
    const built = path.join(builtDir, 'task-worker.js');
    if (fs.existsSync(built)) return built;
  }
  return path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker-main.ts');
}
