/**
 * Min-max calibration: run calibration samples through the float model, record the smallest and
 * largest value every layer outputs, and turn them into `QuantParams` following the TFLite rules
 * (see params.ts). The simplest observer; the quantize stage adds moving-average, percentile and MSE
 * observers on the same type.
 */
import { cancelPoint } from '../../tf/cancel';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import type { Split } from '../../data/types';
import {
  KEEPS_INPUT_QUANT,
  QUANT_PARAMS_VERSION,
  SOFTMAX_OUTPUT_QUANT,
  activationQuant,
  type ActivationQuant,
  type QuantParams,
} from './params';

/** Key of the pre-softmax (or pre-sigmoid) range of a layer with that activation (its FULLY_CONNECTED output). */
export const LOGITS_SUFFIX = ':logits';

/** Fewer samples than this gives ranges that often miss the tails: warn. */
export const FEW_CALIBRATION_SAMPLES = 32;

export interface LayerRange {
  min: number;
  max: number;
}

/** The name of each layer's inbound layers (first inbound node), in the model's topological order. */
export function inboundLayerNames(model: tfl.LayersModel): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const layer of model.layers) {
    const node = layer.inboundNodes[0];
    out.set(layer.name, node ? node.inboundLayers.map((l) => l.name) : []);
  }
  return out;
}

function activationOf(layer: tfl.layers.Layer): string | undefined {
  const a = (layer.getConfig() as { activation?: unknown }).activation;
  return typeof a === 'string' ? a : undefined;
}

/**
 * Min and max of every layer's output (and of the model input, under the input layer's name) over
 * `samples`, run in batches. `samples.x` is NHWC / [n, features] like the model input.
 */
export function observeMinMax(model: tfl.LayersModel, samples: Pick<Split, 'x' | 'n' | 'sampleShape'>, batchSize = 64): Map<string, LayerRange> {
  if (samples.n < 1) throw new AppError('INVALID_ARGS', 'Calibration needs at least one sample; pick a larger calibration set.');
  const computed = model.layers.filter((l) => l.inboundNodes[0]?.inboundLayers.length);
  const inputLayers = model.layers.filter((l) => !l.inboundNodes[0]?.inboundLayers.length);
  const probe = tfl.model({ inputs: model.inputs, outputs: computed.map((l) => l.output as tfl.SymbolicTensor) });
  // The exporter writes softmax and sigmoid as operators of their own (SOFTMAX, LOGISTIC) after the layer's.
  const softmaxDense = computed.filter((l) => l.getClassName() === 'Dense' && (activationOf(l) === 'softmax' || activationOf(l) === 'sigmoid'));
  const ranges = new Map<string, LayerRange>();
  const merge = (name: string, min: number, max: number) => {
    const r = ranges.get(name);
    ranges.set(name, r ? { min: Math.min(r.min, min), max: Math.max(r.max, max) } : { min, max });
  };
  const per = samples.sampleShape.reduce((a, b) => a * b, 1);
  for (let start = 0; start < samples.n; start += batchSize) {
    cancelPoint();
    const n = Math.min(batchSize, samples.n - start);
    const xs = samples.x.subarray(start * per, (start + n) * per);
    let inMin = Infinity;
    let inMax = -Infinity;
    for (const v of xs) {
      if (v < inMin) inMin = v;
      if (v > inMax) inMax = v;
    }
    for (const l of inputLayers) merge(l.name, inMin, inMax);
    const stats = tf.tidy(() => {
      const x = tf.tensor(xs, [n, ...samples.sampleShape]);
      const outs = probe.predict(x) as tf.Tensor | tf.Tensor[];
      const list = Array.isArray(outs) ? outs : [outs];
      const byName = new Map<string, tf.Tensor>(inputLayers.map((l) => [l.name, x]));
      computed.forEach((l, i) => byName.set(l.name, list[i]));
      const minMax = (t: tf.Tensor) => tf.stack([tf.min(t), tf.max(t)]);
      // A Dense with a softmax activation is exported as FULLY_CONNECTED + SOFTMAX: its logits need a range too.
      const logits = softmaxDense.map((l) => {
        const [kernel, bias] = l.getWeights();
        const input = byName.get(l.inboundNodes[0].inboundLayers[0].name)!;
        const z = tf.matMul(input as tf.Tensor2D, kernel as tf.Tensor2D);
        return minMax(bias ? tf.add(z, bias) : z);
      });
      return [...list.map(minMax), ...logits];
    });
    const values = stats.map((t) => t.dataSync());
    tf.dispose(stats);
    computed.forEach((l, i) => merge(l.name, values[i][0], values[i][1]));
    softmaxDense.forEach((l, i) => merge(`${l.name}${LOGITS_SUFFIX}`, values[computed.length + i][0], values[computed.length + i][1]));
  }
  return ranges;
}

/**
 * Turns observed ranges into QuantParams with the TFLite constraints applied: layers that keep their
 * input's parameters copy them, softmax outputs get the fixed 1/256 / −128.
 */
export function paramsFromRanges(model: tfl.LayersModel, ranges: Map<string, LayerRange>, calibration: QuantParams['calibration']): QuantParams {
  const inbound = inboundLayerNames(model);
  const activations: Record<string, ActivationQuant> = {};
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const from = inbound.get(layer.name) ?? [];
    // TFLite's int8 SOFTMAX and LOGISTIC outputs have fixed parameters.
    if (activationOf(layer) === 'softmax' || activationOf(layer) === 'sigmoid') {
      activations[layer.name] = { ...SOFTMAX_OUTPUT_QUANT };
      const logits = ranges.get(`${layer.name}${LOGITS_SUFFIX}`);
      if (logits) activations[`${layer.name}${LOGITS_SUFFIX}`] = activationQuant(logits.min, logits.max);
      continue;
    }
    if (KEEPS_INPUT_QUANT.has(cls) && from.length === 1 && activations[from[0]]) {
      activations[layer.name] = { ...activations[from[0]] };
      continue;
    }
    if (cls === 'Concatenate') {
      // One shared range; the exporter requantizes inputs whose parameters differ.
      const rs = from.map((n) => activations[n]).filter(Boolean);
      activations[layer.name] = activationQuant(Math.min(...rs.map((r) => r.min)), Math.max(...rs.map((r) => r.max)));
      continue;
    }
    const r = ranges.get(layer.name);
    if (!r) throw new AppError('INTERNAL', `No calibration range was observed for layer "${layer.name}" (${cls}).`);
    activations[layer.name] = activationQuant(r.min, r.max);
  }
  return { version: QUANT_PARAMS_VERSION, activations, calibration };
}

/** Min-max PTQ parameters from calibration samples. Returns a warning when the sample is small. */
export function calibrateMinMax(
  model: tfl.LayersModel,
  samples: Pick<Split, 'x' | 'n' | 'sampleShape'>,
  opts: { seed?: number; batchSize?: number } = {},
): { params: QuantParams; warnings: string[] } {
  const ranges = observeMinMax(model, samples, opts.batchSize);
  const params = paramsFromRanges(model, ranges, { observer: 'minmax', samples: samples.n, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) });
  const warnings =
    samples.n < FEW_CALIBRATION_SAMPLES
      ? [`Only ${samples.n} calibration samples: activation ranges may miss rare values and cost accuracy; use at least ${FEW_CALIBRATION_SAMPLES} (256 is the default).`]
      : [];
  return { params, warnings };
}
