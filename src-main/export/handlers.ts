/** Handlers for the export contract area (.tflite export, inspect, import, desktop accuracy, run on this computer). */
import { AppError } from '../../src-shared/errors';
import type { exportMethods } from '../../src-shared/contract/export';
import type { Handlers } from '../../src-shared/rpc';
import { defaultBenchOptions, labFor } from '../devices';
import type { BenchOptions } from '../devices/target';
import { HOST_SERIAL } from '../devices/host-runner';
import type { LatencyStats } from '../../src-shared/types';
import type { CallContext, HostDeps } from '../host/context';

/** "Run on this computer": the profile's options and defaults, so both paths measure the same way. */
export function hostBenchOptions(a: { warmup: number; runs: number; trials: number }): BenchOptions {
  return { ...defaultBenchOptions, warmup: a.warmup, runs: a.runs, trials: a.trials };
}

export function exportHandlers(deps: HostDeps): Handlers<typeof exportMethods, CallContext> {
  const { store, tasks } = deps;
  return {
    'export.tflite': (a) =>
      tasks.run('export.tflite', { artifactId: a.artifactId, precision: a.precision, io: a.io === 'float32' ? 'float' : a.io, calibrationSamples: a.calibrationSamples }),
    'export.inspect': async (a) => {
      if ('path' in a) return tasks.run('export.inspect', { path: a.path });
      const artifact = store.artifacts.get(a.artifactId);
      if (!artifact) throw new AppError('NOT_FOUND', `There is no artifact ${a.artifactId}.`);
      if (artifact.format !== 'tflite') throw new AppError('INVALID_ARGS', `Artifact "${artifact.name}" is a TF.js model, not a .tflite file.`);
      return tasks.run('export.inspect', { path: artifact.path });
    },
    'export.graph': ({ artifactId }) => {
      const artifact = store.artifacts.get(artifactId);
      if (!artifact) throw new AppError('NOT_FOUND', `There is no artifact ${artifactId}.`);
      return tasks.run('export.graph', { path: artifact.path });
    },
    'export.import': (a) => tasks.run('export.import', { path: a.path, ...(a.name ? { name: a.name } : {}) }),
    'export.desktopAccuracy': async (a) => ({ artifactId: a.artifactId, ...(await tasks.run('export.desktopAccuracy', { artifactId: a.artifactId })) }),
    'host.describe': () => tasks.run('host.describe', undefined),
    'host.benchmark': async (a) => {
      // Through the device lab's queue (target `host`), so it is stored and summarised like a phone run.
      const artifact = store.artifacts.get(a.artifactId);
      if (!artifact) throw new AppError('NOT_FOUND', `There is no artifact ${a.artifactId}.`);
      if (artifact.format !== 'tflite') throw new AppError('INVALID_ARGS', `Artifact "${artifact.name}" is a TF.js model; export it to .tflite first, then run the file.`);
      const lab = labFor(deps);
      const options = hostBenchOptions(a);
      const [id] = await lab.queue({ modelPath: artifact.path, artifactId: artifact.id, modelName: artifact.name, targets: [HOST_SERIAL], options });
      const benchmark = await lab.wait(id);
      if (benchmark.status !== 'succeeded') throw new AppError('BENCHMARK_FAILED', benchmark.error ?? `The run on this computer ended ${benchmark.status}.`);
      const stats = (lab.detail(id).stats?.trialStats as LatencyStats[] | undefined)?.[0];
      if (!stats) throw new AppError('INTERNAL', 'The run on this computer finished without statistics.');
      return { benchmark, stats };
    },
  };
}
