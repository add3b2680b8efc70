import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { recipeSchema, type Recipe } from '../../src-shared/recipe';
import { defaultBenchOptions } from '../devices';
import { Adbc } from '../devices/adb';
import { describeHost, latencyStats, runOnHost } from '../devices/host-runner';
import { createHostTarget, notAppliedOnHost } from '../devices/host-target';
import { benchOptionsSchema } from '../../src-shared/contract/devices';
import { exportMethods } from '../../src-shared/contract/export';
import { hostBenchOptions } from './handlers';
import { DeviceLab } from '../devices/lab';
import { EventBus } from '../host/events';
import type { LatencyStats } from '../../src-shared/types';
import { loadDataset } from '../data';
import { buildTemplate, saveModel } from '../models';
import type { StageContext } from '../pipeline/stage';
import { Store } from '../store';
import { initBackend } from '../tf';
import { datasetFromRecipe, exportModelArtifact, importTfliteArtifact, recordDesktopAccuracy } from './service';
import { stages } from './stages';

const faceDetection = fileURLToPath(new URL('../../test/fixtures/models/face_detection_short_range.tflite', import.meta.url));

let store: Store;
let artifactsDir: string;
let recipe: Recipe;
let sourceId: number;
let runId: number;
let tfjsAccuracy: number;

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
  const dir = mkdtempSync(path.join(tmpdir(), 'pb-export-svc-'));
  store = new Store(path.join(dir, 'h.sqlite'));
  artifactsDir = path.join(dir, 'artifacts');
  recipe = recipeSchema.parse({
    name: 'export test',
    seed: 5,
    dataset: { kind: 'fashion-mnist', limitTrain: 300, limitTest: 60 },
    stages: [{ kind: 'train-teacher' }, { kind: 'quantize', mode: 'int8', calibrationSamples: 64 }, { kind: 'export' }],
  });
  runId = store.runs.create({ name: recipe.name, recipe, recipeHash: 'feedbeef00112233', seed: recipe.seed, appVersion: '0.1.0', stages: recipe.stages.map((s) => ({ kind: s.kind })) });
  const model = buildTemplate({ template: 'lenet', inputShape: [28, 28, 1], numClasses: 10, width: 0.25, seed: 2 });
  const { source, opts } = datasetFromRecipe(recipe.dataset, recipe.seed);
  const ds = await loadDataset(source, opts);
  const pred = tf.tidy(() => tf.argMax(model.predict(tf.tensor(ds.test.x, [ds.test.n, 28, 28, 1])) as tf.Tensor, 1).dataSync());
  tfjsAccuracy = Array.from(pred).filter((p, i) => p === ds.test.y[i]).length / ds.test.n;
  const saved = await saveModel(model, artifactsDir);
  sourceId = store.artifacts.create({ runId, name: 'student', format: 'tfjs-layers', path: saved.path, contentHash: saved.contentHash, bytes: saved.bytes, metrics: { accuracy: tfjsAccuracy } });
});

