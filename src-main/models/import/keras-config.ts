/**
 * Keras / TF.js layer configurations in the dialect tfjs-layers deserialises (Keras 2 style JSON).
 *
 * tfjs-layers reads Keras 2 JSON (`class_name` + snake_case `config`, `inbound_nodes` as
 * `[[name, node, tensor, kwargs], …]`). What other writers put there instead, and what is done:
 * - Keras 3 (`.keras` config.json): every serialised object carries `module` / `registered_name`
 *   (dropped); dtypes are `DTypePolicy` objects (→ their `name`, e.g. "float32"); `InputLayer` has
 *   `batch_shape` (→ `batch_input_shape`); `inbound_nodes` are `{args, kwargs}` with
 *   `__keras_tensor__` arguments holding `keras_history: [layer, node, tensor]` (→ Keras 2 node
 *   lists); `input_layers` / `output_layers` may be a single `[name, node, tensor]` (→ wrapped).
 * - Keras 2 `tf.keras` ≥ 2.4 names functional models `Functional`, tfjs 1.x names them `Model`: both
 *   are functional models here.
 * Layer-specific options tfjs-layers does not know (`groups`, `ragged`, `synchronized`, `lora_rank`…)
 * are checked where they change what the layer computes (`groups` ≠ 1 is refused) and otherwise
 * left for tfjs-layers, which ignores them.
 */
import { AppError } from '../../../src-shared/errors';

export interface LayerJson {
  class_name: string;
  name?: string;
  config: Record<string, unknown>;
  inbound_nodes?: unknown[];
}

/** Keras 2 node input: [layer name, node index, tensor index, call kwargs]. */
export type NodeInput = [string, number, number, Record<string, unknown>];

export const MODEL_CLASSES = new Set(['Sequential', 'Model', 'Functional']);

export function isModelLayer(l: LayerJson): boolean {
  return MODEL_CLASSES.has(l.class_name);
}

function invalid(what: string, problem: string): AppError {
  return new AppError('INVALID_MODEL', `${what}: ${problem}`, { file: what });
}

/** Strip Keras 3 serialisation wrappers from a config value (recursively). */
function cleanValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(cleanValue);
  if (!v || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  if (o.class_name === 'DTypePolicy' || o.class_name === 'Policy') {
    const name = (o.config as { name?: unknown } | undefined)?.name;
    return typeof name === 'string' ? name : 'float32';
  }
  if (o.class_name === '__tuple__' && Array.isArray((o.config as { value?: unknown })?.value)) return cleanValue((o.config as { value: unknown[] }).value);
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(o)) {
    if (k === 'module' || k === 'registered_name' || k === 'build_config' || k === 'compile_config' || k === 'shared_object_id') continue;
    out[k] = cleanValue(val);
  }
  return out;
}

/** `[name, node, tensor]` or a list of them → a list of triples. */
function tensorList(v: unknown, what: string, field: string): [string, number, number][] {
  if (!Array.isArray(v)) throw invalid(what, `the model's "${field}" is not a list of layers (got ${JSON.stringify(v)?.slice(0, 80)}); models with dictionary inputs or outputs are not supported.`);
  if (v.length === 3 && typeof v[0] === 'string' && typeof v[1] === 'number') return [v as [string, number, number]];
  return v.map((t) => {
    if (!Array.isArray(t) || typeof t[0] !== 'string') throw invalid(what, `the model's "${field}" has an entry PocketBench cannot read (${JSON.stringify(t)?.slice(0, 80)}).`);
    return [t[0], Number(t[1] ?? 0), Number(t[2] ?? 0)];
  });
}

/** Collect Keras 3 `__keras_tensor__` references inside call arguments, in order. */
function kerasTensors(v: unknown, out: [string, number, number][]): void {
  if (Array.isArray(v)) {
    for (const x of v) kerasTensors(x, out);
    return;
  }
  if (!v || typeof v !== 'object') return;
  const o = v as { class_name?: string; config?: { keras_history?: unknown[] } };
  if (o.class_name === '__keras_tensor__' && Array.isArray(o.config?.keras_history)) {
    const [name, node, tensor] = o.config.keras_history;
    out.push([String(name), Number(node), Number(tensor)]);
  }
}

