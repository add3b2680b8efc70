/**
 * BatchNorm folding: a BatchNormalization fed only by a linear Conv2D, DepthwiseConv2D or Dense is
 * merged into it (w' = w·γ/√(σ²+ε) per output channel, b' = β + (b − μ)·γ/√(σ²+ε)), as the TFLite
 * converter does. The result is a plain TF.js Layers model without those BN layers, giving the same
 * outputs (up to float rounding); QAT fine-tunes it, so the weights it learns are the ones quantized.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

type Layer = tfl.layers.Layer;

/** Layers a BatchNorm folds into and a ReLU merges into (kernel, optional bias, linear activation). */
export const FOLDS_INTO = new Set(['Conv2D', 'DepthwiseConv2D', 'Dense']);

/** A layer as tfjs-layers' `toJSON` writes it (Keras' config layout). */
export interface PyLayer {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: [string, number, number, Record<string, unknown>][][];
}

export interface PyModel {
  config: { layers: PyLayer[]; output_layers: [string, number, number][] };
}

/** BN layers that fold, mapped to the layer they fold into. */
export function foldableBatchNorms(model: tfl.LayersModel): Map<string, Layer> {
  const out = new Map<string, Layer>();
  for (const bn of model.layers) {
    if (bn.getClassName() !== 'BatchNormalization') continue;
    const prev = bn.inboundNodes[0]?.inboundLayers[0];
    if (!prev || !FOLDS_INTO.has(prev.getClassName())) continue;
    const act = (prev.getConfig() as { activation?: string }).activation;
    const axis = (bn.getConfig() as { axis?: number | number[] }).axis;
    // The channel axis, written -1 or as its index (Keras exports write [3] for NHWC images).
    const last = (bn.outputShape as number[]).length - 1;
    const ax = Array.isArray(axis) && axis.length === 1 ? axis[0] : axis;
    if (prev.outboundNodes.length !== 1 || (act !== undefined && act !== 'linear') || !(ax === -1 || ax === last)) continue;
    out.set(bn.name, prev);
  }
  return out;
}

function weight(layer: Layer, suffix: string): tf.Tensor | undefined {
  return layer.weights.find((w) => w.originalName.endsWith(`/${suffix}`))?.read();
}

/** A copy of the model with every foldable BatchNormalization folded into its producer. */
export async function foldBatchNorm(model: tfl.LayersModel): Promise<{ model: tfl.LayersModel; folded: string[] }> {
  const folds = foldableBatchNorms(model);
  const topology = model.toJSON(null, false) as unknown as PyModel;
  const into = new Map([...folds].map(([bn, prev]) => [bn, prev.name]));
  const rename = (n: string) => into.get(n) ?? n;
  topology.config.layers = topology.config.layers.filter((l) => !into.has(l.name));
  for (const l of topology.config.layers) {
    if ([...folds.values()].some((p) => p.name === l.name)) l.config.use_bias = true;
    for (const node of l.inbound_nodes) for (const edge of node) edge[0] = rename(edge[0]);
  }
  for (const o of topology.config.output_layers) o[0] = rename(o[0]);
  const folded = await tfl.models.modelFromJSON({ modelTopology: topology } as unknown as tf.io.ModelJSON);
  const byProducer = new Map([...folds].map(([bn, prev]) => [prev.name, model.getLayer(bn)]));
  for (const layer of folded.layers) {
    const src = model.getLayer(layer.name);
    const bn = byProducer.get(layer.name);
    if (!bn) {
      layer.setWeights(src.getWeights());
      continue;
    }
    const values = tf.tidy(() => {
      const cfg = bn.getConfig() as { epsilon: number };
      const mean = weight(bn, 'moving_mean')!;
      const variance = weight(bn, 'moving_variance')!;
      const channels = mean.shape[0];
      const gamma = weight(bn, 'gamma') ?? tf.ones([channels]);
      const beta = weight(bn, 'beta') ?? tf.zeros([channels]);
      const factor = tf.div(gamma, tf.sqrt(tf.add(variance, cfg.epsilon)));
      const type = src.getClassName();
      const kernel = weight(src, type === 'DepthwiseConv2D' ? 'depthwise_kernel' : 'kernel')!;
      const bias = weight(src, 'bias') ?? tf.zeros([channels]);
      // Depthwise [kh, kw, in, mult]: output channel i·mult + m.
      const kFactor = type === 'DepthwiseConv2D' ? tf.reshape(factor, [1, 1, kernel.shape[2]!, kernel.shape[3]!]) : factor;
      return [tf.mul(kernel, kFactor), tf.add(beta, tf.mul(tf.sub(bias, mean), factor))];
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
  return { model: folded, folded: [...folds.keys()] };
}
