/**
 * train-teacher and load-teacher end to end through the pipeline service (a real worker process),
 * on 300 Fashion-MNIST training images (synthetic IDX files when the Debian package is missing).
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeEach, afterEach, describe, expect, it } from 'vitest';
import type { RunProgress } from '../../../src-shared/contract/pipeline';
import { writeFakeFashionMnist } from '../../../test/fixtures/data-fixtures';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { writeKeras2H5, writeModelFile } from '../../../test/helpers/keras-files';
import { DEFAULT_FASHION_MNIST_DIR, FASHION_MNIST_CLASSES, findFashionMnistFiles } from '../../data';
import type { EventBus } from '../../host/events';
import { buildTemplate, loadModel, saveModel } from '../../models';
import type { PipelineService } from '../../pipeline/service';
import type { Store } from '../../store';
import { type PipelineHarness, pipelineHarness } from '../../../test/helpers/pipeline-harness';
import { useCpuBackendInWorkers } from '../../../test/helpers/cpu-workers';

const stagesModule = path.resolve(import.meta.dirname, '../../../test/helpers/train-stages.ts');
let h: PipelineHarness;
let dir: string;
let fmnist: string;
let store: Store;
let bus: EventBus;
let service: PipelineService;

function haveRealFashionMnist(): boolean {
  try {
    findFashionMnistFiles(DEFAULT_FASHION_MNIST_DIR);
    return true;
  } catch {
    return false;
  }
}

// MLPs keep the test fast (a LeNet batch takes seconds on the pure-JS backend).
useCpuBackendInWorkers();

beforeEach(() => {
  h = pipelineHarness(stagesModule, 'pb-train-');
  ({ dir, store, bus, service } = h);
  if (haveRealFashionMnist()) fmnist = DEFAULT_FASHION_MNIST_DIR;
  else writeFakeFashionMnist((fmnist = path.join(dir, 'fmnist')), 400, 100);
});
afterEach(() => h.close());

const dataset = () => ({ kind: 'fashion-mnist', path: fmnist, limitTrain: 300, limitTest: 100, validationFraction: 0.2 });
const teacherStage = (epochs: number) => ({ kind: 'train-teacher', model: { template: 'mlp', width: 0.25 }, epochs, batchSize: 32, optimizer: { name: 'adam', learningRate: 0.003 } });

describe('train-teacher and load-teacher stages', { timeout: 180_000 }, () => {
  it('trains, reports progress, stores the artifact with sizes and metrics; a later run loads it as teacher', async () => {
    const progress: RunProgress[] = [];
    bus.subscribe((e, p) => e === 'run.progress' && progress.push(p as RunProgress));
    const { runId } = service.start({ name: 'teacher', seed: 3, dataset: dataset(), stages: [teacherStage(3)] });
    await service.idle();
    const run = store.runs.get(runId)!;
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    const m = run.stages[0].metrics as Record<string, number> & { outputs: { teacher: { artifactId: number; path: string } }; confusion: number[][] };
    expect(m.accuracy).toBeGreaterThan(0.3); // 10 classes: well above chance after 3 short epochs
    expect(m.params).toBeGreaterThan(1000);
    expect(m.gzipBytes).toBeGreaterThan(0);
    expect(m.gzipBytes).toBeLessThan(m.bytes);
    expect(m.confusion.flat().reduce((a, b) => a + b, 0)).toBe(100); // the test split, once
    expect(run.stages[0].curves!.loss).toHaveLength(3);
    expect(run.stages[0].curves!.val_accuracy).toHaveLength(3);
    const art = store.artifacts.get(m.outputs.teacher.artifactId)!;
    expect(art).toMatchObject({ runId, format: 'tfjs-layers', params: m.params, gzipBytes: m.gzipBytes, precision: 'fp32' });
    expect(path.basename(art.path)).toBe(art.contentHash.slice(0, 16));
    expect(fs.existsSync(path.join(art.path, 'model.json'))).toBe(true);
    // Progress: per batch (with ETA) and per epoch (with validation metrics).
    expect(progress.some((p) => p.batch !== undefined && p.etaMs !== undefined)).toBe(true);
    expect(progress.filter((p) => p.batch === undefined && p.epoch !== undefined).map((p) => p.epoch)).toEqual([1, 2, 3]);
    expect(progress.find((p) => p.epoch === 3 && p.batch === undefined)!.metrics!.val_accuracy).toBeGreaterThan(0);

    const second = service.start({ name: 'reuse', seed: 3, dataset: dataset(), stages: [{ kind: 'load-teacher', artifactId: art.id }] }).runId;
    await service.idle();
    const r2 = store.runs.get(second)!;
    expect(r2.error).toBeNull();
    const m2 = r2.stages[0].metrics as Record<string, number>;
    expect(m2.accuracy).toBeCloseTo(m.accuracy, 6);
    expect(m2.params).toBe(m.params);
    expect(store.artifacts.get((r2.stages[0].metrics as { outputs: { teacher: { artifactId: number } } }).outputs.teacher.artifactId)!.parentId).toBe(art.id);
  });

  it('refuses a teacher built for other classes, naming both counts', async () => {
    const wrong = buildTemplate({ template: 'mlp', inputShape: [28, 28, 1], numClasses: 4, hidden: [8], seed: 1 });
    const saved = await saveModel(wrong, path.join(dir, 'models'));
    wrong.dispose();
    const { runId } = service.start({ name: 'bad', dataset: dataset(), stages: [{ kind: 'load-teacher', path: saved.path }] });
    await service.idle();
    const run = store.runs.get(runId)!;
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/has 4 outputs but the dataset .* has 10 classes/);
  });

  it('loads a Keras .h5 teacher, puts its outputs in the dataset class order and stores it with its meta', async () => {
    const inp = tfl.input({ shape: [28, 28, 1], name: 'image' });
    const hidden = tfl.layers.dense({ units: 16, activation: 'relu', name: 'hidden' }).apply(tfl.layers.flatten({ name: 'flatten' }).apply(inp)) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 10, activation: 'softmax', name: 'scores' }).apply(hidden) as tfl.SymbolicTensor;
    const keras = tfl.model({ inputs: inp, outputs: out, name: 'keras_teacher' });
    // The model's classes in another order than the dataset's (as Teachable Machine lists them in training order).
    const order = [...FASHION_MNIST_CLASSES].reverse();
    const file = writeModelFile(dir, 'keras_model.h5', await writeKeras2H5(keras), { 'labels.txt': order.map((c, i) => `${i} ${c}`).join('\n') });
    const { runId } = service.start({ name: 'keras', dataset: dataset(), stages: [{ kind: 'load-teacher', path: file }] });
    await service.idle();
    const run = store.runs.get(runId)!;
    expect(run.error).toBeNull();
    const m = run.stages[0].metrics as { accuracy: number; importedFrom: { format: string }; outputs: { teacher: { artifactId: number } } };
    expect(typeof m.accuracy).toBe('number');
    expect(m.importedFrom.format).toBe('keras-h5');
    const art = store.artifacts.get(m.outputs.teacher.artifactId)!;
    const loaded = await loadModel(art.path);
    expect(loaded.meta).toMatchObject({ labels: [...FASHION_MNIST_CLASSES], output: 'logits', input: { kind: 'image', size: [28, 28], channels: 1 } });
    // Stored logits, column c = the original's column for class c (reversed), up to the softmax.
    const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 3);
    const probs = (keras.predict(x) as tf.Tensor).arraySync() as number[][];
    const stored = (tf.softmax(loaded.model.predict(x) as tf.Tensor).arraySync()) as number[][];
    for (let r = 0; r < 4; r++) for (let c = 0; c < 10; c++) expect(stored[r][c]).toBeCloseTo(probs[r][9 - c], 5);
    tf.dispose(x);
    loaded.model.dispose();
    keras.dispose();
  });

  it('fails clearly on a stage kind this build does not have', async () => {
    const { runId } = service.start({ name: 'unregistered', dataset: dataset(), stages: [teacherStage(1), { kind: 'export' }] });
    await service.idle();
    const run = store.runs.get(runId)!;
    expect(run.status).toBe('failed');
    expect(run.stages.map((s) => s.status)).toEqual(['succeeded', 'failed']);
    expect(run.error).toMatch(/Stage 2 \(export\) cannot run: this version of PocketBench has no "export" stage/);
  });

  it('resumes from the last epoch checkpoint after the worker is killed', async () => {
    const { runId } = service.start({ name: 'crash', seed: 5, dataset: dataset(), stages: [teacherStage(4)] });
    await new Promise<void>((r) => bus.subscribe((e, p) => e === 'run.progress' && (p as RunProgress).epoch === 2 && (p as RunProgress).batch === undefined && r()));
    h.workers[0].kill();
    await service.idle();
    expect(store.runs.get(runId)!.status).toBe('interrupted');
    service.resume(runId);
    await service.idle();
    const run = store.runs.get(runId)!;
    expect(run.status).toBe('succeeded');
    const m = run.stages[0].metrics as Record<string, number>;
    expect(m.resumedFromEpoch).toBeGreaterThanOrEqual(2);
    expect(m.epochs).toBe(4);
    expect(run.stages[0].curves!.loss).toHaveLength(4);
  });
});
