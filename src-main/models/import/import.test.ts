/**
 * importModel on real Teachable Machine exports (/work/shared/real-models, see its README) and on
 * Keras files the tests write themselves (test/helpers/keras-files.ts, which cites the Keras
 * sources it follows). Equivalence is checked against independent implementations: tfjs-layers'
 * own loader on the original files (it deserialises nested models itself and maps weights by its
 * own naming), and LiteRT running an FP32 .tflite exported from the import.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKeras2H5, writeKeras3, writeModelFile } from '../../../test/helpers/keras-files';
import { buildTflite } from '../../export/exporter';
import { loadTfliteModel } from '../../export/litert-node';
import { initBackend } from '../../tf';
import { kerasSnakeCase } from './flatten';
import { datasetFloat32, isDataset, isGroup, stringAttr, stringListAttr, withH5 } from './h5';
import { detectFormat, importModel } from './index';
import { parseLabels } from './labels';
import { errorOf } from '../../../test/helpers/errors';

const REAL = process.env.POCKETBENCH_REAL_MODELS ?? path.resolve(import.meta.dirname, '../../../../shared/real-models');
const realDir = fs.existsSync(REAL) ? REAL : '/work/shared/real-models';
const hasReal = fs.existsSync(path.join(realDir, 'tm-keras-rps'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-import-'));

beforeAll(async () => {
  await initBackend();
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function predict(model: tfl.LayersModel, x: tf.Tensor): Float32Array {
  return tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
}

function flatLayerTypes(model: tfl.LayersModel): string[] {
  return model.layers.map((l) => l.getClassName());
}

/** A small Teachable-Machine-shaped model: Sequential ⊃ [Sequential ⊃ [Model(mini MobileNetV2 block), GAP], Sequential head]. */
function tmLikeModel(size = 16, classes = 3, seed = 7): tfl.LayersModel {
  const inp = tfl.input({ shape: [size, size, 3], name: 'input_1' });
  const ap = <T extends tfl.layers.Layer>(l: T, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]) => l.apply(x) as tfl.SymbolicTensor;
  let x = ap(tfl.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: 'Conv1_pad' }), inp);
  x = ap(tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, useBias: false, name: 'Conv1' }), x);
  x = ap(tfl.layers.batchNormalization({ epsilon: 1e-3, name: 'bn_Conv1' }), x);
  x = ap(tfl.layers.reLU({ maxValue: 6, name: 'Conv1_relu' }), x);
  const shortcut = x;
  x = ap(tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, name: 'block_1_depthwise' }), x);
  x = ap(tfl.layers.batchNormalization({ epsilon: 1e-3, name: 'block_1_depthwise_BN' }), x);
  x = ap(tfl.layers.reLU({ maxValue: 6, name: 'block_1_depthwise_relu' }), x);
  x = ap(tfl.layers.conv2d({ filters: 8, kernelSize: 1, useBias: false, name: 'block_1_project' }), x);
  x = ap(tfl.layers.batchNormalization({ epsilon: 1e-3, name: 'block_1_project_BN' }), x);
  x = ap(tfl.layers.add({ name: 'block_1_add' }), [shortcut, x]);
  x = ap(tfl.layers.conv2d({ filters: 16, kernelSize: 1, name: 'Conv_1' }), x);
  x = ap(tfl.layers.reLU({ maxValue: 6, name: 'out_relu' }), x);
  const body = tfl.model({ inputs: inp, outputs: x, name: 'model1' });
  const features = tfl.sequential({ name: 'sequential_1', layers: [body, tfl.layers.globalAveragePooling2d({ name: 'global_average_pooling2d_GlobalAveragePooling2D1' })] });
  const head = tfl.sequential({
    name: 'sequential_3',
    layers: [
      tfl.layers.dense({ units: 12, activation: 'relu', inputShape: [16], name: 'dense_Dense1' }),
      tfl.layers.dropout({ rate: 0.5, name: 'dropout_1' }),
      tfl.layers.dense({ units: classes, activation: 'softmax', useBias: false, name: 'dense_Dense2' }),
    ],
  });
  const top = tfl.sequential({ name: 'sequential_4', layers: [features, head] });
  // Random weights everywhere, BN statistics included (variances positive), seeded.
  let s = seed;
  top.setWeights(
    top.weights.map((w, i) => {
      s = (s * 1103515245 + 12345) >>> 0;
      const name = w.originalName;
      if (name.endsWith('moving_variance')) return tf.randomUniform(w.shape as number[], 0.5, 1.5, 'float32', s + i);
      return tf.randomUniform(w.shape as number[], -0.5, 0.5, 'float32', s + i);
    }),
  );
  return top;
}

