/**
 * Builds the backend services and the one handler map that every transport serves.
 * Nothing here imports `electron`: the desktop shell passes in what only it can do (native dialogs).
 */
import type { Methods } from '../../src-shared/contract';
import type { Handlers } from '../../src-shared/rpc';
import type { AppStatus, BackendInfo, AdbStatus } from '../../src-shared/types';
import { Store } from '../store';
import { probeAdb } from '../devices/adb-status';
import { acquireDataLock } from './data-lock';
import { EventBus } from './events';
import { compareHandlers } from './compare-handlers';
import { compressHandlers } from '../compress/handlers';
import { searchHandlers } from '../compress/search/handlers';
import { devicesHandlers } from '../devices/handlers';
import { engineHandlers } from './engine-handlers';
import { exportHandlers } from '../export/handlers';
import { coreHandlers } from './core-handlers';
import { pipelineHandlers } from '../pipeline/handlers';
import type { CallContext, HostDeps, HostOptions } from './context';
import { type AppPaths, resolvePaths } from './paths';
import { openStore } from './open-store';
import { APP_VERSION } from './version';
import { defaultTaskEntry, TaskPool } from '../tasks/pool';

export type { CallContext, FileDialogOptions, HostOptions } from './context';

export interface Host {
  readonly handlers: Handlers<Methods, CallContext>;
  readonly bus: EventBus;
  readonly store: Store;
  readonly paths: AppPaths;
  /** The task workers that run heavy requests (tests read `spawned`). */
  readonly tasks: TaskPool;
  status(): AppStatus;
  close(): Promise<void>;
}

export function createHost(opts: HostOptions): Host {
  const paths = resolvePaths(opts.dataDir);
  // Before anything touches the runs: marking interrupted runs is only right for the folder's owner.
  const lock = acquireDataLock(paths.dataDir, opts.transport === 'electron' ? 'the PocketBench app' : 'pocketbench serve');
  let store: Store;
  try {
    store = openStore(paths);
  } catch (err) {
    lock.release();
    throw err;
  }
  const bus = new EventBus();
  const interrupted = store.runs.markInterrupted();
  store.benchmarks.markInterrupted();
  if (interrupted) console.warn(`${interrupted} run(s) were interrupted by the last shutdown; they can be resumed.`);

  let backend: BackendInfo = { name: null, threads: null, note: 'loading' };
  let adb: AdbStatus = { state: 'unknown' };

  const status = (): AppStatus => ({
    version: APP_VERSION,
    transport: opts.transport,
    nativeDialogs: Boolean(opts.pickFiles),
    backend,
    adb,
    dbPath: store.db.name,
    dataDir: paths.dataDir,
    platform: `${process.platform}-${process.arch}`,
  });
  const publishStatus = () => bus.emit('app.status', status());

  // Background probes: the window opens at once and the status bar fills in when they answer.
  const refreshAdb = async () => {
    adb = await probeAdb();
    publishStatus();
  };
  void refreshAdb();
  const tasks = new TaskPool({
    paths,
    entry: defaultTaskEntry(opts.builtDir),
    spawn: opts.spawnWorker,
    limitsMs: opts.taskLimitsMs,
    onEvent: (name, payload) => bus.emit(name as never, payload as never),
  });
  if (opts.warmBackend !== false) {
    // In a task worker (it also starts the first one, so the wizard's first summary is quick). Where
    // tfjs-node is installed, the first start times it against wasm on the demo's model (recorded in
    // the data folder; later starts read the record) and the status bar says why.
    tasks.run('backend.probe', undefined).then(
      (info) => {
        backend = info;
        publishStatus();
      },
      (err: unknown) => {
        backend = { name: null, threads: null, note: `No compute backend could start: ${(err as Error).message}` };
        publishStatus();
      },
    );
  }

  const closers: (() => void | Promise<void>)[] = [];
  const runDeleteHooks: ((runId: number) => void | Promise<void>)[] = [];
  closers.push(() => tasks.close());
  const deps: HostDeps = {
    store,
    bus,
    paths,
    opts,
    tasks,
    status,
    patchStatus(patch) {
      if (patch.backend) backend = patch.backend;
      if (patch.adb) adb = patch.adb;
      publishStatus();
    },
    onClose: (fn) => closers.push(fn),
    onRunDelete: (fn) => runDeleteHooks.push(fn),
    async beforeRunDelete(runId) {
      for (const fn of runDeleteHooks) await fn(runId);
    },
  };
  // One factory per area; the type below makes the compiler check that every method has a handler.
  const handlers: Handlers<Methods, CallContext> = {
    ...coreHandlers(deps),
    ...pipelineHandlers(deps),
    ...compareHandlers(deps),
    ...engineHandlers(deps),
    ...devicesHandlers(deps),
    ...exportHandlers(deps),
    ...compressHandlers(deps),
    ...searchHandlers(deps),
  };

  return {
    handlers,
    bus,
    store,
    paths,
    tasks,
    status,
    async close() {
      for (const fn of closers.reverse()) {
        try {
          await fn();
        } catch (err) {
          console.error('cleanup failed', err);
        }
      }
      store.close();
      lock.release();
    },
  };
}