/** One layer's `inbound_nodes` in Keras 2 form. */
function nodesOf(layer: Record<string, unknown>, what: string): NodeInput[][] {
  const raw = layer.inbound_nodes;
  if (raw == null) return [];
  if (!Array.isArray(raw)) throw invalid(what, `layer "${String(layer.name)}" has "inbound_nodes" PocketBench cannot read.`);
  return raw.map((node) => {
    if (Array.isArray(node)) {
      // Keras 2: [[name, node, tensor, kwargs], …]
      return node.map((i) => {
        if (!Array.isArray(i) || typeof i[0] !== 'string') throw invalid(what, `layer "${String(layer.name)}" has an inbound node PocketBench cannot read (${JSON.stringify(i)?.slice(0, 80)}).`);
        return [i[0], Number(i[1] ?? 0), Number(i[2] ?? 0), (i[3] as Record<string, unknown>) ?? {}] as NodeInput;
      });
    }
    if (node && typeof node === 'object' && 'args' in node) {
      // Keras 3: {args: [...], kwargs: {...}}
      const refs: [string, number, number][] = [];
      kerasTensors((node as { args: unknown }).args, refs);
      const kwargs = (node as { kwargs?: Record<string, unknown> }).kwargs ?? {};
      const tensorKwargs: [string, number, number][] = [];
      kerasTensors(kwargs, tensorKwargs);
      if (tensorKwargs.length) throw invalid(what, `layer "${String(layer.name)}" takes a tensor as a keyword argument (e.g. a mask); such models are not supported.`);
      const plain = Object.fromEntries(Object.entries(kwargs).filter(([, val]) => val === null || typeof val !== 'object'));
      return refs.map((r) => [...r, plain] as NodeInput);
    }
    throw invalid(what, `layer "${String(layer.name)}" has an inbound node PocketBench cannot read.`);
  });
}

/**
 * A layer (or nested model) in tfjs-layers' dialect, recursively. `what` names the file for errors.
 */
export function normalizeLayer(raw: unknown, what: string): LayerJson {
  if (!raw || typeof raw !== 'object') throw invalid(what, 'a layer entry is not an object.');
  const l = raw as Record<string, unknown>;
  const className = l.class_name;
  if (typeof className !== 'string') throw invalid(what, `a layer has no "class_name" (${JSON.stringify(raw).slice(0, 80)}).`);
  const rawConfig = l.config;
  // Very old Keras Sequential: config is the bare list of layers.
  const config = (Array.isArray(rawConfig) ? { layers: rawConfig } : (cleanValue(rawConfig ?? {}) as Record<string, unknown>)) as Record<string, unknown>;
  const name = (typeof l.name === 'string' ? l.name : undefined) ?? (typeof config.name === 'string' ? config.name : undefined);
  if (name !== undefined) config.name = name;

  if (MODEL_CLASSES.has(className)) {
    const layers = (Array.isArray(rawConfig) ? rawConfig : (rawConfig as { layers?: unknown })?.layers) as unknown[] | undefined;
    if (!Array.isArray(layers)) throw invalid(what, `the nested model "${name ?? className}" has no layer list.`);
    config.layers = layers.map((x) => normalizeLayer(x, what));
    if (className !== 'Sequential') {
      config.input_layers = tensorList(config.input_layers, what, 'input_layers');
      config.output_layers = tensorList(config.output_layers, what, 'output_layers');
    }
  } else {
    if (className === 'InputLayer') {
      if (config.batch_shape && !config.batch_input_shape) config.batch_input_shape = config.batch_shape;
      delete config.batch_shape;
    } else if (config.batch_shape && !config.batch_input_shape) {
      config.batch_input_shape = config.batch_shape;
      delete config.batch_shape;
    }
    if (config.groups != null && Number(config.groups) !== 1) {
      throw new AppError('UNSUPPORTED', `${what}: layer "${name}" (${className}) is a grouped convolution (groups ${String(config.groups)}), which PocketBench cannot export. Replace it with a plain or depthwise convolution and export again.`, { layer: name, type: className });
    }
    delete config.groups;
  }
  const out: LayerJson = { class_name: className === 'Functional' ? 'Model' : className, config };
  if (name !== undefined) out.name = name;
  if ('inbound_nodes' in l) out.inbound_nodes = nodesOf(l, what);
  return out;
}

/** The batch input shape a layer declares (`batch_input_shape`, Keras 3 `batch_shape`, or `input_shape`). */
export function declaredInputShape(l: LayerJson): (number | null)[] | null {
  const c = l.config;
  const b = (c.batch_input_shape ?? c.batch_shape) as (number | null)[] | undefined;
  if (Array.isArray(b)) return b;
  const i = c.input_shape as (number | null)[] | undefined;
  if (Array.isArray(i)) return [null, ...i];
  return null;
}
