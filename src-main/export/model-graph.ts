/**
 * A model as a graph for the UI's Netron-like view: one node per operator (TFLite) or layer (TF.js),
 * edges along the tensors between them, plus the model's inputs and outputs. Layout is the UI's job
 * (dagre); this only reads the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../src-shared/errors';
import type { ModelGraph } from '../../src-shared/contract/export';
import { readTflite } from './tflite/read';

export function tfliteGraph(bytes: Uint8Array, name = 'the file'): ModelGraph {
  const m = readTflite(bytes, name);
  const nodes: ModelGraph['nodes'] = [];
  const edges: ModelGraph['edges'] = [];
  const producer = new Map<number, string>();
  const shape = (t: number) => m.tensors[t]?.shape ?? [];
  for (const [k, t] of m.inputs.entries()) {
    const id = `in${k}`;
    nodes.push({ id, kind: 'input', op: 'Input', label: m.tensors[t].name, shape: shape(t) });
    producer.set(t, id);
  }
  m.operators.forEach((op, i) => {
    const id = `op${i}`;
    const out = op.outputs[0];
    nodes.push({ id, kind: 'op', op: op.op, label: m.tensors[out]?.name ?? op.op, shape: out !== undefined ? shape(out) : [], index: i });
    for (const t of op.inputs) {
      const from = t >= 0 ? producer.get(t) : undefined;
      if (from) edges.push({ from, to: id });
    }
    for (const t of op.outputs) producer.set(t, id);
  });
  for (const [k, t] of m.outputs.entries()) {
    const id = `out${k}`;
    nodes.push({ id, kind: 'output', op: 'Output', label: m.tensors[t].name, shape: shape(t) });
    const from = producer.get(t);
    if (from) edges.push({ from, to: id });
  }
  return { format: 'tflite', nodes, edges };
}

interface KerasLayer {
  class_name: string;
  name?: string;
  config: { name?: string; batch_input_shape?: (number | null)[]; units?: number; filters?: number };
  inbound_nodes?: unknown[];
}

/** The layers of a TF.js Layers model.json and how they connect (Sequential: in order; functional: inbound nodes). */
export function tfjsGraph(modelJson: unknown): ModelGraph {
  const topo = (modelJson as { modelTopology?: { model_config?: unknown; config?: unknown } }).modelTopology;
  const cfg = ((topo as { model_config?: { config?: unknown } })?.model_config?.config ?? (topo as { config?: unknown })?.config) as { layers?: KerasLayer[] } | KerasLayer[] | undefined;
  const layers = Array.isArray(cfg) ? cfg : cfg?.layers;
  if (!Array.isArray(layers)) throw new AppError('INVALID_ARGS', 'This model.json has no layer list (modelTopology); it is not a TF.js Layers model.');
  const nodes: ModelGraph['nodes'] = [];
  const edges: ModelGraph['edges'] = [];
  const functional = layers.some((l) => Array.isArray(l.inbound_nodes) && l.inbound_nodes.length);
  layers.forEach((l, i) => {
    const name = l.config?.name ?? l.name ?? `layer ${i}`;
    const id = `l:${name}`;
    nodes.push({ id, kind: l.class_name === 'InputLayer' ? 'input' : 'op', op: l.class_name, label: name, shape: l.config?.batch_input_shape?.map((d) => d ?? -1) ?? [], index: i });
    if (functional) {
      for (const node of (l.inbound_nodes ?? []) as unknown[]) {
        // Keras 2 / TF.js: [[name, nodeIndex, tensorIndex, kwargs], …]
        if (Array.isArray(node)) for (const ref of node) if (Array.isArray(ref) && typeof ref[0] === 'string') edges.push({ from: `l:${ref[0]}`, to: id });
      }
    } else if (i > 0) {
      edges.push({ from: nodes[i - 1].id, to: id });
    }
  });
  return { format: 'tfjs-layers', nodes, edges };
}

/** The graph of a model file or folder: a .tflite, or a TF.js model.json (or its folder). */
export function modelGraphOf(p: string): ModelGraph {
  let file = p;
  try {
    if (fs.statSync(p).isDirectory()) file = path.join(p, 'model.json');
  } catch {
    throw new AppError('NOT_FOUND', `Nothing exists at ${p}; it was moved or deleted.`);
  }
  if (file.endsWith('.json')) {
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new AppError('INVALID_ARGS', `${file} is not a readable model.json (${(err as Error).message}).`);
    }
    return tfjsGraph(json);
  }
  return tfliteGraph(new Uint8Array(fs.readFileSync(file)), path.basename(file));
}
