/**
 * Nested models (a `Sequential` or functional `Model` used as a layer, as Teachable Machine's
 * Sequential ⊃ Sequential ⊃ MobileNetV2 + Sequential head) flattened into one functional topology
 * whose leaves are the original layers, with the same configs, so the weights can be copied
 * layer by layer. Every leaf keeps where it came from (`path`: the nested models' names then its
 * own; `kerasPath`: where Keras 3 saves its variables), which is how the readers find its weights.
 *
 * Inbound node indices are local to each model's config (Keras writes them that way), so each
 * nested model is expanded with its own table of (layer, node) → flat tensor. A nested model used
 * twice shares its leaves: the second call adds inbound nodes to the same flat layers.
 */
import { AppError } from '../../../src-shared/errors';
import { declaredInputShape, isModelLayer, type LayerJson, type NodeInput } from './keras-config';

type Ref = [string, number, number];

export interface FlatLeaf {
  /** Name in the flat model (the original name unless two nested models used the same one). */
  name: string;
  className: string;
  /** Names from the outermost nested model down to the layer's own (original) name. */
  path: string[];
  /** Where Keras 3's saving_lib stores this layer's variables: `layers/functional/layers/conv2d_1`. */
  kerasPath: string;
}

export interface FlatTopology {
  /** A functional model config (Keras 2 / tfjs-layers JSON). */
  topology: { class_name: 'Model'; config: { name: string; layers: LayerJson[]; input_layers: Ref[]; output_layers: Ref[] } };
  leaves: FlatLeaf[];
  /** How many nested models were expanded (0: the model was flat already). */
  nestedModels: number;
}

/** Keras' `naming.to_snake_case` (keras/src/utils/naming.py): the saving_lib container key of a layer class. */
export function kerasSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/**
 * Keras 3 names each layer of a Sequential/Functional in its weights file by its class, snake_case,
 * numbered per class within that model (keras/src/saving/saving_lib.py `_save_container_state`).
 * A Sequential's `layers` exclude its InputLayer; a Functional's include them (no variables either way).
 */
function kerasChildKeys(model: LayerJson): Map<LayerJson, string> {
  const used = new Map<string, number>();
  const keys = new Map<LayerJson, string>();
  const layers = model.config.layers as LayerJson[];
  for (const l of layers) {
    if (model.class_name === 'Sequential' && l.class_name === 'InputLayer') continue;
    const base = kerasSnakeCase(l.class_name === 'Model' ? 'Functional' : l.class_name);
    const n = used.get(base);
    used.set(base, n === undefined ? 0 : n + 1);
    keys.set(l, n === undefined ? base : `${base}_${n + 1}`);
  }
  return keys;
}

function layerName(l: LayerJson): string {
  return String(l.name ?? l.config.name ?? l.class_name);
}

