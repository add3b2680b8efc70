/**
 * Structured pruning: rank the output channels of Conv2D filters and Dense neurons by the L1 or L2
 * norm of their weights and rebuild a physically smaller model (NNI's split: a plan of what to keep,
 * then a step that turns it into a new model).
 *
 * Channels are tracked through the graph as *groups*: a Conv2D/Dense starts a group; BatchNorm,
 * activations, pooling, dropout, padding and depthwise convolutions (depth multiplier 1) carry their
 * input's group; Add (residual connections) joins the groups of its inputs, so every producer feeding
 * the same sum keeps the same channels. A group whose channels reach the model output, a Reshape or
 * Concatenate, or a layer named in `skipLayers` is left whole. The rebuild slices each producer's
 * outputs, each BatchNorm's parameters, each depthwise kernel and each consumer's input weights
 * (Dense after Flatten: the rows of the kept channels at every spatial position).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import { summarizeModel } from '../../models';

type Layer = tfl.layers.Layer;

const PRODUCERS = new Set(['Conv2D', 'Dense']);
const PASSTHROUGH = new Set([
  'BatchNormalization',
  'ReLU',
  'Activation',
  'LeakyReLU',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'Dropout',
  'ZeroPadding2D',
  'DepthwiseConv2D',
]);
const MERGES = new Set(['Add', 'Maximum', 'Minimum', 'Average', 'Multiply', 'Subtract']);

export interface StructuredOptions {
  /** Share of each group's channels removed (0.5 halves every prunable layer). */
  fraction: number;
  norm: 'l1' | 'l2';
  skipLayers?: readonly string[];
}

export interface ChannelGroup {
  /** Layers whose output channels are this group (one, or several joined by Add). */
  producers: string[];
  channels: number;
  /** Indices kept, ascending. */
  keep: number[];
  /** Why the group is left whole, when it is. */
  frozen?: string;
}

export interface StructuredPlan {
  groups: ChannelGroup[];
}

export interface SizeFigures {
  params: number;
  macs: number;
  bytes: number;
}

export interface StructuredReport {
  before: SizeFigures;
  after: SizeFigures;
  /** before / after. */
  paramsReduction: number;
  macsReduction: number;
  bytesReduction: number;
  groups: { producers: string[]; before: number; after: number; frozen?: string }[];
}

interface Desc {
  group: number;
  /** Flattened outputs: spatial positions per channel (channel is the fastest-moving index). */
  repeat: number;
}

function inbound(layer: Layer): Layer[] {
  return layer.inboundNodes[0]?.inboundLayers ?? [];
}

function lastDim(layer: Layer): number {
  const s = layer.outputShape as (number | null)[];
  return s[s.length - 1] ?? 0;
}

/** Union-find over channel groups. */
class Groups {
  parent: number[] = [];
  frozen = new Map<number, string>();
  producers: string[][] = [];
  make(): number {
    this.parent.push(this.parent.length);
    this.producers.push([]);
    return this.parent.length - 1;
  }
  find(g: number): number {
    while (this.parent[g] !== g) g = this.parent[g] = this.parent[this.parent[g]];
    return g;
  }
  union(a: number, b: number): void {
    const [ra, rb] = [this.find(a), this.find(b)];
    if (ra !== rb) this.parent[rb] = ra;
  }
  freeze(g: number, why: string): void {
    if (!this.frozen.has(this.find(g))) this.frozen.set(this.find(g), why);
  }
  frozenWhy(g: number): string | undefined {
    const r = this.find(g);
    for (const [k, v] of this.frozen) if (this.find(k) === r) return v;
    return undefined;
  }
}

interface Analysis {
  groups: Groups;
  out: Map<string, Desc>;
  /** For producers: their own group. */
  own: Map<string, number>;
}

