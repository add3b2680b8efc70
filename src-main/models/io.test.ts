import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../tf';
import { folderIOHandler, loadModel, MODEL_JSON, saveModel, WEIGHTS_FILE } from './io';
import { buildTemplate, type TemplateSpec } from './templates';
import { errorOf } from '../../test/helpers/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-models-'));
const artifacts = path.join(tmp, 'artifacts');
beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cases: TemplateSpec[] = [
  { template: 'mlp', inputShape: [28, 28, 1], numClasses: 10 },
  { template: 'mlp', inputShape: [7], numClasses: 3 },
  { template: 'lenet', inputShape: [28, 28, 1], numClasses: 10 },
  { template: 'mobilenet', inputShape: [28, 28, 1], numClasses: 10 },
  { template: 'resnet', inputShape: [28, 28, 1], numClasses: 10 },
];

describe('save and load', () => {
  it.each(cases)('$template $inputShape round-trips with identical outputs', async (spec) => {
    const model = buildTemplate({ ...spec, width: 0.25, seed: 11 });
    const x = tf.randomUniform([3, ...spec.inputShape], 0, 1, 'float32', 2);
    const saved = await saveModel(model, artifacts);
    expect(path.basename(saved.path)).toBe(saved.contentHash.slice(0, 16));
    expect(saved.bytes).toBe(fs.statSync(path.join(saved.path, MODEL_JSON)).size + fs.statSync(path.join(saved.path, WEIGHTS_FILE)).size);
    const loaded = await loadModel(saved.path);
    expect(loaded.contentHash).toBe(saved.contentHash);
    const a = (model.predict(x) as tf.Tensor).dataSync();
    const b = (loaded.model.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(loaded.model.layers.map((l) => l.name)).toEqual(model.layers.map((l) => l.name));
    model.dispose();
    loaded.model.dispose();
  });

  it('stores labels and the input convention in model.json and reads them back; the meta is part of the content hash', async () => {
    const model = buildTemplate({ template: 'mlp', inputShape: [4, 4, 3], numClasses: 3, width: 0.25, seed: 5 });
    const meta = {
      labels: ['空', 'Paper', 'b'],
      input: { kind: 'image' as const, size: [4, 4] as [number, number], channels: 3 as const, normalization: { mean: [127.5], std: [127.5] }, dtype: 'float32' as const },
      output: 'logits' as const,
    };
    const plain = await saveModel(model, path.join(tmp, 'meta'));
    const withMeta = await saveModel(model, path.join(tmp, 'meta'), meta);
    expect(withMeta.contentHash).not.toBe(plain.contentHash);
    const loaded = await loadModel(withMeta.path);
    expect(loaded.meta).toEqual(meta);
    expect((await loadModel(plain.path)).meta).toBeNull();
    loaded.model.dispose();
    model.dispose();
  });

  it('the same model saves once, to the same folder; a different one elsewhere; no partial folders left', async () => {
    const m1 = buildTemplate({ template: 'lenet', inputShape: [28, 28, 1], numClasses: 10, width: 0.25, seed: 1 });
    const m2 = buildTemplate({ template: 'lenet', inputShape: [28, 28, 1], numClasses: 10, width: 0.25, seed: 1 });
    const m3 = buildTemplate({ template: 'lenet', inputShape: [28, 28, 1], numClasses: 10, width: 0.25, seed: 2 });
    const dir = path.join(tmp, 'dedupe');
    const [s1, s2, s3] = [await saveModel(m1, dir), await saveModel(m2, dir), await saveModel(m3, dir)];
    expect(s2).toEqual(s1);
    expect(s3.path).not.toBe(s1.path);
    expect(fs.readdirSync(dir).sort()).toEqual([path.basename(s1.path), path.basename(s3.path)].sort());
  });

  it('loads from the model.json path too, and through folderIOHandler', async () => {
    const m = buildTemplate({ template: 'mlp', inputShape: [5], numClasses: 2, hidden: [4] });
    const dir = path.join(tmp, 'handler');
    await m.save(folderIOHandler(dir));
    const viaJson = await loadModel(path.join(dir, MODEL_JSON));
    const viaHandler = await tfl.loadLayersModel(folderIOHandler(dir));
    const x = tf.ones([1, 5]);
    expect(Array.from((viaJson.model.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((m.predict(x) as tf.Tensor).dataSync()));
    expect(Array.from((viaHandler.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((m.predict(x) as tf.Tensor).dataSync()));
  });
});

describe('bad model files', () => {
  async function savedCopy(name: string): Promise<string> {
    const m = buildTemplate({ template: 'mlp', inputShape: [5], numClasses: 2, hidden: [4] });
    const dir = path.join(tmp, name);
    await m.save(folderIOHandler(dir));
    return dir;
  }

  it('missing path, or a folder without model.json', async () => {
    expect((await errorOf(loadModel(path.join(tmp, 'absent')))).code).toBe('NOT_FOUND');
    const dir = path.join(tmp, 'nojson');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'teacher.json'), '{}');
    expect((await errorOf(loadModel(dir))).message).toMatch(/has no model\.json \(it has teacher\.json; choose that file instead\)/);
  });

  it('corrupt JSON', async () => {
    const dir = await savedCopy('corrupt');
    const file = path.join(dir, MODEL_JSON);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').slice(0, 100));
    const err = await errorOf(loadModel(dir));
    expect(err.code).toBe('INVALID_MODEL');
    expect(err.message).toContain(`${file}: the file is not valid JSON`);
  });

  it('a missing weight file', async () => {
    const dir = await savedCopy('noweights');
    fs.rmSync(path.join(dir, WEIGHTS_FILE));
    const err = await errorOf(loadModel(dir));
    expect(err.message).toContain(`the weight file ${path.join(dir, WEIGHTS_FILE)} is missing (model.json lists it)`);
  });

  it('a weight file of the wrong size', async () => {
    const dir = await savedCopy('wrongsize');
    const w = path.join(dir, WEIGHTS_FILE);
    fs.writeFileSync(w, fs.readFileSync(w).subarray(0, 20));
    const err = await errorOf(loadModel(dir));
    expect(err.code).toBe('INVALID_MODEL');
    // 5*4 + 4 + 4*2 + 2 = 34 floats.
    expect(err.message).toMatch(/group1-shard1of1\.bin holds 20 bytes but model\.json describes 136 bytes of weights/);
  });

  it('weights that do not match the layers', async () => {
    const dir = await savedCopy('mismatch');
    const file = path.join(dir, MODEL_JSON);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    doc.weightsManifest[0].weights[0].name = 'somewhere_else/kernel';
    fs.writeFileSync(file, JSON.stringify(doc));
    const err = await errorOf(loadModel(dir));
    expect(err.code).toBe('INVALID_MODEL');
    expect(err.message).toMatch(/could not be built from its files/);
  });

  it('unsupported layer types and activations, each named, with what is supported', async () => {
    const input = tfl.input({ shape: [8, 8, 1] });
    let x = tfl.layers.separableConv2d({ name: 'my_sep', filters: 2, kernelSize: 3 }).apply(input) as tfl.SymbolicTensor;
    x = tfl.layers.flatten({ name: 'flat' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.dense({ name: 'squash', units: 2, activation: 'tanh' }).apply(x) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: input, outputs: x });
    const dir = path.join(tmp, 'unsupported');
    await m.save(folderIOHandler(dir));
    const err = await errorOf(loadModel(dir));
    expect(err.code).toBe('UNSUPPORTED');
    expect(err.message).toContain('"my_sep" (SeparableConv2D: layer type not supported)');
    expect(err.message).toContain('"squash" (Dense: activation "tanh" not supported)');
    expect(err.message).toMatch(/Supported layers: InputLayer, Dense, Conv2D, DepthwiseConv2D, BatchNormalization/);
  });

  it('graph models are explained, not parsed', async () => {
    const dir = path.join(tmp, 'graph');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, MODEL_JSON), JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }));
    expect((await errorOf(loadModel(dir))).message).toMatch(/is a TF\.js graph model; PocketBench needs a Layers model/);
  });

  it('models with several outputs', async () => {
    const input = tfl.input({ shape: [3] });
    const a = tfl.layers.dense({ units: 2, name: 'a' }).apply(input) as tfl.SymbolicTensor;
    const b = tfl.layers.dense({ units: 2, name: 'b' }).apply(input) as tfl.SymbolicTensor;
    const dir = path.join(tmp, 'two');
    await tfl.model({ inputs: input, outputs: [a, b] }).save(folderIOHandler(dir));
    expect((await errorOf(loadModel(dir))).message).toMatch(/has 1 input\(s\) and 2 output\(s\)/);
  });
});
