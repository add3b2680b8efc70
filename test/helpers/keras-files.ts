/**
 * Tests write their own Keras files from a TF.js model (nested models included), so the importer is
 * not tested only on the shared exports. The layouts follow what Keras itself writes:
 *
 * Keras 2 HDF5 (keras/src/legacy/saving/hdf5_format.py `save_model_to_hdf5`,
 * `save_weights_to_hdf5_group`; and Teachable Machine's keras_model.h5, Keras 2.4.0):
 * - root attributes `model_config` (JSON), `keras_version`, `backend`;
 * - group `model_weights` with attribute `layer_names` (top-level layers, no InputLayer) and per layer
 *   a group with attribute `weight_names` (`Conv1/kernel:0`…; a nested model lists all its layers'
 *   weights, trainable ones first) and one dataset per weight at that path;
 * - functional models are `class_name: "Functional"`; a Sequential's config starts with an explicit
 *   `InputLayer` named `<sequential>_input`; layers carry `dtype`, convolutions `groups: 1`.
 *
 * Keras 3 `.keras` (keras/src/saving/saving_lib.py `_save_model_to_fileobj`, `_save_state`,
 * `_save_container_state`, `H5IOStore`; serialization_lib for config.json):
 * - a zip with `metadata.json`, `config.json`, `model.weights.h5`;
 * - every serialised object is `{module, class_name, config, registered_name}`; dtypes are
 *   `DTypePolicy` objects; `InputLayer` has `batch_shape`; functional `inbound_nodes` are
 *   `{args, kwargs}` with `__keras_tensor__` arguments holding `keras_history`;
 * - weights of a layer at `<container path>/layers/<snake_case class>[_n]/vars/<i>`, numbered per
 *   class within each model, Sequential's InputLayer not counted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { zipSync } from 'fflate';
import type * as tfl from '@tensorflow/tfjs-layers';
import { type H5File, writeH5 } from '../../src-main/models/import/h5';

type Json = Record<string, unknown>;

function isModel(l: tfl.layers.Layer): l is tfl.LayersModel {
  return (l as tfl.LayersModel).layers !== undefined && ['Sequential', 'Model', 'Functional'].includes(l.getClassName());
}

/** Keras' class keys (naming.to_snake_case) for the classes these tests use. */
const SNAKE: Record<string, string> = {
  Conv2D: 'conv2d',
  DepthwiseConv2D: 'depthwise_conv2d',
  BatchNormalization: 'batch_normalization',
  ReLU: 're_lu',
  Add: 'add',
  Dense: 'dense',
  Dropout: 'dropout',
  Activation: 'activation',
  GlobalAveragePooling2D: 'global_average_pooling2d',
  ZeroPadding2D: 'zero_padding2d',
  Rescaling: 'rescaling',
  Flatten: 'flatten',
  Reshape: 'reshape',
  Model: 'functional',
  Functional: 'functional',
  Sequential: 'sequential',
};

interface LeafWeights {
  layer: tfl.layers.Layer;
  /** Variable names as Keras names them (kernel, bias, gamma, beta, moving_mean, moving_variance, depthwise_kernel). */
  names: string[];
  values: { shape: number[]; data: Float32Array; trainable: boolean }[];
}

function leafWeights(l: tfl.layers.Layer): LeafWeights {
  return {
    layer: l,
    names: l.weights.map((w) => w.originalName.slice(w.originalName.lastIndexOf('/') + 1)),
    values: l.weights.map((w) => ({ shape: [...w.shape] as number[], data: w.read().dataSync() as Float32Array, trainable: w.trainable })),
  };
}

function leaves(l: tfl.layers.Layer): tfl.layers.Layer[] {
  return isModel(l) ? l.layers.flatMap(leaves) : [l];
}

// ---------- Keras 2 ----------