function analyse(model: tfl.LayersModel, skip: readonly string[]): Analysis {
  const groups = new Groups();
  const out = new Map<string, Desc>();
  const own = new Map<string, number>();
  const frozenNew = (why: string): Desc => {
    const g = groups.make();
    groups.freeze(g, why);
    return { group: g, repeat: 1 };
  };
  for (const layer of model.layers) {
    const type = layer.getClassName();
    const ins = inbound(layer).map((l) => out.get(l.name)!);
    if (type === 'InputLayer') {
      out.set(layer.name, frozenNew('model input'));
    } else if (PRODUCERS.has(type)) {
      const g = groups.make();
      groups.producers[g].push(layer.name);
      own.set(layer.name, g);
      if (skip.includes(layer.name)) groups.freeze(g, 'listed in the layers to skip');
      out.set(layer.name, { group: g, repeat: 1 });
    } else if (PASSTHROUGH.has(type)) {
      const depthMult = (layer.getConfig() as { depthMultiplier?: number }).depthMultiplier ?? 1;
      if (type === 'DepthwiseConv2D' && depthMult !== 1) {
        groups.freeze(ins[0].group, `feeds "${layer.name}", a depthwise convolution with depth multiplier ${depthMult}`);
        out.set(layer.name, frozenNew(`output of "${layer.name}"`));
      } else out.set(layer.name, ins[0]);
    } else if (MERGES.has(type)) {
      for (const d of ins.slice(1)) groups.union(ins[0].group, d.group);
      if (ins.some((d) => d.repeat !== ins[0].repeat)) groups.freeze(ins[0].group, `"${layer.name}" merges inputs of different layouts`);
      out.set(layer.name, ins[0]);
    } else if (type === 'Flatten') {
      const s = inbound(layer)[0].outputShape as (number | null)[];
      const c = s[s.length - 1] ?? 1;
      const positions = s.slice(1, -1).reduce<number>((a, b) => a * (b ?? 1), 1);
      out.set(layer.name, { group: ins[0].group, repeat: ins[0].repeat * positions });
      if (c !== lastDim(inbound(layer)[0])) groups.freeze(ins[0].group, `"${layer.name}" has an unexpected shape`);
    } else {
      for (const d of ins) groups.freeze(d.group, `feeds "${layer.name}" (${type}), whose channel layout is not tracked`);
      out.set(layer.name, frozenNew(`output of "${layer.name}" (${type})`));
    }
  }
  for (const o of model.outputLayers) groups.freeze(out.get(o.name)!.group, 'reaches the model output (the classes)');
  return { groups, out, own };
}

function kernelOf(layer: Layer): tf.Tensor {
  const k = layer.weights.find((w) => /kernel$/.test(w.originalName) && !/depthwise/.test(w.originalName));
  if (!k) throw new AppError('INTERNAL', `Layer "${layer.name}" has no kernel.`);
  return k.read();
}

/** Norm of each output channel of a producer (last kernel axis). */
function channelNorms(layer: Layer, norm: 'l1' | 'l2'): Float32Array {
  return tf.tidy(() => {
    const k = kernelOf(layer);
    const flat = tf.reshape(k, [-1, k.shape[k.shape.length - 1]]);
    const n = norm === 'l1' ? tf.sum(tf.abs(flat), 0) : tf.sqrt(tf.sum(tf.square(flat), 0));
    return n.dataSync() as Float32Array;
  });
}

/** Rank channels and decide what each group keeps. Refuses a fraction that would empty a layer. */
export function planStructured(model: tfl.LayersModel, opts: StructuredOptions): StructuredPlan {
  if (!(opts.fraction > 0 && opts.fraction < 1)) throw new AppError('INVALID_ARGS', `The share of channels to remove must be above 0 and below 1 (got ${opts.fraction}).`);
  const names = new Set(model.layers.map((l) => l.name));
  const unknown = (opts.skipLayers ?? []).filter((s) => !names.has(s));
  if (unknown.length) throw new AppError('INVALID_ARGS', `Layers to skip not found in the model: ${unknown.join(', ')}.`);
  const { groups } = analyse(model, opts.skipLayers ?? []);
  const roots = new Map<number, string[]>();
  groups.producers.forEach((p, g) => {
    if (!p.length) return;
    const r = groups.find(g);
    roots.set(r, [...(roots.get(r) ?? []), ...p]);
  });
  const plan: StructuredPlan = { groups: [] };
  for (const [root, producers] of roots) {
    const channels = lastDim(model.getLayer(producers[0]));
    const frozen = groups.frozenWhy(root);
    if (frozen) {
      plan.groups.push({ producers, channels, keep: [...Array(channels).keys()], frozen });
      continue;
    }
    const keepCount = channels - Math.round(opts.fraction * channels);
    if (keepCount < 1) {
      throw new AppError(
        'INVALID_ARGS',
        `Removing ${Math.round(opts.fraction * 100)} % of the ${channels} channels of ${producers.map((p) => `"${p}"`).join(', ')} would leave no channel. Lower the share or add ${producers.length > 1 ? 'these layers' : 'this layer'} to the layers to skip.`,
        { layers: producers },
      );
    }
    const score = new Float64Array(channels);
    for (const p of producers) channelNorms(model.getLayer(p), opts.norm).forEach((v, i) => (score[i] += v));
    const order = [...Array(channels).keys()].sort((a, b) => score[b] - score[a] || a - b);
    plan.groups.push({ producers, channels, keep: order.slice(0, keepCount).sort((a, b) => a - b) });
  }
  return plan;
}

