/**
 * The prune and quantize stages on a tiny Fashion-MNIST subset: artifacts with sizes and sparsity
 * in the store, the QuantParams file in slots.quant, guard rails and refusals.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RecipeInput, recipeSchema, type StageSpec } from '../src-shared/recipe';
import { runPrune } from '../src-main/compress/prune/run';
import { validateQuantParams } from '../src-main/compress/quantize/params';
import { runQuantize } from '../src-main/compress/quantize/run';
import { buildTemplate, saveModel } from '../src-main/models';
import type { PipelineSlots, StageContext } from '../src-main/pipeline/stage';
import { Store } from '../src-main/store';
import { initBackend } from '../src-main/tf';

let dir: string;
let store: Store;
let slots: PipelineSlots;
const logs: string[] = [];

const dataset = { kind: 'fashion-mnist', limitTrain: 300, limitTest: 100 } as const;

function ctxFor(stage: RecipeInput['stages'][number], current: PipelineSlots['current'] | null = slots.current): StageContext {
  const recipe = recipeSchema.parse({ name: 't', dataset, stages: [stage] });
  const runId = store.runs.create({ name: 't', recipe, recipeHash: 'x', seed: 1, appVersion: 'test', stages: [{ kind: recipe.stages[0].kind }] });
  const stageRow = store.runs.stages(runId)[0];
  const checkpointDir = fs.mkdtempSync(path.join(dir, 'cp-'));
  return {
    runId,
    stageIndex: 0,
    stageId: stageRow.id,
    stage: recipe.stages[0] as StageSpec,
    recipe,
    seed: 1,
    signal: new AbortController().signal,
    store,
    paths: { dataDir: dir, dbPath: path.join(dir, 'db.sqlite'), artifactsDir: path.join(dir, 'artifacts'), uploadsDir: dir, backupsDir: dir, runnersDir: dir },
    slots: current ? { current } : {},
    checkpointDir,
    resuming: false,
    progress: () => {},
    log: (level, message) => logs.push(`${level}: ${message}`),
    throwIfCancelled: () => {},
  };
}

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pq-stages-'));
  store = new Store(path.join(dir, 'db.sqlite'));
  // An MLP: convolution backprop on the pure-JS cpu backend takes seconds per step (the conv paths
  // are covered by the unit tests on tiny inputs).
  const model = buildTemplate({ template: 'mlp', inputShape: [28, 28, 1], numClasses: 10, width: 0.25, seed: 1 });
  const saved = await saveModel(model, path.join(dir, 'artifacts'));
  const id = store.artifacts.create({ name: 'teacher', format: 'tfjs-layers', path: saved.path, contentHash: saved.contentHash, bytes: saved.bytes });
  slots = { current: { artifactId: id, path: saved.path, format: 'tfjs-layers' } };
});

afterAll(() => {
  store?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('prune stage', () => {
  it('iterative magnitude pruning: target reached exactly, per-layer and global sparsity stored with the artifact', async () => {
    const r = await runPrune(ctxFor({ kind: 'prune', targetSparsity: 0.75, schedule: { kind: 'iterative', stepFraction: 0.5, epochsPerStep: 1 }, fineTuneEpochs: 1, batchSize: 64 }) as never);
    const a = store.artifacts.get(r.outputs!.current!.artifactId)!;
    const sp = (a.metrics as { sparsityByLayer: { global: number; layers: { layer: string; sparsity: number }[] } }).sparsityByLayer;
    expect(sp.global).toBeCloseTo(0.75, 3);
    for (const l of sp.layers) expect(l.sparsity).toBeCloseTo(0.75, 2);
    expect(a.sparsity).toBeGreaterThan(0.7); // over all params, biases included
    expect(a.nonzeroParams).toBeLessThan(a.params! * 0.3);
    expect(a.gzipBytes).toBeLessThan(a.bytes);
    expect(a.parentId).toBe(slots.current!.artifactId);
    expect(r.metrics).toMatchObject({ params: a.params, gzipBytes: a.gzipBytes, sparsity: a.sparsity });
    expect(r.curves!.loss.length).toBe(3); // 2 prune steps × 1 epoch + 1 at target
    expect(fs.existsSync(path.join(ctxFor({ kind: 'prune' }).checkpointDir))).toBe(true);
  });

  it('polynomial schedule reaches the final sparsity during fine-tuning; iterative resumes from its checkpoint', async () => {
    // 270 training images / 64 = 5 steps per epoch; 2 epochs = 10 steps, schedule ends at step 8.
    const p = await runPrune(ctxFor({ kind: 'prune', targetSparsity: 0.8, schedule: { kind: 'polynomial', endStep: 8, frequency: 2 }, fineTuneEpochs: 2 }) as never);
    expect((p.metrics as { sparsityByLayer: { global: number } }).sparsityByLayer.global).toBeCloseTo(0.8, 3);
    // Without endStep the target is reached at two thirds of the fine-tuning (step 10 of 15), then fine-tuned.
    logs.length = 0;
    const byShare = await runPrune(ctxFor({ kind: 'prune', targetSparsity: 0.8, scope: 'global', schedule: { kind: 'polynomial' }, fineTuneEpochs: 3 }) as never);
    expect((byShare.metrics as { sparsityByLayer: { global: number } }).sparsityByLayer.global).toBeCloseTo(0.8, 3);
    expect(byShare.curves!.loss.length).toBe(3);
    expect(logs.some((l) => /without fine-tuning after it/.test(l))).toBe(false);
    const ctx = ctxFor({ kind: 'prune', targetSparsity: 0.75, schedule: { kind: 'iterative', stepFraction: 0.5, epochsPerStep: 1 }, fineTuneEpochs: 1 });
    const first = await runPrune(ctx as never);
    expect(first.curves!.loss.length).toBe(3);
    // Interrupted after both prune steps: a resumed run only fine-tunes at the target.
    const resumed = await runPrune({ ...ctx, resuming: true } as never);
    expect(resumed.curves!.loss.length).toBe(1);
    expect(logs.some((l) => /Resuming pruning after step 2 of 2/.test(l))).toBe(true);
    expect((resumed.metrics as { sparsityByLayer: { global: number } }).sparsityByLayer.global).toBeCloseTo(0.75, 3);
  });

  it('one-shot at a high target is flagged; structured pruning rebuilds a smaller model', async () => {
    logs.length = 0;
    await runPrune(ctxFor({ kind: 'prune', targetSparsity: 0.8, schedule: { kind: 'one-shot' }, fineTuneEpochs: 0 }) as never);
    expect(logs.some((l) => /warn: This schedule removes 80 %/.test(l))).toBe(true);
    const r = await runPrune(ctxFor({ kind: 'prune', method: 'structured', structuredFraction: 0.5, fineTuneEpochs: 1 }) as never);
    const m = r.metrics as { structured: { macsReduction: number; paramsReduction: number } };
    expect(m.structured.macsReduction).toBeGreaterThan(1.8);
    const a = store.artifacts.get(r.outputs!.current!.artifactId)!;
    expect(a.params).toBeLessThan(store.artifacts.get(slots.current!.artifactId)!.params ?? Infinity);
  });
});

describe('quantize stage', () => {
  it('PTQ: simulated INT8 accuracy next to float, QuantParams file in slots.quant', async () => {
    const r = await runQuantize(ctxFor({ kind: 'quantize', mode: 'int8', calibrationSamples: 64, observer: 'percentile', sensitivity: true }) as never);
    const m = r.metrics as { accuracy: number; accuracyFloat: number; sensitivity: { layers: { layer: string }[] } };
    expect(m.accuracy).toBeGreaterThanOrEqual(0);
    expect(Math.abs(m.accuracy - m.accuracyFloat)).toBeLessThan(0.1);
    expect(m.sensitivity.layers.map((l) => l.layer).sort()).toEqual(['dense1', 'dense2', 'logits']);
    const params = validateQuantParams(JSON.parse(fs.readFileSync(r.outputs!.quant!.path, 'utf8')));
    expect(params.calibration).toMatchObject({ observer: 'percentile', samples: 64 });
    expect(store.artifacts.get(r.outputs!.current!.artifactId)!.precision).toBe('int8');
    expect(logs.some((l) => /Calibrating on 64 samples/.test(l))).toBe(false); // 64 ≥ 32: no warning
  });

  it('QAT fine-tunes and exports params; fp16 records its precision; refusals', async () => {
    const q = await runQuantize(ctxFor({ kind: 'quantize', mode: 'qat', calibrationSamples: 64, qatEpochs: 1, keepFloat: ['logits'] }) as never);
    const params = validateQuantParams(JSON.parse(fs.readFileSync(q.outputs!.quant!.path, 'utf8')));
    expect(params.calibration.observer).toBe('qat');
    expect(params.floatLayers).toEqual(['logits']);
    expect(store.artifacts.get(q.outputs!.current!.artifactId)!.precision).toBe('mixed');
    const f = await runQuantize(ctxFor({ kind: 'quantize', mode: 'fp16' }) as never);
    expect(store.artifacts.get(f.outputs!.current!.artifactId)!.precision).toBe('fp16');
    expect(f.outputs!.quant).toBeUndefined();
    await expect(runQuantize(ctxFor({ kind: 'quantize', mode: 'int8', calibrationSamples: 0 }) as never)).rejects.toThrow(/needs calibration samples.*dynamic/);
    await expect(runQuantize(ctxFor({ kind: 'quantize', keepFloat: ['nope'] }) as never)).rejects.toThrow(/not found in the model: nope/);
    await expect(runQuantize(ctxFor({ kind: 'quantize' }, null) as never)).rejects.toThrow(/needs a model/);
  });
});