const write = (name: string, bytes: Uint8Array | string, extra: Record<string, string> = {}) => writeModelFile(tmp, name, bytes, extra);

describe('small facts', () => {
  it("kerasSnakeCase gives Keras' saving_lib keys", () => {
    // Keys Keras 3 writes in model.weights.h5 (keras/src/utils/naming.py to_snake_case).
    expect(['Conv2D', 'BatchNormalization', 'ReLU', 'DepthwiseConv2D', 'GlobalAveragePooling2D', 'ZeroPadding2D', 'Functional'].map(kerasSnakeCase)).toEqual([
      'conv2d',
      'batch_normalization',
      're_lu',
      'depthwise_conv2d',
      'global_average_pooling2d',
      'zero_padding2d',
      'functional',
    ]);
  });

  it("parses Teachable Machine's INDEX NAME labels and leaves plain lists alone", () => {
    expect(parseLabels('0 Rock\n1 Paper\n2 Scissors\n3 Nothing\n')).toEqual(['Rock', 'Paper', 'Scissors', 'Nothing']);
    expect(parseLabels('0 5 Galoon\r\n1 500ML')).toEqual(['5 Galoon', '500ML']);
    expect(parseLabels('cat\n7 Up\n')).toEqual(['cat', '7 Up']);
    expect(parseLabels('\uFEFF1 a\n2 b')).toEqual(['1 a', '2 b']);
  });

  it('detects the format from the first bytes', () => {
    expect(detectFormat(new Uint8Array([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe('keras-h5');
    expect(detectFormat(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0]))).toBe('keras-v3');
    expect(detectFormat(new Uint8Array([0x18, 0, 0, 0, 0x54, 0x46, 0x4c, 0x33]))).toBe('tflite');
    expect(detectFormat(new TextEncoder().encode('  {"modelTopology": {}}'))).toBe('tfjs-layers');
    expect(detectFormat(new TextEncoder().encode('hello'))).toBeNull();
  });
});

describe.runIf(hasReal)('real Teachable Machine exports', { timeout: 120_000 }, () => {
  it('tm-tfjs-water (tfjs 1.3.1, nested Sequential ⊃ Model) matches tfjs-layers loading the original files', async () => {
    const dir = path.join(realDir, 'tm-tfjs-water');
    const doc = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const w = fs.readFileSync(path.join(dir, 'weights.bin'));
    const reference = await tfl.loadLayersModel(
      tf.io.fromMemory({ modelTopology: doc.modelTopology, weightSpecs: doc.weightsManifest[0].weights, weightData: w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength) }),
    );
    const imported = await importModel(dir);
    expect(flatLayerTypes(reference)).toEqual(['Sequential', 'Sequential']);
    expect(flatLayerTypes(imported.model).filter((t) => ['Sequential', 'Model', 'Functional'].includes(t))).toEqual([]);
    expect(imported.details?.nestedModels).toBe(3);
    expect(imported.model.countParams()).toBe(reference.countParams());
    expect(imported.meta.labels).toEqual(['空', '少し', '満杯']);
    expect(imported.meta.input).toEqual({ kind: 'image', size: [224, 224], channels: 3, normalization: { mean: [127.5], std: [127.5] }, dtype: 'float32' });
    expect(imported.details?.normalization.source).toBe('teachable-machine');
    expect(imported.meta.output).toBe('probabilities');
    expect(imported.meta.importedFrom?.format).toBe('tfjs-layers');
    const x = tf.randomUniform([6, 224, 224, 3], -1, 1, 'float32', 42);
    const d = maxAbsDiff(predict(imported.model, x), predict(reference, x));
    expect(d).toBeLessThanOrEqual(1e-5);
    x.dispose();
    reference.dispose();
    imported.model.dispose();
  });

  it.each(['tm-keras-rps', 'tm-keras-water'])('%s keras_model.h5 (Keras 2.4) matches a TF.js copy loaded by tfjs-layers and the FP32 .tflite in LiteRT', async (name) => {
    const file = path.join(realDir, name, 'keras_model.h5');
    // (a) The test's own TF.js copy: model_config as the topology, model_weights as the manifest, loaded by tfjs-layers itself.
    const { topology, specs, data } = await withH5(new Uint8Array(fs.readFileSync(file)), file, (f) => {
      const root = f.get('model_weights');
      if (!isGroup(root)) throw new Error('no model_weights');
      const specs: tf.io.WeightsManifestEntry[] = [];
      const parts: Float32Array[] = [];
      for (const layer of stringListAttr(root, 'layer_names') ?? []) {
        const g = root.get(layer);
        if (!isGroup(g)) throw new Error(`no group ${layer}`);
        for (const n of stringListAttr(g, 'weight_names') ?? []) {
          const ds = g.get(n);
          if (!isDataset(ds)) throw new Error(`no dataset ${n}`);
          const { shape, values } = datasetFloat32(ds, file);
          specs.push({ name: n.replace(/:0$/, ''), shape, dtype: 'float32' });
          parts.push(values);
        }
      }
      const total = parts.reduce((s, p) => s + p.length, 0);
      const data = new Float32Array(total);
      let o = 0;
      for (const p of parts) {
        data.set(p, o);
        o += p.length;
      }
      return { topology: JSON.parse(stringAttr(f, 'model_config')!), specs, data };
    });
    // tfjs-layers 4.22 does not know Keras 2.4's "Functional" name for nested functional models: its copy says "Model".
    const copy = JSON.parse(JSON.stringify(topology).replaceAll('"class_name":"Functional"', '"class_name":"Model"').replaceAll('"class_name": "Functional"', '"class_name": "Model"'));
    const reference = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: copy, weightSpecs: specs, weightData: data.buffer }));
    const imported = await importModel(file);
    expect(imported.meta.labels).toEqual(parseLabels(fs.readFileSync(path.join(realDir, name, 'labels.txt'), 'utf8')));
    expect(imported.meta.input).toMatchObject({ kind: 'image', size: [224, 224], channels: 3, normalization: { mean: [127.5], std: [127.5] } });
    expect(imported.details?.normalization.source).toBe('keras-application');
    expect(imported.model.countParams()).toBe(reference.countParams());
    const n = 4;
    const x = tf.randomUniform([n, 224, 224, 3], -1, 1, 'float32', 7);
    const ours = predict(imported.model, x);
    expect(maxAbsDiff(ours, predict(reference, x))).toBeLessThanOrEqual(1e-5);
    // (b) The FP32 .tflite our exporter writes from the import, run by LiteRT.
    const lite = await loadTfliteModel(buildTflite(imported.model, { precision: 'fp32' }).bytes);
    const xs = x.dataSync() as Float32Array;
    const per = 224 * 224 * 3;
    const classes = imported.meta.labels!.length;
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const [y] = await lite.run([xs.slice(i * per, (i + 1) * per)]);
      worst = Math.max(worst, maxAbsDiff(y as Float32Array, ours.subarray(i * classes, (i + 1) * classes)));
    }
    lite.close();
    expect(worst).toBeLessThanOrEqual(1e-4);
    x.dispose();
    reference.dispose();
    imported.model.dispose();
  });
});

