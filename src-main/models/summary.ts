/**
 * Per-layer and total parameters, non-zero parameters (pruning shows up here), MACs and fp32 bytes.
 *
 * MACs (multiply-accumulates) for one sample, counting the multiplications of a layer's main
 * product; bias adds are not counted (the usual convention, as in the MobileNet papers):
 * - Dense: input elements × units (leading dims of a rank > 2 input multiply it).
 * - Conv2D: H_out × W_out × C_out × k_h × k_w × C_in; stride and padding act through the output size.
 * - DepthwiseConv2D: H_out × W_out × C_in × depth_multiplier × k_h × k_w.
 * - BatchNormalization: one multiply-add per output element as a standalone layer; the exporter
 *   folds it into the preceding Conv2D/DepthwiseConv2D/Dense, so `macsDeployed` leaves it out.
 * - Pooling, Add, Concatenate, activations, reshapes: 0 MACs (comparisons, additions or data
 *   movement, no multiplications); the layer's `note` says what it does instead.
 */
import type * as tfl from '@tensorflow/tfjs-layers';

import type { LayerSummary, ModelSummary } from '../../src-shared/engine-types';

export type { LayerSummary, ModelSummary };

type Shape = (number | null)[];

const prod = (s: Shape) => s.reduce<number>((a, b) => a * (b ?? 1), 1);
const noBatch = (s: Shape): number[] => s.slice(1).map((d) => d ?? -1);

function firstShape(s: Shape | Shape[]): Shape {
  return Array.isArray(s[0]) || s.length === 0 ? ((s as Shape[])[0] ?? []) : (s as Shape);
}

function inputShapes(layer: tfl.layers.Layer): Shape[] {
  const node = layer.inboundNodes[0];
  if (!node) return [];
  const s = node.inputShapes as Shape | Shape[];
  return Array.isArray(s[0]) ? (s as Shape[]) : [s as Shape];
}

function configOf(layer: tfl.layers.Layer): Record<string, unknown> {
  return layer.getConfig() as Record<string, unknown>;
}

function kernelSize(cfg: Record<string, unknown>): [number, number] {
  const k = cfg.kernelSize as number | number[];
  return Array.isArray(k) ? [k[0], k[1] ?? k[0]] : [k, k];
}

const FOLDS_INTO = new Set(['Conv2D', 'DepthwiseConv2D', 'Dense']);

function macsOf(layer: tfl.layers.Layer, type: string, out: Shape): { macs: number; note?: string } {
  const cfg = configOf(layer);
  const [inShape] = inputShapes(layer);
  switch (type) {
    case 'Dense': {
      const inFeatures = inShape[inShape.length - 1] ?? 0;
      const units = cfg.units as number;
      return { macs: (prod(inShape.slice(1)) / inFeatures) * inFeatures * units };
    }
    case 'Conv2D': {
      const [kh, kw] = kernelSize(cfg);
      const cin = inShape[inShape.length - 1] ?? 0;
      return { macs: prod(out.slice(1)) * kh * kw * cin };
    }
    case 'DepthwiseConv2D': {
      const [kh, kw] = kernelSize(cfg);
      // Each output channel reads one input channel: k_h × k_w multiplications per output element.
      return { macs: prod(out.slice(1)) * kh * kw };
    }
    case 'BatchNormalization':
      return { macs: prod(out.slice(1)), note: 'one multiply-add per element; folded into the previous layer at export' };
    case 'MaxPooling2D':
    case 'GlobalMaxPooling2D':
      return { macs: 0, note: 'comparisons only, no multiply-accumulates' };
    case 'AveragePooling2D':
    case 'GlobalAveragePooling2D':
      return { macs: 0, note: 'additions and one scaling per output, counted as 0 MACs' };
    case 'Add':
      return { macs: 0, note: `${(inputShapes(layer).length - 1) * prod(out.slice(1))} element-wise additions, no multiplications` };
    case 'Concatenate':
    case 'Flatten':
    case 'Reshape':
    case 'ZeroPadding2D':
    case 'InputLayer':
      return { macs: 0, note: type === 'InputLayer' ? undefined : 'data movement only' };
    case 'Dropout':
      return { macs: 0, note: 'identity at inference' };
    case 'ReLU':
    case 'Activation':
      return { macs: 0 };
    default:
      return { macs: 0, note: `MACs are not counted for ${type} layers` };
  }
}

function activationOf(layer: tfl.layers.Layer, type: string): string | undefined {
  const cfg = configOf(layer);
  if (type === 'ReLU') return cfg.maxValue === 6 ? 'relu6' : 'relu';
  const a = cfg.activation;
  return typeof a === 'string' ? a : undefined;
}

/** BN fed only by a linear Conv2D/DepthwiseConv2D/Dense (used by nothing else) disappears at export. */
function foldable(bn: tfl.layers.Layer): boolean {
  const node = bn.inboundNodes[0];
  const prev = node?.inboundLayers[0];
  if (!prev || !FOLDS_INTO.has(prev.getClassName())) return false;
  const act = configOf(prev).activation;
  return prev.outboundNodes.length === 1 && (act === undefined || act === 'linear');
}

function countNonZero(layer: tfl.layers.Layer): number {
  let n = 0;
  for (const w of layer.weights) {
    const v = w.read().dataSync();
    for (let i = 0; i < v.length; i++) if (v[i] !== 0) n++;
  }
  return n;
}

/** Summarise a model. `nonZero: false` skips reading the weights back (faster, for sizing). */
export function summarizeModel(model: tfl.LayersModel, opts: { nonZero?: boolean } = {}): ModelSummary {
  const countZeros = opts.nonZero ?? true;
  const layers: LayerSummary[] = [];
  let macsDeployed = 0;
  for (const layer of model.layers) {
    const type = layer.getClassName();
    const out = firstShape(layer.outputShape as Shape | Shape[]);
    const params = layer.countParams();
    const trainableParams = layer.trainableWeights.reduce((s, w) => s + prod(w.shape), 0);
    const { macs, note } = macsOf(layer, type, out);
    if (!(type === 'BatchNormalization' && foldable(layer))) macsDeployed += macs;
    const activation = activationOf(layer, type);
    layers.push({
      name: layer.name,
      type,
      outputShape: noBatch(out),
      params,
      trainableParams,
      nonZeroParams: countZeros ? countNonZero(layer) : params,
      macs,
      bytes: params * 4,
      ...(activation ? { activation } : {}),
      ...(note ? { note } : {}),
    });
  }
  const sum = (k: 'params' | 'trainableParams' | 'nonZeroParams' | 'macs' | 'bytes') => layers.reduce((s, l) => s + l[k], 0);
  const params = sum('params');
  const nonZeroParams = sum('nonZeroParams');
  const last = layers[layers.length - 1];
  return {
    name: model.name,
    inputShape: noBatch(model.inputs[0].shape),
    outputShape: noBatch(model.outputs[0].shape),
    output: last?.activation === 'softmax' ? 'probabilities' : 'logits',
    layers,
    totals: {
      params,
      trainableParams: sum('trainableParams'),
      nonZeroParams,
      macs: sum('macs'),
      macsDeployed,
      bytes: sum('bytes'),
      sparsity: params ? 1 - nonZeroParams / params : 0,
    },
  };
}
