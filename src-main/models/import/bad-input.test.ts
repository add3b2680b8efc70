/**
 * Bad input to importModel / importModelArtifact: each gets an AppError that says what was found
 * and what to do, and nothing is stored (no artifact row, no artifact folder).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf } from '../../../test/helpers/errors';
import { writeKeras2H5, writeKeras3, writeModelFile } from '../../../test/helpers/keras-files';
import { importModelArtifact } from '../../compress/train/import-artifact';
import { resolvePaths } from '../../host/paths';
import { Store } from '../../store';
import { initBackend } from '../../tf';
import { loadModel } from '../io';
import { importModel } from './index';
import { ZIP_PIECE_BYTES } from './zip';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-import-bad-'));
beforeAll(async () => {
  await initBackend();
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const write = (name: string, bytes: Uint8Array | string, extra: Record<string, string> = {}) => writeModelFile(tmp, name, bytes, extra);

/** conv → flatten → dense(3, softmax), 6×6×3 input. */
function small(): tfl.LayersModel {
  const inp = tfl.input({ shape: [6, 6, 3], name: 'image' });
  const c = tfl.layers.conv2d({ filters: 2, kernelSize: 3, name: 'conv' }).apply(inp) as tfl.SymbolicTensor;
  const f = tfl.layers.flatten({ name: 'flatten' }).apply(c) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'dense' }).apply(f) as tfl.SymbolicTensor;
  return tfl.model({ inputs: inp, outputs: out, name: 'small' });
}

type Json = Record<string, unknown>;
function layerConfig(config: Json, name: string): Json {
  const layers = (config.config as { layers: Json[] }).layers;
  return layers.find((l) => (l.config as Json).name === name)!.config as Json;
}

