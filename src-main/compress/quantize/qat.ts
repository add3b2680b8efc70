/**
 * Quantization-aware training. The float model is BN-folded (so the weights trained are the ones the
 * exporter quantizes), then run with fake quantization (fake-quant.ts) on every fused op's weights
 * (symmetric int8, per channel for convolutions) and on every quantized activation: the model input
 * and the output of each fused Conv/Depthwise/Dense/Add (+ReLU) chain, the same points the INT8
 * simulator and the exporter quantize. Activation ranges start from calibration and follow an
 * exponential moving average of each training batch's min and max (decay 0.99, as TF's QAT).
 *
 * Training itself is the shared training loop's job: it calls `forward(x, true)` inside its loss
 * and updates `trainableWeights`. Afterwards `params()` gives the QuantParams of the trained model.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Split } from '../../data/types';
import { fakeQuant, fakeQuantWeights } from './fake-quant';
import { layerDilation } from '../../models/dilation';
import { foldBatchNorm } from './fold';
import { type LayerRange, paramsFromRanges } from './minmax';
import { type ObserverKind, observeRanges } from './observers';
import { activationQuant, type QuantParams, weightScale } from './params';
import { activationOf, fusedOps } from './simulate';

type Layer = tfl.layers.Layer;

const LINEAR = new Set(['Conv2D', 'DepthwiseConv2D', 'Dense']);

interface Step {
  layer: Layer;
  chain: Layer[];
  /** Fake-quantize the output with this range key (undefined: no quantization point). */
  key?: string;
}

export interface QatOptions {
  observer?: ObserverKind;
  percentile?: number;
  perChannelDense?: boolean;
  floatLayers?: readonly string[];
  emaDecay?: number;
}

export class QatModel {
  private constructor(
    /** The BN-folded float model whose weights QAT trains. */
    readonly model: tfl.LayersModel,
    private readonly steps: Step[],
    private readonly ranges: Map<string, LayerRange>,
    private readonly opts: QatOptions,
    private readonly samples: number,
  ) {}

  static async create(model: tfl.LayersModel, calibration: Pick<Split, 'x' | 'n' | 'sampleShape'>, opts: QatOptions = {}): Promise<QatModel> {
    const { model: folded } = await foldBatchNorm(model);
    const ranges = observeRanges(folded, calibration, { observer: opts.observer ?? 'minmax', percentile: opts.percentile });
    const floatSet = new Set(opts.floatLayers ?? []);
    const steps: Step[] = fusedOps(folded).map(({ layer, chain, fusable }) => {
      if (layer.getClassName() === 'InputLayer') return { layer, chain, key: layer.name };
      if (!fusable) return { layer, chain };
      return { layer, chain, key: chain.some((l) => floatSet.has(l.name)) ? undefined : chain[chain.length - 1].name };
    });
    return new QatModel(folded, steps, ranges, opts, calibration.n);
  }

  get trainableWeights(): tf.Variable[] {
    return this.model.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  private fqActivation(y: tf.Tensor, key: string, training: boolean): tf.Tensor {
    if (training) {
      const [lo, hi] = tf.tidy(() => [tf.min(y), tf.max(y)]).map((t) => {
        const v = t.dataSync()[0];
        t.dispose();
        return v;
      });
      const r = this.ranges.get(key)!;
      const d = this.opts.emaDecay ?? 0.99;
      this.ranges.set(key, { min: d * r.min + (1 - d) * lo, max: d * r.max + (1 - d) * hi });
    }
    const r = this.ranges.get(key)!;
    const q = activationQuant(r.min, r.max);
    return fakeQuant(y, q.scale, q.zeroPoint);
  }

  private linear(layer: Layer, x: tf.Tensor): tf.Tensor {
    const type = layer.getClassName();
    const cfg = layer.getConfig() as { strides?: [number, number]; padding?: 'same' | 'valid'; activation?: string };
    const dilation = layerDilation(layer).computed;
    const kernel = layer.weights.find((w) => /kernel$/.test(w.originalName))!.read();
    const bias = layer.weights.find((w) => /bias$/.test(w.originalName))?.read();
    const quantW = this.steps.find((s) => s.layer === layer)?.key !== undefined;
    let y: tf.Tensor;
    if (type === 'Dense') {
      const w = quantW ? fakeQuantWeights(kernel, this.opts.perChannelDense === true) : kernel;
      y = tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
    } else if (type === 'Conv2D') {
      const w = quantW ? fakeQuantWeights(kernel, true) : kernel;
      y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, cfg.strides!, cfg.padding!, 'NHWC', dilation);
    } else {
      const w = quantW ? fakeQuantWeights(kernel, true, kernel.shape[2]! * kernel.shape[3]!) : kernel;
      y = tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, cfg.strides!, cfg.padding!, 'NHWC', dilation);
    }
    if (bias) y = tf.add(y, bias);
    if (cfg.activation === 'relu') y = tf.relu(y);
    else if (cfg.activation === 'relu6') y = tf.relu6(y);
    return y;
  }

  /** Logits with fake quantization. `training` updates the activation ranges and enables dropout. */
  forward(x: tf.Tensor, training = false): tf.Tensor {
    const values = new Map<string, tf.Tensor>();
    for (const step of this.steps) {
      const type = step.layer.getClassName();
      const ins = step.layer.inboundNodes[0]?.inboundLayers.map((l) => values.get(l.name)!) ?? [];
      let y: tf.Tensor;
      if (type === 'InputLayer') y = x;
      else if (LINEAR.has(type) && step.chain.length >= 1 && activationOf(step.layer) !== 'other') y = this.linear(step.layer, ins[0]);
      else if (type === 'Add') y = tf.addN(ins);
      else y = step.layer.apply(ins.length === 1 ? ins[0] : ins, { training }) as tf.Tensor;
      for (const l of step.chain.slice(1)) y = l.apply(y) as tf.Tensor;
      if (step.key !== undefined) y = this.fqActivation(y, step.key, training);
      for (const l of step.chain) values.set(l.name, y);
    }
    return values.get(this.model.outputLayers[0].name)!;
  }

  /** QuantParams of the trained, folded model: the learned ranges and the weights' per-channel scales. */
  params(): QuantParams {
    const p = paramsFromRanges(this.model, this.ranges, { observer: 'qat', samples: this.samples });
    const weights: NonNullable<QuantParams['weights']> = {};
    for (const step of this.steps) {
      const type = step.layer.getClassName();
      if (!LINEAR.has(type) || step.key === undefined) continue;
      const kernel = step.layer.weights.find((w) => /kernel$/.test(w.originalName))!.read();
      const channels = type === 'DepthwiseConv2D' ? kernel.shape[2]! * kernel.shape[3]! : kernel.shape[kernel.shape.length - 1]!;
      const perChannel = type !== 'Dense' || this.opts.perChannelDense === true;
      const maxAbs = tf.tidy(() => (perChannel ? tf.max(tf.abs(tf.reshape(kernel, [-1, channels])), 0) : tf.reshape(tf.max(tf.abs(kernel)), [1])).dataSync());
      weights[step.layer.name] = { scales: [...maxAbs].map(weightScale) };
    }
    return { ...p, weights, ...(this.opts.perChannelDense ? { perChannelDense: true } : {}), ...(this.opts.floatLayers?.length ? { floatLayers: [...this.opts.floatLayers] } : {}) };
  }
}