function keras2Layer(json: Json, obj: tfl.layers.Layer): Json {
  const cls = json.class_name as string;
  const config = { ...(json.config as Json) };
  if (isModel(obj)) {
    const layers = (config.layers as Json[]).map((lj) => {
      const name = (lj.config as Json).name as string;
      return keras2Layer(lj, obj.layers.find((x) => x.name === name) ?? obj.getLayer(name));
    });
    if (cls === 'Sequential') {
      for (const lj of layers) delete (lj.config as Json).batch_input_shape;
      layers.unshift({ class_name: 'InputLayer', config: { batch_input_shape: obj.inputs[0].shape, dtype: 'float32', sparse: false, ragged: false, name: `${obj.name}_input` } });
    }
    config.layers = layers;
    return { class_name: cls === 'Model' ? 'Functional' : cls, config };
  }
  if (cls === 'InputLayer') config.ragged = false;
  else config.dtype = 'float32';
  if (cls === 'Conv2D') config.groups = 1;
  return { ...json, config };
}

/** A Keras 2 `model.save('m.h5')` file of `model` (a TF.js model, nested or not). `prefixNested` names nested weights `<model>/<layer>/<var>:0`. */
export async function writeKeras2H5(model: tfl.LayersModel, opts: { prefixNested?: boolean; edit?: (config: Json, f: H5File) => void } = {}): Promise<Uint8Array> {
  const config = keras2Layer(model.toJSON(null, false) as Json, model);
  return writeH5((f) => {
    f.create_attribute('keras_version', '2.4.0');
    f.create_attribute('backend', 'tensorflow');
    const mw = f.create_group('model_weights');
    const top = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
    mw.create_attribute('layer_names', top.map((l) => l.name));
    mw.create_attribute('keras_version', '2.4.0');
    mw.create_attribute('backend', 'tensorflow');
    for (const l of top) {
      const g = mw.create_group(l.name);
      const all = leaves(l).map(leafWeights);
      // Keras' `layer.weights` for a nested model: trainable weights of every layer, then the rest.
      const entries = [true, false].flatMap((trainable) =>
        all.flatMap((lw) => lw.names.map((n, i) => ({ lw, n, v: lw.values[i] })).filter((e) => e.v.trainable === trainable)),
      );
      const names = entries.map(({ lw, n }) => `${isModel(l) && opts.prefixNested ? `${l.name}/` : ''}${lw.layer.name}/${n}:0`);
      if (names.length) g.create_attribute('weight_names', names);
      entries.forEach(({ v }, i) => {
        const parts = names[i].split('/');
        let at = g;
        for (const p of parts.slice(0, -1)) at = (at.keys().includes(p) ? at.get(p) : at.create_group(p)) as typeof g;
        at.create_dataset({ name: parts[parts.length - 1], data: v.data, shape: v.shape, dtype: '<f' });
      });
    }
    opts.edit?.(config, f);
    f.create_attribute('model_config', JSON.stringify(config));
  });
}

// ---------- Keras 3 ----------

const dtypePolicy = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };

function keras3Value(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(keras3Value);
  if (v && typeof v === 'object') {
    const o = v as Json;
    if (typeof o.class_name === 'string' && 'config' in o) return { module: 'keras.initializers', class_name: o.class_name, config: keras3Value(o.config), registered_name: null };
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, keras3Value(x)]));
  }
  return v;
}

function kerasTensor(shape: (number | null)[], history: [string, number, number]): Json {
  return { class_name: '__keras_tensor__', config: { shape, dtype: 'float32', keras_history: history } };
}