describe('bad files are refused with a clear error', { timeout: 60_000 }, () => {
  let model: tfl.LayersModel;
  let h5: Uint8Array;
  beforeAll(async () => {
    model = small();
    h5 = await writeKeras2H5(model);
  });
  afterAll(() => model.dispose());

  it('a truncated .h5', async () => {
    const e = await errorOf(importModel(write('cut.h5', h5.subarray(0, Math.floor(h5.length / 2)))));
    expect(e.code).toBe('INVALID_MODEL');
    expect(e.message).toMatch(/cannot be read as HDF5 \(truncated file/);
    expect(e.message).toMatch(/damaged or cut short/);
  });

  it('a corrupt .h5 (signature, then garbage)', async () => {
    const bad = new Uint8Array(4096);
    bad.set(h5.subarray(0, 8));
    for (let i = 8; i < bad.length; i++) bad[i] = (i * 7919) & 0xff;
    const e = await errorOf(importModel(write('garbage.h5', bad)));
    expect(e.code).toBe('INVALID_MODEL');
    expect(e.message).toMatch(/cannot be read as HDF5/);
  });

  it('a .h5 written by save_weights (no architecture)', async () => {
    const { writeH5 } = await import('./h5');
    const weightsOnly = await writeH5((f) => {
      f.create_attribute('layer_names', ['dense']);
    });
    const e = await errorOf(importModel(write('weights.h5', weightsOnly)));
    expect(e.code).toBe('INVALID_MODEL');
    expect(e.message).toMatch(/holds weights only .* Save the whole model/);
  });

  it('a .keras without weights', async () => {
    const e = await errorOf(importModel(write('noweights.keras', await writeKeras3(model, { omitWeights: true }))));
    expect(e.code).toBe('INVALID_MODEL');
    expect(e.message).toMatch(/has no weights \(no model\.weights\.h5 inside\)/);
  });

  it('Keras 2 weights whose shape does not match the config', async () => {
    const file = write('shape.h5', await writeKeras2H5(model, { edit: (config) => void (layerConfig(config, 'dense').units = 4) }));
    const e = await errorOf(importModel(file));
    expect(e.code).toBe('WEIGHTS_MISMATCH');
    expect(e.message).toMatch(/"dense\/kernel:0" has shape \[32, 3\] but layer "dense" \(Dense\) needs \[32, 4\]/);
  });

  it('Keras 2 weights missing one the config needs, or holding one too many', async () => {
    type H5Node = { get(n: string): H5Node; attrs: Record<string, { value: unknown }>; delete_attribute(n: string): void; create_attribute(n: string, v: unknown): void; create_dataset(a: unknown): void };
    const setNames = (f: unknown, edit: (names: string[]) => string[]) => {
      const group = (f as H5Node).get('model_weights').get('dense');
      const names = group.attrs.weight_names.value as string[];
      group.delete_attribute('weight_names');
      group.create_attribute('weight_names', edit(names));
      return group;
    };
    const missing = await writeKeras2H5(model, { edit: (_c, f) => void setNames(f, (n) => n.filter((x) => x !== 'dense/bias:0')) });
    const e1 = await errorOf(importModel(write('missing.h5', missing)));
    expect(e1.code).toBe('WEIGHTS_MISMATCH');
    expect(e1.message).toMatch(/layer "dense" \(Dense\) needs 2 weights and the file has none for bias/);
    const extra = await writeKeras2H5(model, {
      edit: (_c, f) => setNames(f, (n) => [...n, 'dense/extra:0']).get('dense').create_dataset({ name: 'extra:0', data: new Float32Array([1, 2]), shape: [2], dtype: '<f' }),
    });
    const e2 = await errorOf(importModel(write('extra.h5', extra)));
    expect(e2.code).toBe('WEIGHTS_MISMATCH');
    expect(e2.message).toMatch(/1 stored weight belongs to no layer of the configuration \(dense\/extra:0\)/);
  });

  it('Keras 3 weights: a layer storing more variables than the config needs, and a shape mismatch', async () => {
    const more = await writeKeras3(model, {
      editWeights: (f) => (f.get('layers/dense/vars') as unknown as { create_dataset(a: unknown): void }).create_dataset({ name: '2', data: new Float32Array([1]), shape: [1], dtype: '<f' }),
    });
    const e1 = await errorOf(importModel(write('more.keras', more)));
    expect(e1.code).toBe('WEIGHTS_MISMATCH');
    expect(e1.message).toMatch(/layer "dense" \(Dense\) needs 2 weights \(kernel, bias\) but the file stores 3 under layers\/dense/);
    const shape = await writeKeras3(model, { edit: (config) => void (layerConfig(config, 'conv').filters = 5) });
    const e2 = await errorOf(importModel(write('shape.keras', shape)));
    expect(e2.code).toBe('WEIGHTS_MISMATCH');
    expect(e2.message).toMatch(/needs \[3, 3, 3, 5\]/);
  });

  it("a model.json whose weight shard is missing", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'tfjs-'));
    fs.copyFileSync(path.join('/work/shared/real-models/tm-tfjs-water/model.json'), path.join(dir, 'model.json'));
    const e = await errorOf(importModel(dir));
    expect(e.code).toBe('INVALID_MODEL');
    expect(e.message).toMatch(/the weight file .*weights\.bin is missing \(model\.json lists it\)/);
  });

  it('a model with two outputs (a detector: boxes and scores)', async () => {
    const inp = tfl.input({ shape: [8, 8, 3], name: 'image' });
    const f = tfl.layers.flatten({ name: 'flatten' }).apply(inp) as tfl.SymbolicTensor;
    const boxes = tfl.layers.dense({ units: 4, name: 'boxes' }).apply(f) as tfl.SymbolicTensor;
    const scores = tfl.layers.dense({ units: 2, activation: 'softmax', name: 'scores' }).apply(f) as tfl.SymbolicTensor;
    const det = tfl.model({ inputs: inp, outputs: [boxes, scores], name: 'detector' });
    const e = await errorOf(importModel(write('det.h5', await writeKeras2H5(det))));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toMatch(/has 2 outputs \("boxes", "scores"\); PocketBench imports classifiers with one output/);
    det.dispose();
  });

  it('a model whose one output is not [?, classes] (a detector head)', async () => {
    const inp = tfl.input({ shape: [8, 8, 3], name: 'image' });
    const c = tfl.layers.conv2d({ filters: 4, kernelSize: 1, name: 'box_head' }).apply(inp) as tfl.SymbolicTensor;
    const r = tfl.layers.reshape({ targetShape: [64, 4], name: 'boxes' }).apply(c) as tfl.SymbolicTensor;
    const det = tfl.model({ inputs: inp, outputs: r, name: 'detector' });
    const e = await errorOf(importModel(write('det3.keras', await writeKeras3(det))));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toMatch(/output "boxes" has shape \[\?, 64, 4\]; a classifier gives one score per class/);
    det.dispose();
  });

  it('a labels file whose count differs from the outputs', async () => {
    const e = await errorOf(importModel(write('m.h5', h5, { 'labels.txt': '0 a\n1 b\n' })));
    expect(e.code).toBe('LABELS_MISMATCH');
    expect(e.message).toMatch(/labels\.txt lists 2 labels but the model .* has 3 outputs/);
  });

  it('a layer the exporter cannot handle is named', async () => {
    const e = await errorOf(importModel(write('tanh.h5', await writeKeras2H5(model, { edit: (config) => void (layerConfig(config, 'conv').activation = 'tanh') }))));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toMatch(/"conv" \(Conv2D: activation "tanh" not supported\)/);
  });

  it('a file that is no model', async () => {
    const e = await errorOf(importModel(write('notes.h5', 'just some text')));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toMatch(/is not a model PocketBench can read/);
  });

  it('a float .tflite goes through the same entry; a quantized one is refused as a teacher with what to do instead', async () => {
    const ok = await importModel('/work/shared/real-models/tm-tflite-catdog');
    expect(ok.meta.labels).toEqual(['cat', 'dog']);
    expect(ok.meta.importedFrom?.format).toBe('tflite');
    ok.model.dispose();
    const e = await errorOf(importModel('/work/shared/real-models/tm-tflite-int8'));
    expect(e.code).toBe('QUANTIZED_TEACHER');
    expect(e.message).toMatch(/profile/i);
  });
});