describe('export service', () => {
  it('exports a TF.js artifact to a recorded .tflite artifact and stores its desktop accuracy beside the TF.js one', async () => {
    const { artifact, written } = await exportModelArtifact(store, { artifactId: sourceId, precision: 'int8', calibrationSamples: 64, artifactsDir });
    expect(artifact).toMatchObject({ format: 'tflite', precision: 'int8', parentId: sourceId, runId, bytes: written.bytes.length, contentHash: written.sha256 });
    expect(artifact.gzipBytes).toBeGreaterThan(0);
    expect(artifact.metrics).toMatchObject({ accuracy: tfjsAccuracy, calibration: { observer: 'minmax', samples: 64 } });
    const acc = await recordDesktopAccuracy(store, artifact.id);
    expect(acc.samples).toBe(60);
    expect(acc.tfjsAccuracy).toBe(tfjsAccuracy);
    expect(Math.abs(acc.deployedAccuracy - tfjsAccuracy)).toBeLessThanOrEqual(0.05);
    expect(store.artifacts.get(artifact.id)!.metrics).toMatchObject({ deployedAccuracy: acc.deployedAccuracy, accuracy: tfjsAccuracy });

    const fp32 = await exportModelArtifact(store, { artifactId: sourceId, precision: 'fp32', artifactsDir });
    expect((await recordDesktopAccuracy(store, fp32.artifact.id)).deployedAccuracy).toBe(tfjsAccuracy);
    expect(artifact.bytes / fp32.artifact.bytes).toBeLessThan(0.4);
  });

  it('refuses to export a .tflite again or to evaluate a TF.js model as a file', async () => {
    await expect(recordDesktopAccuracy(store, sourceId)).rejects.toThrow(/export it to \.tflite first/);
    await expect(exportModelArtifact(store, { artifactId: 9999, precision: 'fp32', artifactsDir })).rejects.toThrow(/no artifact 9999/);
  });

  it('runs as the export stage: auto precision follows the quantize stage, and the file is measured', async () => {
    const source = store.artifacts.get(sourceId)!;
    const stageId = store.runs.get(runId)!.stages[2].id;
    const ctx = {
      runId,
      stageIndex: 2,
      stageId,
      stage: recipe.stages[2],
      recipe,
      seed: recipe.seed,
      signal: new AbortController().signal,
      store,
      paths: { artifactsDir },
      slots: { current: { artifactId: source.id, path: source.path, format: 'tfjs-layers' } },
      checkpointDir: artifactsDir,
      resuming: false,
      progress: () => {},
      log: () => {},
      throwIfCancelled: () => {},
    } as unknown as StageContext<Extract<Recipe['stages'][number], { kind: 'export' }>>;
    const result = await stages.export!(ctx);
    expect(result.metrics).toMatchObject({ precision: 'int8' });
    expect(result.metrics!.deployedAccuracy).toEqual(expect.any(Number));
    const tflite = store.artifacts.get(result.outputs!.tflite!.artifactId)!;
    expect(tflite).toMatchObject({ stageId, parentId: sourceId, precision: 'int8' });
  });

  it('imports a .tflite from another converter and benchmarks it on this computer, stored with the host as a device', async () => {
    const imported = importTfliteArtifact(store, { path: faceDetection, artifactsDir });
    expect(imported).toMatchObject({ format: 'tflite', name: 'face_detection_short_range.tflite', parentId: null });
    expect(imported.precision).toBeTruthy();
    const host = createHostTarget({ store });
    const lab = new DeviceLab({ store, bus: new EventBus(), dataDir: artifactsDir, adb: new Adbc(1), extraTargets: (k) => (k === host.key ? host : null), extraTargetKeys: [host.key] });
    try {
      const [id] = await lab.queue({ modelPath: imported.path, artifactId: imported.id, targets: ['host'], options: { ...defaultBenchOptions, warmup: 1, runs: 4, trials: 2 } });
      const benchmark = await lab.wait(id);
      expect(benchmark).toMatchObject({ status: 'succeeded', artifactId: imported.id });
      expect(benchmark.latencyUs).toBeGreaterThan(0);
      const detail = lab.detail(id);
      expect(detail.trials).toHaveLength(2);
      const stats = (detail.stats!.trialStats as LatencyStats[])[0];
      expect(stats.count).toBe(4);
      for (const k of ['meanUs', 'stdUs', 'minUs', 'maxUs', 'p5Us', 'medianUs', 'p90Us', 'p95Us', 'p99Us', 'firstInferenceUs', 'warmupMeanUs', 'initMs'] as const) {
        expect(stats[k]).toEqual(expect.any(Number));
      }
      expect(stats.minUs!).toBeLessThanOrEqual(stats.medianUs!);
      expect(stats.medianUs!).toBeLessThanOrEqual(stats.maxUs!);
      const device = store.devices.get(benchmark.deviceId)!;
      expect(device).toMatchObject({ kind: 'host', serial: 'host' });
      expect(device.facts).toMatchObject({ runtime: expect.stringMatching(/LiteRT/) });
      expect((await describeHost()).cores).toBeGreaterThan(0);
      const outputs = await runOnHost(imported.path);
      expect(outputs.length).toBe(2);
      expect(outputs.every((o) => o.length > 0 && Array.from(o).every(Number.isFinite))).toBe(true);
    } finally {
      await lab.close();
    }
  });

  it('"Run on this computer" measures as "Profile on device → This computer" does, and names the options it does not apply', () => {
    const args = exportMethods['host.benchmark'].args.parse({ artifactId: 1 });
    // The same defaults as a profile job: K trials (the median of trial means), warm-up, N runs.
    expect(hostBenchOptions(args)).toEqual(benchOptionsSchema.parse({}));
    expect(hostBenchOptions(args).trials).toBeGreaterThan(1);
    expect(notAppliedOnHost(benchOptionsSchema.parse({}))).toEqual(['threads (4 asked; LiteRT here runs on 1 thread)', 'core pinning', 'thermal cool-down']);
    expect(notAppliedOnHost(benchOptionsSchema.parse({ threads: 1, pinBigCores: false, cooldownMaxWaitS: 0 }))).toEqual([]);
    expect(notAppliedOnHost(benchOptionsSchema.parse({ threads: 1, pinBigCores: false, cooldownMaxWaitS: 0, gpu: true, xnnpack: false }))).toEqual(['GPU delegate', 'XNNPACK off (LiteRT here always uses its CPU kernels)']);
  });

  it('computes percentiles from the samples', () => {
    const s = latencyStats([5, 1, 3, 2, 4], { initMs: 1, firstInferenceUs: 9, warmupMeanUs: null });
    expect(s).toMatchObject({ count: 5, meanUs: 3, minUs: 1, maxUs: 5, medianUs: 3, p5Us: 1.2, p95Us: 4.8 });
    expect(s.stdUs).toBeCloseTo(Math.SQRT2, 10);
    expect(() => latencyStats([], { initMs: null, firstInferenceUs: null, warmupMeanUs: null })).toThrow(/at least one run/);
  });
});