/** Rows of a Dense kernel after Flatten that belong to the kept channels. */
function expand(keep: number[], channels: number, repeat: number): number[] {
  const rows: number[] = [];
  for (let p = 0; p < repeat; p++) for (const c of keep) rows.push(p * channels + c);
  return rows;
}

interface PyLayer {
  class_name: string;
  config: { name: string; filters?: number; units?: number };
}

/** Build the smaller model the plan describes, with its weights sliced from `model`. */
export async function applyStructured(model: tfl.LayersModel, plan: StructuredPlan): Promise<tfl.LayersModel> {
  const { groups, out, own } = analyse(model, []);
  const keepOf = new Map<number, number[]>();
  for (const g of plan.groups) {
    const gid = groups.find(own.get(g.producers[0])!);
    if (g.keep.length < g.channels) keepOf.set(gid, g.keep);
  }
  const keepFor = (d: Desc | undefined): number[] | undefined => (d ? keepOf.get(groups.find(d.group)) : undefined);

  const topology = model.toJSON(null, false) as unknown as { config: { layers: PyLayer[] } };
  for (const pl of topology.config.layers) {
    const g = own.get(pl.config.name);
    const keep = g !== undefined ? keepOf.get(groups.find(g)) : undefined;
    if (!keep) continue;
    if (pl.class_name === 'Conv2D') pl.config.filters = keep.length;
    else if (pl.class_name === 'Dense') pl.config.units = keep.length;
  }
  const smaller = await tfl.models.modelFromJSON({ modelTopology: topology } as unknown as tf.io.ModelJSON);

  const values = tf.tidy(() =>
    model.layers.map((layer) => {
      const type = layer.getClassName();
      const inDesc = out.get(inbound(layer)[0]?.name ?? '');
      const inKeep = keepFor(inDesc);
      const g = own.get(layer.name);
      const outKeep = g !== undefined ? keepOf.get(groups.find(g)) : undefined;
      return layer.weights.map((w) => {
        let v = w.read();
        const rank = v.shape.length;
        if (type === 'Conv2D') {
          if (rank === 4 && inKeep) v = tf.gather(v, inKeep, 2);
          if (outKeep) v = tf.gather(v, outKeep, rank - 1);
        } else if (type === 'Dense') {
          if (rank === 2 && inKeep) {
            const inputs = v.shape[0];
            const channels = inputs / inDesc!.repeat;
            v = tf.gather(v, inDesc!.repeat > 1 ? expand(inKeep, channels, inDesc!.repeat) : inKeep, 0);
          }
          if (outKeep) v = tf.gather(v, outKeep, rank - 1);
        } else if (type === 'DepthwiseConv2D') {
          if (inKeep) v = tf.gather(v, inKeep, rank === 4 ? 2 : 0);
        } else if (type === 'BatchNormalization') {
          if (inKeep) v = tf.gather(v, inKeep, 0);
        }
        return v === w.read() ? tf.clone(v) : v;
      });
    }),
  );
  smaller.layers.forEach((l, i) => l.setWeights(values[i]));
  tf.dispose(values);
  return smaller;
}

function sizes(model: tfl.LayersModel): SizeFigures {
  const t = summarizeModel(model, { nonZero: false }).totals;
  return { params: t.params, macs: t.macsDeployed, bytes: t.bytes };
}

/** Plan, rebuild and report the reduction in parameters, MACs and bytes. */
export async function pruneStructured(model: tfl.LayersModel, opts: StructuredOptions): Promise<{ model: tfl.LayersModel; plan: StructuredPlan; report: StructuredReport }> {
  const plan = planStructured(model, opts);
  if (plan.groups.every((g) => g.frozen)) {
    throw new AppError('INVALID_ARGS', `No layer can be pruned structurally: ${plan.groups.map((g) => `${g.producers.join('+')} (${g.frozen})`).join('; ')}.`);
  }
  const smaller = await applyStructured(model, plan);
  const before = sizes(model);
  const after = sizes(smaller);
  return {
    model: smaller,
    plan,
    report: {
      before,
      after,
      paramsReduction: before.params / after.params,
      macsReduction: before.macs / after.macs,
      bytesReduction: before.bytes / after.bytes,
      groups: plan.groups.map((g) => ({ producers: g.producers, before: g.channels, after: g.keep.length, ...(g.frozen ? { frozen: g.frozen } : {}) })),
    },
  };
}