describe('hostile zips', { timeout: 60_000 }, () => {
  /** A .keras-shaped zip whose weights entry is `size` zero bytes (deflates ~1000:1). */
  function bomb(size: number): Uint8Array {
    return zipSync({ 'config.json': new TextEncoder().encode('{}'), 'model.weights.h5': new Uint8Array(size) }, { level: 9 });
  }
  /** Overwrite the uncompressed size of `entry` in its local header and the central directory. */
  function lie(zip: Uint8Array, entry: string, size: number): Uint8Array {
    const out = zip.slice();
    const v = new DataView(out.buffer);
    const name = new TextEncoder().encode(entry);
    for (let i = 0; i + 46 < out.length; i++) {
      const sig = v.getUint32(i, true);
      const at = sig === 0x04034b50 ? 30 : sig === 0x02014b50 ? 46 : -1;
      if (at < 0) continue;
      const n = v.getUint16(i + (sig === 0x04034b50 ? 26 : 28), true);
      if (n !== name.length || !name.every((b, k) => out[i + at + k] === b)) continue;
      v.setUint32(i + (sig === 0x04034b50 ? 22 : 24), size, true);
    }
    return out;
  }

  it('an entry inflating past the limit is stopped while inflating, even when its headers lie about its size', async () => {
    const zip = bomb(24 << 20);
    expect(zip.length).toBeLessThan(100_000);
    const honest = await errorOf(importModel(write('bomb.keras', zip), { zipLimits: { maxEntryBytes: 4 << 20, maxTotalBytes: 4 << 20 } }));
    expect(honest.code).toBe('TOO_LARGE');
    expect(honest.message).toMatch(/zip bomb/);
    const lying = await errorOf(importModel(write('lying.keras', lie(zip, 'model.weights.h5', 1000)), { zipLimits: { maxEntryBytes: 4 << 20, maxTotalBytes: 4 << 20 } }));
    expect(lying.code).toBe('TOO_LARGE');
    expect(lying.details?.bytes as number).toBeGreaterThan(4 << 20);
    // Counted per piece fed to the inflater: at most one piece's worth (≤ 1032 × 16 KiB) past the limit.
    expect(lying.details?.bytes as number).toBeLessThanOrEqual((4 << 20) + 1032 * ZIP_PIECE_BYTES);
  });

  it('an entry declaring more than the default 1 GiB limit is refused before inflating', async () => {
    const e = await errorOf(importModel(write('huge.keras', lie(bomb(1 << 20), 'model.weights.h5', 0xfffffff0))));
    expect(e.code).toBe('TOO_LARGE');
    expect(e.message).toMatch(/the size its header declares/);
  });
});

describe('importModelArtifact stores the model with its meta, or nothing', { timeout: 60_000 }, () => {
  const dataDir = path.join(tmp, 'data');
  const paths = resolvePaths(dataDir);
  let store: Store;
  beforeAll(() => {
    fs.mkdirSync(dataDir, { recursive: true });
    store = new Store(paths.dbPath);
  });
  afterAll(() => store.close());
  const folders = () => (fs.existsSync(paths.artifactsDir) ? fs.readdirSync(paths.artifactsDir) : []);

  it('bad input leaves no artifact row and no folder', async () => {
    const model = small();
    const bad = [
      write('cut.h5', (await writeKeras2H5(model)).subarray(0, 3000)),
      write('m.h5', await writeKeras2H5(model), { 'labels.txt': 'only one\n' }),
      write('noweights.keras', await writeKeras3(model, { omitWeights: true })),
    ];
    for (const file of bad) {
      const e = await errorOf(importModelArtifact({ store, paths }, { path: file }));
      expect(e.code).toMatch(/INVALID_MODEL|LABELS_MISMATCH/);
    }
    expect(store.artifacts.list({ limit: 10, offset: 0 }).total).toBe(0);
    expect(folders()).toEqual([]);
    model.dispose();
  });

  it('a good file becomes an artifact of no run whose model.json carries labels and input convention', async () => {
    const model = small();
    const file = write('keras_model.h5', await writeKeras2H5(model), { 'labels.txt': '0 Rock\n1 Paper\n2 Scissors\n' });
    const r = await importModelArtifact({ store, paths }, { path: file, normalization: 'signed' });
    expect(r.artifact.runId).toBeNull();
    expect(r.artifact.format).toBe('tfjs-layers');
    expect(r.format).toBe('keras-h5');
    expect(r.summary.totals.params).toBe(model.countParams());
    expect(r.artifact.params).toBe(model.countParams());
    const loaded = await loadModel(r.artifact.path);
    expect(loaded.meta).toMatchObject({ labels: ['Rock', 'Paper', 'Scissors'], output: 'probabilities', input: { kind: 'image', size: [6, 6], normalization: { mean: [127.5], std: [127.5] } } });
    const x = tf.randomUniform([2, 6, 6, 3], -1, 1, 'float32', 4);
    const a = (model.predict(x) as tf.Tensor).dataSync();
    const b = (loaded.model.predict(x) as tf.Tensor).dataSync();
    expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])))).toBeLessThanOrEqual(1e-6);
    expect(folders()).toHaveLength(1);
    tf.dispose(x);
    loaded.model.dispose();
    model.dispose();
  });
});
