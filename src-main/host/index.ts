/**
 * Builds the backend services and the one handler map that every transport serves.
 * Nothing here imports `electron`: the desktop shell passes in what only it can do (native dialogs).
 */
import path from 'node:path';
import { AppError } from '../../src-shared/errors';
import type { Methods } from '../../src-shared/contract';
import type { Handlers } from '../../src-shared/rpc';
import type { AppStatus, BackendInfo, AdbStatus } from '../../src-shared/types';
import { Store } from '../store';
import { probeAdb } from '../devices/adb-status';
import { EventBus } from './events';
import { removeArtifactFiles, statPath, writeUpload } from './files';
import { type AppPaths, resolvePaths } from './paths';
import { APP_VERSION } from './version';

export interface CallContext {
  transport: 'electron' | 'websocket';
}

export interface FileDialogOptions {
  title?: string;
  directory: boolean;
  multiple: boolean;
  save: boolean;
  defaultName?: string;
  filters?: { name: string; extensions: string[] }[];
}

export interface HostOptions {
  transport: 'electron' | 'websocket';
  /** Base data folder (Electron's userData); env vars still win. */
  dataDir?: string;
  /** Native file dialog, only in the desktop app. */
  pickFiles?: (opts: FileDialogOptions) => Promise<string[]>;
  /** Load the compute backend in the background at start (default true). */
  warmBackend?: boolean;
}

export interface Host {
  readonly handlers: Handlers<Methods, CallContext>;
  readonly bus: EventBus;
  readonly store: Store;
  readonly paths: AppPaths;
  status(): AppStatus;
  close(): Promise<void>;
}

export function createHost(opts: HostOptions): Host {
  const paths = resolvePaths(opts.dataDir);
  const store = new Store(paths.dbPath);
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
    dbPath: paths.dbPath,
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
  if (opts.warmBackend !== false) {
    void import('../tf')
      .then((m) => m.initBackend())
      .then(({ info }) => {
        backend = info;
        publishStatus();
      })
      .catch((err) => {
        backend = { name: null, threads: null, note: `No compute backend could start: ${(err as Error).message}` };
        publishStatus();
      });
  }

  const handlers: Handlers<Methods, CallContext> = {
    'app.status': () => status(),

    'runs.list': (a) => store.runs.list(a),
    'runs.get': ({ id }) => store.runs.get(id) ?? notFound('run', id),
    'runs.delete': ({ id }) => {
      const { found, orphanedPaths } = store.runs.delete(id);
      if (!found) notFound('run', id);
      const deletedFiles = removeArtifactFiles(paths.dataDir, orphanedPaths);
      bus.emit('runs.changed', { runId: id });
      return { deletedFiles };
    },

    'artifacts.list': (a) => store.artifacts.list(a),
    'artifacts.delete': ({ id }) => {
      const a = store.artifacts.get(id);
      const { found, orphanedPaths } = store.artifacts.delete(id);
      if (!found) notFound('artifact', id);
      const deletedFiles = removeArtifactFiles(paths.dataDir, orphanedPaths);
      if (a?.runId) bus.emit('runs.changed', { runId: a.runId });
      return { deletedFiles };
    },

    'datasets.list': () => store.datasets.list(),
    'devices.list': () => store.devices.list(),
    'benchmarks.list': (a) => store.benchmarks.list(a),

    'settings.get': () => store.settings.all(),
    'settings.set': ({ key, value }) => {
      store.settings.set(key, value);
      return store.settings.all();
    },

    'store.backup': async (a) => {
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const dest = a?.path ? path.resolve(a.path) : path.join(paths.backupsDir, `history-${stamp}.sqlite`);
      if (a?.path && !path.isAbsolute(a.path)) throw new AppError('INVALID_ARGS', 'Give the backup a full path.');
      return store.backup(dest);
    },

    'files.pick': async (a) => {
      if (!opts.pickFiles) {
        throw new AppError('UNSUPPORTED', 'File dialogs exist only in the desktop app. Type the full path, or upload the file.');
      }
      return { paths: await opts.pickFiles(a) };
    },
    'files.stat': ({ path: p }) => statPath(p),
    'files.upload': (a) => writeUpload(paths.uploadsDir, a.uploadId, a.relativePath, a.base64, a.append),
  };

  return {
    handlers,
    bus,
    store,
    paths,
    status,
    async close() {
      store.close();
    },
  };
}

function notFound(what: string, id: number): never {
  throw new AppError('NOT_FOUND', `There is no ${what} #${id}; it may have been deleted. Refresh the list.`);
}
