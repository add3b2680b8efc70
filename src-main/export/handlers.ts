/** Handlers for the export contract area (.tflite export, inspect, import, desktop accuracy, run on this computer). */
import { AppError } from '../../src-shared/errors';
import type { exportMethods } from '../../src-shared/contract/export';
import type { Handlers } from '../../src-shared/rpc';
import { benchmarkArtifactOnHost, hostDevice } from '../devices/host-runner';
import type { CallContext, HostDeps } from '../host/context';
import { initBackend } from '../tf';
import { inspectTflite } from './inspect';
import { exportModelArtifact, importTfliteArtifact, recordDesktopAccuracy } from './service';

export function exportHandlers(deps: HostDeps): Handlers<typeof exportMethods, CallContext> {
  const { store, paths } = deps;
  return {
    'export.tflite': async (a) => {
      await initBackend();
      const { artifact } = await exportModelArtifact(store, {
        artifactId: a.artifactId,
        precision: a.precision,
        io: a.io === 'int8' ? 'int8' : 'float',
        calibrationSamples: a.calibrationSamples,
        artifactsDir: paths.artifactsDir,
      });
      return artifact;
    },
    'export.inspect': async (a) => {
      if ('path' in a) return inspectTflite(a.path);
      const artifact = store.artifacts.get(a.artifactId);
      if (!artifact) throw new AppError('NOT_FOUND', `There is no artifact ${a.artifactId}.`);
      if (artifact.format !== 'tflite') throw new AppError('INVALID_ARGS', `Artifact "${artifact.name}" is a TF.js model, not a .tflite file.`);
      return inspectTflite(artifact.path);
    },
    'export.import': async (a) => importTfliteArtifact(store, { path: a.path, ...(a.name ? { name: a.name } : {}), artifactsDir: paths.artifactsDir }),
    'export.desktopAccuracy': async (a) => ({ artifactId: a.artifactId, ...(await recordDesktopAccuracy(store, a.artifactId)) }),
    'host.describe': async () => hostDevice(store),
    'host.benchmark': async (a) => benchmarkArtifactOnHost(store, a.artifactId, { warmup: a.warmup, runs: a.runs }),
  };
}
