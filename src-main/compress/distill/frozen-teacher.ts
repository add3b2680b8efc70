/**
 * A distillation teacher is frozen: it only runs forward, in inference mode, with its moving
 * statistics. So its BatchNormalization layers fold into the convolution before them (the same fold
 * the exporter and QAT use: compress/quantize/fold.ts), and a ReLU / ReLU6 right after a linear
 * Conv2D, DepthwiseConv2D or Dense becomes that layer's activation. On wasm each such block then runs
 * as one fused kernel (tf/fused-layers.ts) where it ran four (convolution, FusedBatchNorm, Relu,
 * ClipByValue for ReLU6 in tfjs-layers): a Teachable Machine MobileNetV2 goes from 158 layers to 71.
 * The outputs are the original's to float rounding (the folded weights are rounded once more).
 */
import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { FOLDS_INTO, foldBatchNorm, type PyModel } from '../quantize/fold';

/** The activation a ReLU-like layer applies, when a producer can take it over; null otherwise. */
function mergeableActivation(layer: tfl.layers.Layer): 'relu' | 'relu6' | null {
  const cfg = layer.getConfig() as { maxValue?: number | null; negativeSlope?: number; threshold?: number; activation?: string };
  if (layer.getClassName() === 'ReLU') {
    if (cfg.negativeSlope || cfg.threshold) return null;
    if (cfg.maxValue == null) return 'relu';
    return cfg.maxValue === 6 ? 'relu6' : null;
  }
  if (layer.getClassName() === 'Activation' && (cfg.activation === 'relu' || cfg.activation === 'relu6')) return cfg.activation;
  return null;
}

/** ReLU layers that merge into their producer: producer name → [activation layer, activation]. */
function mergeableActivations(model: tfl.LayersModel): Map<string, { layer: string; activation: 'relu' | 'relu6' }> {
  const outputs = new Set(model.outputs.map((o) => o.sourceLayer.name));
  const out = new Map<string, { layer: string; activation: 'relu' | 'relu6' }>();
  for (const layer of model.layers) {
    const activation = mergeableActivation(layer);
    const prev = layer.inboundNodes[0]?.inboundLayers[0];
    if (!activation || !prev || layer.inboundNodes[0].inboundLayers.length !== 1 || !FOLDS_INTO.has(prev.getClassName())) continue;
    const prevAct = (prev.getConfig() as { activation?: string }).activation;
    if ((prevAct !== undefined && prevAct !== 'linear') || prev.outboundNodes.length !== 1 || outputs.has(prev.name)) continue;
    out.set(prev.name, { layer: layer.name, activation });
  }
  return out;
}

/** The model with every mergeable ReLU / ReLU6 layer made its producer's activation (weights copied). */
async function mergeActivations(model: tfl.LayersModel): Promise<{ model: tfl.LayersModel; merged: string[] }> {
  const merges = mergeableActivations(model);
  if (!merges.size) return { model, merged: [] };
  const into = new Map([...merges].map(([producer, m]) => [m.layer, producer]));
  const topology = model.toJSON(null, false) as unknown as PyModel;
  topology.config.layers = topology.config.layers.filter((l) => !into.has(l.name));
  for (const l of topology.config.layers) {
    const m = merges.get(l.name);
    if (m) l.config.activation = m.activation;
    for (const node of l.inbound_nodes) for (const edge of node) edge[0] = into.get(edge[0]) ?? edge[0];
  }
  for (const o of topology.config.output_layers) o[0] = into.get(o[0]) ?? o[0];
  const merged = await tfl.models.modelFromJSON({ modelTopology: topology } as unknown as tf.io.ModelJSON);
  for (const layer of merged.layers) layer.setWeights(model.getLayer(layer.name).getWeights());
  return { model: merged, merged: [...into.keys()] };
}

/**
 * An inference copy of a frozen teacher with BatchNorm folded and ReLUs merged (the original is left
 * as it is; dispose the copy when done). Layer names of the kept layers do not change.
 */
export async function leanTeacher(teacher: tfl.LayersModel): Promise<{ model: tfl.LayersModel; folded: string[]; merged: string[] }> {
  const folded = await foldBatchNorm(teacher);
  const merged = await mergeActivations(folded.model);
  if (merged.model !== folded.model) folded.model.dispose();
  return { model: merged.model, folded: folded.folded, merged: merged.merged };
}
