/**
 * The work the host process hands to task workers (tasks/pool.ts): everything a contract handler
 * would otherwise compute on the Electron main process (building models, timing training steps,
 * parsing model files, decoding images, running LiteRT). Runs only inside a task worker; the host
 * imports this file's *types* only, so it never loads TF.js or LiteRT.
 */
import type { z } from 'zod';
import type { modelRefSchema } from '../../src-shared/contract/engine';
import type { AppPaths } from '../host/paths';
import type { Store } from '../store';
import type { DatasetSource } from '../data';
import type { NormalizationChoice } from '../models/import';
import type { ExportPrecision } from '../export/exporter';

export interface TaskContext {
  store: Store;
  paths: AppPaths;
  /** An event for every connected UI. */
  emit(event: string, payload: unknown): void;
  progress(p: unknown): void;
}

type ModelRef = z.infer<typeof modelRefSchema>;

// Each task imports what it needs when it runs, so a worker that only inspects files never loads TF.js.
export const tasks = {
  'models.summary': async (a: { model: ModelRef; inputShape?: number[]; numClasses?: number }, c: TaskContext) =>
    (await import('../compress/train/engine-service')).modelSummary(c.store, a.model, a.inputShape, a.numClasses),
  'models.capacity': async (a: { teacher: ModelRef; student: ModelRef; inputShape: number[]; numClasses: number }, c: TaskContext) =>
    (await import('../compress/train/engine-service')).capacityReport(c.store, a.teacher, a.student, a.inputShape, a.numClasses),
  'models.import': async (a: { path: string; name?: string; normalization?: NormalizationChoice }, c: TaskContext) =>
    (await import('../compress/train/import-artifact')).importModelArtifact(c, a),
  'recipes.estimate': async (a: { recipe: unknown }, c: TaskContext) => (await import('../compress/train/engine-service')).estimateRecipe(c.store, a.recipe),
  'datasets.preview': async (a: { source: DatasetSource; samplesPerClass: number }) => (await import('../data')).previewDataset(a.source, a.samplesPerClass),
  'export.tflite': async (a: { artifactId: number; precision: ExportPrecision; io: 'float' | 'int8' | 'uint8'; calibrationSamples: number }, c: TaskContext) => {
    await (await import('../tf')).initBackend();
    const { exportModelArtifact } = await import('../export/service');
    return (await exportModelArtifact(c.store, { ...a, artifactsDir: c.paths.artifactsDir })).artifact;
  },
  'export.inspect': async (a: { path: string }) => (await import('../export/inspect')).inspectTflite(a.path),
  'export.graph': async (a: { path: string }) => (await import('../export/model-graph')).modelGraphOf(a.path),
  'export.import': async (a: { path: string; name?: string }, c: TaskContext) =>
    (await import('../export/service')).importTfliteArtifact(c.store, { ...a, artifactsDir: c.paths.artifactsDir }),
  'export.desktopAccuracy': async (a: { artifactId: number }, c: TaskContext) => (await import('../export/service')).recordDesktopAccuracy(c.store, a.artifactId),
  'host.describe': async (_a: unknown, c: TaskContext) => (await import('../devices/host-runner')).hostDevice(c.store),
  /** One benchmark trial of a .tflite in LiteRT, with the worker's memory figures (the process that ran it). */
  'host.trial': async (a: { path: string; warmup: number; runs: number }) => (await import('../devices/host-target')).hostTrial(a.path, a),
  /** The compute backend (the first start times tfjs-node against wasm on the demo's model; recorded). */
  'backend.probe': async (_a: unknown, c: TaskContext) => {
    const { chooseBackendFor, defaultProbeModel } = await import('../compress/train/backend-probe');
    const { ProbeRecords } = await import('../tf/backend-choice');
    return chooseBackendFor(defaultProbeModel(), ProbeRecords.inDataDir(c.paths.dataDir));
  },
};

export type Tasks = typeof tasks;
export type TaskName = keyof Tasks;
export type TaskArgs<N extends TaskName> = Parameters<Tasks[N]>[0];
export type TaskResult<N extends TaskName> = Awaited<ReturnType<Tasks[N]>>;
