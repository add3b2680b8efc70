/** Handlers for the core area: status, history, settings, files. */
import path from 'node:path';
import { AppError } from '../../src-shared/errors';
import type { coreMethods } from '../../src-shared/contract/core';
import type { Handlers } from '../../src-shared/rpc';
import { runReportHtml } from '../report/html';
import { readArtifactFile, removeArtifactFiles, saveArtifactFile, statPath, writeUpload } from './files';
import type { CallContext, HostDeps } from './context';

export function coreHandlers(deps: HostDeps): Handlers<typeof coreMethods, CallContext> {
  const { store, bus, paths, opts } = deps;
  const status = deps.status;
  return {
    'app.status': () => status(),

    'runs.list': (a) => store.runs.list(a),
    'runs.get': ({ id }) => store.runs.get(id) ?? notFound('run', id),
    'runs.report': ({ id }) => {
      const run = store.runs.get(id) ?? notFound('run', id);
      return { filename: `pocketbench-run-${id}-${run.name.replace(/[^\w.-]+/g, '_').slice(0, 60)}.html`, html: runReportHtml(store, run) };
    },
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
    'artifacts.read': ({ id }) => readArtifactFile(store.artifacts.get(id) ?? notFound('artifact', id)),
    'artifacts.saveAs': ({ id, path: dest }) => saveArtifactFile(store.artifacts.get(id) ?? notFound('artifact', id), dest),
    'files.showInFolder': ({ path: p }) => {
      if (!opts.showInFolder) throw new AppError('UNSUPPORTED', 'Showing a file in its folder works only in the desktop app; in the browser, download the file instead.');
      if (!statPath(p).exists) throw new AppError('NOT_FOUND', `Nothing exists at ${p} any more.`);
      opts.showInFolder(p);
      return { shown: true };
    },
    'files.stat': ({ path: p }) => statPath(p),
    'files.upload': (a) => writeUpload(paths.uploadsDir, a.uploadId, a.relativePath, a.base64, a.append),
  };
}

export function notFound(what: string, id: number): never {
  throw new AppError('NOT_FOUND', `There is no ${what} #${id}; it may have been deleted. Refresh the list.`);
}