describe('Keras files the test writes', { timeout: 120_000 }, () => {
  const size = 16;
  let original: tfl.LayersModel;
  let x: tf.Tensor;
  let expected: Float32Array;
  beforeAll(() => {
    original = tmLikeModel(size);
    x = tf.randomUniform([5, size, size, 3], -1, 1, 'float32', 3);
    expected = predict(original, x);
  });
  afterAll(() => {
    original.dispose();
    x.dispose();
  });

  it('a nested Keras 2 .h5 (Teachable Machine layout) imports to the same outputs, flat', async () => {
    const file = write('keras_model.h5', await writeKeras2H5(original), { 'labels.txt': '0 a\n1 b\n2 c\n' });
    const imported = await importModel(file);
    expect(imported.meta.labels).toEqual(['a', 'b', 'c']);
    expect(imported.details?.nestedModels).toBe(3);
    expect(flatLayerTypes(imported.model)).not.toContain('Sequential');
    expect(maxAbsDiff(predict(imported.model, x), expected)).toBeLessThanOrEqual(1e-6);
    imported.model.dispose();
  });

  it('nested weights named with their model prefix (model1/Conv1/kernel:0) map to the same layers', async () => {
    const file = write('prefixed.h5', await writeKeras2H5(original, { prefixNested: true }));
    const imported = await importModel(file);
    expect(maxAbsDiff(predict(imported.model, x), expected)).toBeLessThanOrEqual(1e-6);
    expect(imported.meta.labels).toEqual(['class 0', 'class 1', 'class 2']);
    expect(imported.warnings.join(' ')).toMatch(/No labels were found/);
    imported.model.dispose();
  });

  it('a nested Keras 3 .keras imports to the same outputs', async () => {
    const file = write('model.keras', await writeKeras3(original), { 'labels.txt': 'x\ny\nz\n' });
    const imported = await importModel(file);
    expect(imported.meta.importedFrom?.format).toBe('keras-v3');
    expect(imported.meta.labels).toEqual(['x', 'y', 'z']);
    expect(maxAbsDiff(predict(imported.model, x), expected)).toBeLessThanOrEqual(1e-6);
    // Layer names like those of Keras' MobileNetV2: the [-1, 1] convention, with the reason.
    expect(imported.meta.input).toMatchObject({ normalization: { mean: [127.5], std: [127.5] } });
    imported.model.dispose();
  });

  it('a TF.js model.json whose nested weights are prefixed (sequential_1/model1/Conv1/kernel) imports to the same outputs', async () => {
    let artifacts: tf.io.ModelArtifacts | null = null;
    await original.save(tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    const a = artifacts as unknown as tf.io.ModelArtifacts;
    const owner = new Map<string, string>();
    const walk = (m: tfl.LayersModel, prefix: string) => {
      for (const l of m.layers) {
        if ((l as tfl.LayersModel).layers) walk(l as tfl.LayersModel, `${prefix}${l.name}/`);
        else for (const w of l.weights) owner.set(w.originalName, `${prefix}${w.originalName}`);
      }
    };
    walk(original, '');
    const weights = a.weightSpecs!.map((s) => ({ ...s, name: owner.get(s.name)! }));
    expect(weights.some((w) => w.name.startsWith('sequential_1/model1/'))).toBe(true);
    const file = write('model.json', JSON.stringify({ modelTopology: a.modelTopology, weightsManifest: [{ paths: ['w.bin'], weights }] }));
    fs.writeFileSync(path.join(path.dirname(file), 'w.bin'), new Uint8Array(tf.io.CompositeArrayBuffer.join(a.weightData!)));
    const imported = await importModel(path.dirname(file));
    expect(maxAbsDiff(predict(imported.model, x), expected)).toBeLessThanOrEqual(1e-6);
    imported.model.dispose();
  });

  it('a leading Rescaling layer becomes the input convention and the model computes the same on converted inputs', async () => {
    const inp = tfl.input({ shape: [4, 4, 3], name: 'pixels' });
    const conv = tfl.layers.conv2d({ filters: 2, kernelSize: 3, name: 'conv' }).apply(inp) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 2, activation: 'softmax', name: 'dense' }).apply(tfl.layers.flatten({ name: 'flat' }).apply(conv)) as tfl.SymbolicTensor;
    const plain = tfl.model({ inputs: inp, outputs: out, name: 'functional' });
    const file = write(
      'rescaled.keras',
      await writeKeras3(plain, {
        edit: (config) => {
          // Insert Rescaling(1/127.5, -1) between the input and the conv, as `keras.layers.Rescaling` serialises.
          const c = config.config as { layers: Record<string, unknown>[] };
          const resc = {
            module: 'keras.layers',
            class_name: 'Rescaling',
            config: { name: 'rescaling', trainable: true, dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null }, scale: 1 / 127.5, offset: -1 },
            registered_name: null,
            name: 'rescaling',
            inbound_nodes: [{ args: [{ class_name: '__keras_tensor__', config: { shape: [null, 4, 4, 3], dtype: 'float32', keras_history: ['pixels', 0, 0] } }], kwargs: {} }],
          };
          const convLayer = c.layers.find((l) => (l.config as { name: string }).name === 'conv') as { inbound_nodes: { args: { config: { keras_history: unknown[] } }[] }[] };
          convLayer.inbound_nodes[0].args[0].config.keras_history = ['rescaling', 0, 0];
          c.layers.splice(1, 0, resc);
        },
      }),
    );
    const imported = await importModel(file);
    expect(imported.details?.normalization.source).toBe('rescaling-layer');
    const n = (imported.meta.input as { normalization: { mean: number[]; std: number[] } }).normalization;
    expect(n.mean[0]).toBeCloseTo(127.5, 6);
    expect(n.std[0]).toBeCloseTo(127.5, 6);
    expect(flatLayerTypes(imported.model)).not.toContain('Rescaling');
    const raw = tf.randomUniform([3, 4, 4, 3], 0, 255, 'float32', 9);
    const normalized = tf.div(tf.sub(raw, n.mean[0]), n.std[0]);
    expect(maxAbsDiff(predict(imported.model, normalized), predict(plain, normalized))).toBeLessThanOrEqual(1e-6);
    tf.dispose([raw, normalized]);
    plain.dispose();
    imported.model.dispose();
  });

  it('the caller can override the normalization; with no evidence the [0, 1] guess is flagged', async () => {
    const inp = tfl.input({ shape: [4, 4, 1], name: 'in' });
    const out = tfl.layers.dense({ units: 2, name: 'dense' }).apply(tfl.layers.flatten({ name: 'flat' }).apply(inp)) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: inp, outputs: out, name: 'tiny' });
    const file = write('tiny.h5', await writeKeras2H5(m));
    const guessed = await importModel(file);
    expect(guessed.details?.normalization).toMatchObject({ source: 'default', guessed: true });
    expect(guessed.meta.input).toMatchObject({ channels: 1, normalization: { mean: [0], std: [255] } });
    expect(guessed.meta.output).toBe('logits');
    expect(guessed.warnings.join(' ')).toMatch(/Nothing in the file says which pixel values/);
    const chosen = await importModel(file, { normalization: 'raw' });
    expect(chosen.details?.normalization).toMatchObject({ source: 'caller', guessed: false });
    expect(chosen.meta.input).toMatchObject({ normalization: { mean: [0], std: [1] } });
    guessed.model.dispose();
    chosen.model.dispose();
    m.dispose();
  });
});