export function flattenTopology(top: LayerJson, what: string): FlatTopology {
  const invalid = (problem: string) => new AppError('INVALID_MODEL', `${what}: ${problem}`, { file: what });
  if (!isModelLayer(top)) throw invalid(`the top level is a ${top.class_name} layer, not a model.`);
  const flat: LayerJson[] = [];
  const leaves: FlatLeaf[] = [];
  const byKey = new Map<string, LayerJson>();
  const used = new Set<string>();
  let nestedModels = 0;

  const unique = (name: string): string => {
    let n = name;
    for (let i = 1; used.has(n); i++) n = `${name}_${i}`;
    used.add(n);
    return n;
  };

  const leaf = (l: LayerJson, path: string[], kerasPath: string, inputs: Ref[], kwargs: Record<string, unknown>): Ref[] => {
    const key = path.join('\u0000');
    let f = byKey.get(key);
    if (!f) {
      const config = { ...l.config };
      // The input shape of an inner layer is its model's business; the flat model has one InputLayer.
      delete config.batch_input_shape;
      delete config.batch_shape;
      delete config.input_shape;
      const name = unique(path[path.length - 1]);
      config.name = name;
      f = { class_name: l.class_name, name, config, inbound_nodes: [] };
      byKey.set(key, f);
      flat.push(f);
      leaves.push({ name, className: l.class_name, path, kerasPath });
    }
    (f.inbound_nodes as NodeInput[][]).push(inputs.map((r) => [...r, kwargs] as NodeInput));
    return [[f.name as string, f.inbound_nodes!.length - 1, 0]];
  };

  const call = (l: LayerJson, path: string[], kerasPath: string, inputs: Ref[], kwargs: Record<string, unknown>): Ref[] =>
    isModelLayer(l) ? callModel(l, [...path, layerName(l)], kerasPath, inputs) : leaf(l, [...path, layerName(l)], kerasPath, inputs, kwargs);

  const callModel = (m: LayerJson, path: string[], kerasPath: string, inputs: Ref[]): Ref[] => {
    nestedModels++;
    const layers = m.config.layers as LayerJson[];
    const keys = kerasChildKeys(m);
    const childPath = (l: LayerJson) => `${kerasPath ? `${kerasPath}/` : ''}layers/${keys.get(l)}`;
    if (m.class_name === 'Sequential') {
      let x = inputs;
      for (const l of layers) {
        if (l.class_name === 'InputLayer') continue;
        if (x.length !== 1) throw invalid(`in the Sequential model "${layerName(m)}", layer "${layerName(l)}" would get ${x.length} inputs.`);
        x = call(l, path, childPath(l), x, {});
      }
      return x;
    }
    const inputLayers = m.config.input_layers as Ref[];
    const outputLayers = m.config.output_layers as Ref[];
    if (inputLayers.length !== inputs.length) throw invalid(`the nested model "${layerName(m)}" takes ${inputLayers.length} inputs but is given ${inputs.length}.`);
    const local = new Map<string, Ref[]>();
    inputLayers.forEach(([n, node], i) => local.set(`${n}|${node}`, [inputs[i]]));
    const pending: { l: LayerJson; k: number; node: NodeInput[] }[] = [];
    for (const l of layers) {
      if (l.class_name === 'InputLayer') continue;
      (l.inbound_nodes as NodeInput[][] | undefined ?? []).forEach((node, k) => pending.push({ l, k, node }));
    }
    // Keras lists layers in a topological order, but resolve by readiness so any order works.
    while (pending.length) {
      const ready = pending.findIndex(({ node }) => node.every(([n, ni, ti]) => local.get(`${n}|${ni}`)?.[ti] !== undefined));
      if (ready < 0) {
        const { l, node } = pending[0];
        const missing = node.find(([n, ni, ti]) => local.get(`${n}|${ni}`)?.[ti] === undefined)!;
        throw invalid(`in the model "${layerName(m)}", layer "${layerName(l)}" takes its input from "${missing[0]}" (node ${missing[1]}), which the model does not produce.`);
      }
      const [{ l, k, node }] = pending.splice(ready, 1);
      const ins = node.map(([n, ni, ti]) => local.get(`${n}|${ni}`)![ti]);
      local.set(`${layerName(l)}|${k}`, call(l, path, childPath(l), ins, node[0]?.[3] ?? {}));
    }
    return outputLayers.map(([n, ni, ti]) => {
      const r = local.get(`${n}|${ni}`)?.[ti];
      if (!r) throw invalid(`the model "${layerName(m)}" names "${n}" as an output, but no such layer output exists.`);
      return r;
    });
  };

  // The flat model's inputs: the top model's InputLayers, or one made from the shape a Sequential's first layer declares.
  const inputRefs: Ref[] = [];
  const addInput = (l: LayerJson | null, shape: (number | null)[], dtype: unknown) => {
    const name = unique(l ? layerName(l) : 'input');
    flat.push({ class_name: 'InputLayer', name, config: { ...(l?.config ?? {}), batch_input_shape: shape, dtype: dtype ?? 'float32', sparse: false, name }, inbound_nodes: [] });
    inputRefs.push([name, 0, 0]);
  };
  const topLayers = top.config.layers as LayerJson[];
  let outputs: Ref[];
  if (top.class_name === 'Sequential') {
    const first = topLayers[0];
    if (!first) throw invalid('the model has no layers.');
    // The shape is declared by an InputLayer, the first layer, or (nested) the first layer of the first model.
    let probe: LayerJson | undefined = first;
    let shape: (number | null)[] | null = null;
    let dtype: unknown;
    while (probe && !shape) {
      shape = declaredInputShape(probe);
      dtype = probe.config.dtype;
      if (!shape && isModelLayer(probe)) {
        const inner = probe.config.layers as LayerJson[];
        probe = probe.class_name === 'Sequential' ? inner[0] : inner.find((x) => x.class_name === 'InputLayer');
      } else break;
    }
    if (!shape) throw invalid('the model does not say what input shape it takes (no InputLayer or input shape on its first layer). Save it after building it on an input.');
    addInput(first.class_name === 'InputLayer' ? first : null, shape, typeof dtype === 'string' ? dtype : 'float32');
    nestedModels--; // the top model is not nested
    outputs = callModel(top, [], '', inputRefs);
  } else {
    const ins = top.config.input_layers as Ref[];
    for (const [n] of ins) {
      const l = topLayers.find((x) => layerName(x) === n && x.class_name === 'InputLayer');
      const shape = l && declaredInputShape(l);
      if (!l || !shape) throw invalid(`the model's input "${n}" is not an InputLayer with a shape.`);
      addInput(l, shape, l.config.dtype);
    }
    // Rename the top model's inputs in its own table: callModel maps input_layers to inputRefs.
    nestedModels--;
    outputs = callModel(top, [], '', inputRefs);
  }
  return {
    topology: { class_name: 'Model', config: { name: layerName(top), layers: flat, input_layers: inputRefs, output_layers: outputs } },
    leaves,
    nestedModels: Math.max(0, nestedModels),
  };
}