function keras3Layer(json: Json, obj: tfl.layers.Layer, inModel: tfl.LayersModel | null): Json {
  const cls = json.class_name as string;
  const raw = json.config as Json;
  let config: Json;
  if (isModel(obj)) {
    const layers = (raw.layers as Json[]).map((lj) => keras3Layer(lj, obj.getLayer((lj.config as Json).name as string), obj));
    if (cls === 'Sequential') {
      for (const lj of layers) delete (lj.config as Json).batch_shape;
      layers.unshift({ module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: obj.inputs[0].shape, dtype: 'float32', sparse: false, name: `input_layer_${obj.name}` }, registered_name: null });
      config = { name: obj.name, trainable: true, dtype: dtypePolicy, layers };
    } else {
      config = { name: obj.name, trainable: true, layers, input_layers: raw.input_layers, output_layers: raw.output_layers };
    }
    return { module: 'keras', class_name: cls === 'Model' ? 'Functional' : cls, config, registered_name: cls === 'Model' ? 'Functional' : null, build_config: { input_shape: obj.inputs[0].shape } };
  }
  config = keras3Value(raw) as Json;
  if (cls === 'InputLayer') {
    config = { batch_shape: raw.batch_input_shape, dtype: 'float32', sparse: false, name: raw.name };
  } else {
    config.dtype = dtypePolicy;
    if (config.batch_input_shape) config.batch_shape = config.batch_input_shape;
    delete config.batch_input_shape;
  }
  const out: Json = { module: 'keras.layers', class_name: cls, config, registered_name: null };
  if (inModel && inModel.getClassName() !== 'Sequential') {
    out.name = raw.name;
    out.inbound_nodes = ((json.inbound_nodes as [string, number, number, Json][][]) ?? []).map((node) => {
      const ts = node.map(([n, ni, ti]) => kerasTensor(inModel.getLayer(n).outputShape as (number | null)[], [n, ni, ti]));
      return { args: ts.length === 1 ? [ts[0]] : [ts], kwargs: {} };
    });
  }
  return out;
}

function keras3Weights(f: H5File, model: tfl.LayersModel, base: string): void {
  const used = new Map<string, number>();
  for (const l of model.layers) {
    if (model.getClassName() === 'Sequential' && l.getClassName() === 'InputLayer') continue;
    const cls = l.getClassName() === 'InputLayer' ? 'input_layer' : SNAKE[l.getClassName()];
    if (!cls) throw new Error(`no Keras class key for ${l.getClassName()} in this helper`);
    const n = used.get(cls);
    used.set(cls, n === undefined ? 0 : n + 1);
    const key = `${base}layers/${n === undefined ? cls : `${cls}_${n + 1}`}`;
    if (isModel(l)) {
      keras3Weights(f, l, `${key}/`);
      continue;
    }
    if (!l.weights.length) continue;
    const parts = `${key}/vars`.split('/');
    let g: ReturnType<H5File['create_group']> | H5File = f;
    for (const p of parts) g = (g.keys().includes(p) ? g.get(p) : g.create_group(p)) as H5File;
    leafWeights(l).values.forEach((v, i) => g.create_dataset({ name: String(i), data: v.data, shape: v.shape, dtype: '<f' }));
  }
}

/** A Keras 3 `model.save('m.keras')` archive of `model`; `edit` may change the config or the weights file before zipping. */
export async function writeKeras3(
  model: tfl.LayersModel,
  opts: { edit?: (config: Json) => void; editWeights?: (f: H5File) => void; omitWeights?: boolean } = {},
): Promise<Uint8Array> {
  const config = keras3Layer(model.toJSON(null, false) as Json, model, null);
  config.compile_config = null;
  opts.edit?.(config);
  const weights = await writeH5((f) => {
    keras3Weights(f, model, '');
    opts.editWeights?.(f);
  });
  const files: Record<string, Uint8Array> = {
    'metadata.json': new TextEncoder().encode(JSON.stringify({ keras_version: '3.8.0', date_saved: '2025-01-01@00:00:00' })),
    'config.json': new TextEncoder().encode(JSON.stringify(config)),
  };
  if (!opts.omitWeights) files['model.weights.h5'] = weights;
  return zipSync(files);
}

/** Write `bytes` as `name` in a fresh folder under `root`, with `extra` text files beside it (labels.txt…). */
export function writeModelFile(root: string, name: string, bytes: Uint8Array | string, extra: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(root, 'm-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  for (const [n, text] of Object.entries(extra)) fs.writeFileSync(path.join(dir, n), text);
  return file;
}
