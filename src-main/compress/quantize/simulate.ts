/**
 * INT8 inference simulated in TF.js with TFLite's integer arithmetic, so the app shows the accuracy
 * of the quantized model before export (the export stage then checks the real .tflite against it).
 *
 * The model is BN-folded first (fold.ts). Each Conv2D / DepthwiseConv2D / Dense, with the ReLU/ReLU6
 * that follow it fused, becomes one integer op, as in TFLite's CONV_2D / DEPTHWISE_CONV_2D /
 * FULLY_CONNECTED:
 *   acc[c]  = Σ (q_in − zp_in) · q_w[c] + q_bias[c]            int32 accumulation
 *   q_out   = clamp(MultiplyByQuantizedMultiplier(acc, M[c]) + zp_out, act_min, act_max)
 * with M[c] = s_in·s_w[c]/s_out as a Q31 multiplier and shift (fixed-point.ts, bit-exact to TFLite),
 * weights symmetric int8 (per channel for convolutions, per tensor for Dense unless perChannelDense),
 * bias int32 at scale s_in·s_w[c]. ADD follows TFLite's int8 kernel (inputs shifted left by 20,
 * rescaled to twice the larger input scale, summed, requantized). Max pooling, Flatten, Reshape,
 * Dropout and padding move integers; average pooling divides with round-half-away, keeping the
 * input's scale. Integer products are accumulated in float32 tensors, which is exact while
 * |acc| < 2^24; `maxAccumulator` reports the largest seen so a caller can tell.
 *
 * Mixed precision: an op listed in `floatLayers` (or not in `only`, for per-layer sensitivity) runs
 * in float on dequantized inputs, and its consumer quantizes its output with the range observed for
 * it, which is what the exporter does around a float island.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import { layerDilation } from '../../models/dilation';
import { foldBatchNorm, foldableBatchNorms } from './fold';
import { multiplyByQuantizedMultiplier, type QuantizedMultiplier, quantizeMultiplier, requantize } from './fixed-point';
import { type ActivationQuant, INT8_MAX, INT8_MIN, type QuantParams, quantizeBias, requantizableOutput, WEIGHT_QMAX, weightScale } from './params';

type Layer = tfl.layers.Layer;
type Act = 'none' | 'relu' | 'relu6';

interface Value {
  t: tf.Tensor;
  /** Present when `t` holds int8 values (as float32 integers). */
  q?: ActivationQuant;
  /** Where this tensor's range is stored in QuantParams. */
  key: string;
}

interface IntLinear {
  qW: tf.Tensor;
  /** Integer bias, or null when quantized per input scale at run time. */
  scales: number[];
  bias: Float32Array;
}

interface LinearOp {
  kind: 'linear';
  layer: Layer;
  chain: Layer[];
  /** Range key of the fused output (last layer of the chain, or the BN folded into a lone producer). */
  key: string;
  act: Act;
  quantized: boolean;
  w?: IntLinear;
}
interface AddOp {
  kind: 'add';
  layer: Layer;
  chain: Layer[];
  key: string;
  act: Act;
  quantized: boolean;
}
interface OtherOp {
  kind: 'input' | 'maxpool' | 'avgpool' | 'move' | 'pad' | 'float';
  layer: Layer;
  chain: Layer[];
  key: string;
}
type Op = LinearOp | AddOp | OtherOp;

const LINEAR = new Set(['Conv2D', 'DepthwiseConv2D', 'Dense']);
const MOVE = new Set(['Flatten', 'Reshape', 'Dropout']);

export function activationOf(layer: Layer): Act | 'other' {
  const type = layer.getClassName();
  const cfg = layer.getConfig() as { activation?: string; maxValue?: number | null; negativeSlope?: number; threshold?: number };
  if (type === 'ReLU') {
    if (cfg.negativeSlope || cfg.threshold) return 'other';
    return cfg.maxValue == null ? 'relu' : cfg.maxValue === 6 ? 'relu6' : 'other';
  }
  const a = cfg.activation ?? 'linear';
  return a === 'linear' ? 'none' : a === 'relu' || a === 'relu6' ? a : 'other';
}

function combine(a: Act, b: Act): Act {
  if (a === 'relu6' || b === 'relu6') return 'relu6';
  if (a === 'relu' || b === 'relu') return 'relu';
  return 'none';
}

/** Follow single-consumer ReLU/ReLU6/linear-activation layers after `layer`. */
function fuseChain(layer: Layer, act: Act, outputs: Set<string>): { chain: Layer[]; act: Act } {
  const chain = [layer];
  let cur = layer;
  while (!outputs.has(cur.name) && cur.outboundNodes.length === 1) {
    const next = cur.outboundNodes[0].outboundLayer;
    const t = next.getClassName();
    if (t !== 'ReLU' && t !== 'Activation') break;
    const a = activationOf(next);
    if (a === 'other') break;
    act = combine(act, a);
    chain.push(next);
    cur = next;
  }
  return { chain, act };
}

/**
 * The model's layers grouped into fused ops, in order: each Conv2D/DepthwiseConv2D/Dense/Add with
 * the ReLU/ReLU6 after it is one op (`fusable`); every other layer is an op of its own.
 */
export function fusedOps(model: tfl.LayersModel): { layer: Layer; chain: Layer[]; act: Act; fusable: boolean }[] {
  const outputs = new Set(model.outputLayers.map((l) => l.name));
  const out: { layer: Layer; chain: Layer[]; act: Act; fusable: boolean }[] = [];
  const fused = new Set<string>();
  for (const layer of model.layers) {
    if (fused.has(layer.name)) continue;
    const type = layer.getClassName();
    const own = activationOf(layer);
    if ((LINEAR.has(type) || type === 'Add') && own !== 'other') {
      const { chain, act } = fuseChain(layer, own, outputs);
      chain.slice(1).forEach((l) => fused.add(l.name));
      out.push({ layer, chain, act, fusable: true });
    } else out.push({ layer, chain: [layer], act: 'none', fusable: false });
  }
  return out;
}

function actRange(act: Act, q: ActivationQuant): [number, number] {
  if (act === 'none') return [INT8_MIN, INT8_MAX];
  const lo = Math.max(INT8_MIN, q.zeroPoint);
  const hi = act === 'relu6' ? Math.min(INT8_MAX, q.zeroPoint + Math.round(6 / q.scale)) : INT8_MAX;
  return [lo, hi];
}

/** Round half away from zero on a tensor (tf.round rounds half to even). */
export function roundAway(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.sign(x), tf.floor(tf.add(tf.abs(x), 0.5)));
}

function quantizeTensor(x: tf.Tensor, q: ActivationQuant): tf.Tensor {
  return tf.clipByValue(tf.add(roundAway(tf.div(x, Math.fround(q.scale))), q.zeroPoint), INT8_MIN, INT8_MAX);
}

function dequantizeTensor(x: tf.Tensor, q: ActivationQuant): tf.Tensor {
  return tf.mul(tf.sub(x, q.zeroPoint), Math.fround(q.scale));
}

function weightOf(layer: Layer, suffix: string): tf.Tensor | undefined {
  return layer.weights.find((w) => w.originalName.endsWith(`/${suffix}`))?.read();
}

export interface SimulatorOptions {
  /** Run these layers (any layer of a fused op) in float. */
  floatLayers?: readonly string[];
  /** Quantize only these layers' ops (per-layer sensitivity); everything else in float. */
  only?: readonly string[];
}

export class Int8Simulator {
  /** Largest |int32 accumulator| seen; the float32 accumulation is exact below 2^24. */
  maxAccumulator = 0;

  private constructor(
    private readonly model: tfl.LayersModel,
    private readonly ops: Op[],
    private readonly params: QuantParams,
  ) {}

  /** Quantizable ops by their first layer's name (Conv2D, DepthwiseConv2D, Dense, Add). */
  get quantizableOps(): string[] {
    return this.ops.filter((o) => o.kind === 'linear' || o.kind === 'add').map((o) => o.layer.name);
  }

  static async create(model: tfl.LayersModel, params: QuantParams, opts: SimulatorOptions = {}): Promise<Int8Simulator> {
    const folds = foldableBatchNorms(model);
    const bnOf = new Map([...folds].map(([bn, prev]) => [prev.name, bn]));
    const { model: folded } = await foldBatchNorm(model);
    const floatSet = new Set(opts.floatLayers ?? params.floatLayers ?? []);
    const only = opts.only ? new Set(opts.only) : undefined;
    const keyOf = (chain: Layer[]) => {
      const last = chain[chain.length - 1];
      return chain.length === 1 && bnOf.has(last.name) ? bnOf.get(last.name)! : last.name;
    };
    const isQuantized = (chain: Layer[]) => !chain.some((l) => floatSet.has(l.name) || floatSet.has(bnOf.get(l.name) ?? '')) && (!only || chain.some((l) => only.has(l.name)));
    const ops: Op[] = [];
    for (const { layer, chain, act, fusable } of fusedOps(folded)) {
      const type = layer.getClassName();
      if (type === 'InputLayer') ops.push({ kind: 'input', layer, chain, key: layer.name });
      else if (fusable) {
        const key = keyOf(chain);
        if (!params.activations[key]) throw new AppError('INVALID_ARGS', `The quantization parameters have no range for "${key}"; they were made for another model. Quantize this model again.`);
        if (type === 'Add') ops.push({ kind: 'add', layer, chain, key, act, quantized: isQuantized(chain) && layer.inboundNodes[0].inboundLayers.length === 2 });
        else ops.push({ kind: 'linear', layer, chain, key, act, quantized: isQuantized(chain) });
      } else if (type === 'MaxPooling2D' || type === 'GlobalMaxPooling2D') ops.push({ kind: 'maxpool', layer, chain, key: layer.name });
      else if (type === 'AveragePooling2D' || type === 'GlobalAveragePooling2D') ops.push({ kind: 'avgpool', layer, chain, key: layer.name });
      else if (MOVE.has(type)) ops.push({ kind: 'move', layer, chain, key: layer.name });
      else if (type === 'ZeroPadding2D') ops.push({ kind: 'pad', layer, chain, key: layer.name });
      else ops.push({ kind: 'float', layer, chain, key: layer.name });
    }
    const sim = new Int8Simulator(folded, ops, params);
    sim.prepareWeights();
    return sim;
  }

  private prepareWeights(): void {
    for (const op of this.ops) {
      if (op.kind !== 'linear' || !op.quantized) continue;
      const type = op.layer.getClassName();
      const kernel = weightOf(op.layer, type === 'DepthwiseConv2D' ? 'depthwise_kernel' : 'kernel')!;
      const outChannels = type === 'DepthwiseConv2D' ? kernel.shape[2]! * kernel.shape[3]! : kernel.shape[kernel.shape.length - 1]!;
      const perChannel = type !== 'Dense' || this.params.perChannelDense === true;
      const given = this.params.weights?.[op.layer.name]?.scales;
      let scales: number[];
      if (given) scales = given;
      else {
        const maxAbs = tf.tidy(() => (perChannel ? tf.max(tf.abs(tf.reshape(kernel, [-1, outChannels])), 0) : tf.reshape(tf.max(tf.abs(kernel)), [1])).dataSync());
        scales = [...maxAbs].map(weightScale);
      }
      scales = scales.map(Math.fround);
      const qW = tf.tidy(() => {
        const shape = type === 'DepthwiseConv2D' ? [1, 1, kernel.shape[2]!, kernel.shape[3]!] : type === 'Dense' ? [1, scales.length] : [1, 1, 1, scales.length];
        const s = scales.length === 1 ? tf.scalar(scales[0]) : tf.reshape(tf.tensor1d(scales), shape);
        return tf.clipByValue(roundAway(tf.div(kernel, s)), -WEIGHT_QMAX, WEIGHT_QMAX);
      });
      const b = weightOf(op.layer, 'bias');
      op.w = { qW, scales, bias: b ? (b.dataSync() as Float32Array).slice() : new Float32Array(outChannels) };
    }
  }

  dispose(): void {
    for (const op of this.ops) if (op.kind === 'linear') op.w?.qW.dispose();
    this.model.dispose();
  }

  private quant(key: string): ActivationQuant {
    const q = this.params.activations[key];
    if (!q) throw new AppError('INVALID_ARGS', `The quantization parameters have no range for "${key}"; quantize this model again.`);
    return q;
  }

  private toInt(v: Value): Value {
    if (v.q) return v;
    const q = this.quant(v.key);
    return { t: quantizeTensor(v.t, q), q, key: v.key };
  }

  private toFloat(v: Value): tf.Tensor {
    return v.q ? dequantizeTensor(v.t, v.q) : v.t;
  }

  /** Logits (dequantized) for a batch of float inputs. The caller disposes the result. */
  run(x: tf.Tensor): tf.Tensor {
    const values = new Map<string, Value>();
    const scope: tf.Tensor[] = [];
    const keep = (t: tf.Tensor) => (scope.push(t), t);
    try {
      for (const op of this.ops) {
        const ins = op.kind === 'input' ? [] : op.layer.inboundNodes[0].inboundLayers.map((l) => values.get(l.name)!);
        let out: Value;
        switch (op.kind) {
          case 'input':
            out = { t: x, key: op.key };
            break;
          case 'linear':
            out = op.quantized ? this.linearInt(op, this.toInt(ins[0]), keep) : this.floatChain(op.chain, ins, op.key, keep);
            break;
          case 'add':
            out = op.quantized ? this.addInt(op, ins.map((v) => this.toInt(v)), keep) : this.floatChain(op.chain, ins, op.key, keep);
            break;
          case 'maxpool':
          case 'move':
            out = { t: keep(op.layer.apply(ins[0].t) as tf.Tensor), q: ins[0].q, key: ins[0].q ? ins[0].key : op.key };
            break;
          case 'pad':
            out = ins[0].q
              ? { t: keep(tf.tidy(() => tf.add(op.layer.apply(tf.sub(ins[0].t, ins[0].q!.zeroPoint)) as tf.Tensor, ins[0].q!.zeroPoint))), q: ins[0].q, key: ins[0].key }
              : { t: keep(op.layer.apply(ins[0].t) as tf.Tensor), key: op.key };
            break;
          case 'avgpool':
            out = ins[0].q
              ? { t: keep(tf.tidy(() => roundAway(op.layer.apply(ins[0].t) as tf.Tensor))), q: ins[0].q, key: ins[0].key }
              : { t: keep(op.layer.apply(ins[0].t) as tf.Tensor), key: op.key };
            break;
          default:
            out = this.floatChain(op.chain, ins, op.key, keep);
        }
        for (const l of op.chain) values.set(l.name, out);
      }
      const outs = this.model.outputLayers.map((l) => values.get(l.name)!);
      return tf.tidy(() => this.toFloat(outs[0]).clone());
    } finally {
      tf.dispose(scope.filter((t) => t !== x));
    }
  }

  private floatChain(chain: Layer[], ins: Value[], key: string, keep: (t: tf.Tensor) => tf.Tensor): Value {
    const t = tf.tidy(() => {
      let y = chain[0].apply(ins.length === 1 ? this.toFloat(ins[0]) : ins.map((v) => this.toFloat(v))) as tf.Tensor;
      for (const l of chain.slice(1)) y = l.apply(y) as tf.Tensor;
      return y;
    });
    return { t: keep(t), key };
  }

  private linearInt(op: LinearOp, input: Value, keep: (t: tf.Tensor) => tf.Tensor): Value {
    const w = op.w!;
    const qIn = input.q!;
    const qOut = requantizableOutput(this.quant(op.key), qIn.scale, w.scales);
    const type = op.layer.getClassName();
    const cfg = op.layer.getConfig() as { strides?: number[]; padding?: 'same' | 'valid' };
    const dilation = layerDilation(op.layer).computed;
    const sIn = Math.fround(qIn.scale);
    const sOut = Math.fround(qOut.scale);
    const multipliers: QuantizedMultiplier[] = w.scales.map((sw) =>
      // FULLY_CONNECTED multiplies the two float32 scales in float32; convolutions in double.
      quantizeMultiplier(type === 'Dense' ? Math.fround(sIn * sw) / sOut : (sIn * sw) / sOut),
    );
    // The exporter's own int32 bias (one function for both).
    const bias = Float32Array.from(quantizeBias(w.bias, qIn.scale, w.scales).q);
    const acc = tf.tidy(() => {
      const centered = tf.sub(input.t, qIn.zeroPoint);
      let y: tf.Tensor;
      if (type === 'Dense') y = tf.matMul(centered as tf.Tensor2D, w.qW as tf.Tensor2D);
      else if (type === 'Conv2D') y = tf.conv2d(centered as tf.Tensor4D, w.qW as tf.Tensor4D, cfg.strides as [number, number], cfg.padding!, 'NHWC', dilation);
      else y = tf.depthwiseConv2d(centered as tf.Tensor4D, w.qW as tf.Tensor4D, cfg.strides as [number, number], cfg.padding!, 'NHWC', dilation);
      return tf.add(y, tf.tensor1d(bias));
    });
    const data = acc.dataSync() as Float32Array;
    for (let i = 0; i < data.length; i++) if (Math.abs(data[i]) > this.maxAccumulator) this.maxAccumulator = Math.abs(data[i]);
    const [lo, hi] = actRange(op.act, qOut);
    const out = tf.tensor(requantize(data, multipliers, qOut.zeroPoint, lo, hi), acc.shape);
    acc.dispose();
    return { t: keep(out), q: qOut, key: op.key };
  }

  private addInt(op: AddOp, ins: Value[], keep: (t: tf.Tensor) => tf.Tensor): Value {
    const qOut = this.quant(op.key);
    const [a, b] = ins;
    const s1 = Math.fround(a.q!.scale);
    const s2 = Math.fround(b.q!.scale);
    const twiceMax = 2 * Math.max(s1, s2);
    const leftShift = 20;
    const m1 = quantizeMultiplier(s1 / twiceMax);
    const m2 = quantizeMultiplier(s2 / twiceMax);
    const mOut = quantizeMultiplier(twiceMax / ((1 << leftShift) * Math.fround(qOut.scale)));
    const da = a.t.dataSync();
    const db = b.t.dataSync();
    const [lo, hi] = actRange(op.act, qOut);
    const out = new Float32Array(da.length);
    for (let i = 0; i < da.length; i++) {
      const x1 = multiplyByQuantizedMultiplier((da[i] - a.q!.zeroPoint) * (1 << leftShift), m1);
      const x2 = multiplyByQuantizedMultiplier((db[i] - b.q!.zeroPoint) * (1 << leftShift), m2);
      const v = multiplyByQuantizedMultiplier(x1 + x2, mOut) + qOut.zeroPoint;
      out[i] = v < lo ? lo : v > hi ? hi : v;
    }
    return { t: keep(tf.tensor(out, a.t.shape)), q: qOut, key: op.key };
  }
}

/** Top-1 accuracy of a batch-run function on labelled samples. */
export function accuracyOf(run: (x: tf.Tensor) => tf.Tensor, samples: { x: Float32Array; y: Int32Array; n: number; sampleShape: number[] }, batchSize = 256): number {
  const per = samples.sampleShape.reduce((a, b) => a * b, 1);
  let correct = 0;
  for (let start = 0; start < samples.n; start += batchSize) {
    const n = Math.min(batchSize, samples.n - start);
    const x = tf.tensor(samples.x.subarray(start * per, (start + n) * per), [n, ...samples.sampleShape]);
    const logits = run(x);
    const pred = tf.tidy(() => tf.argMax(logits, -1).dataSync());
    tf.dispose([x, logits]);
    for (let i = 0; i < n; i++) if (pred[i] === samples.y[start + i]) correct++;
  }
  return samples.n ? correct / samples.n : 0;
}

/** Accuracy of the INT8 model as TFLite would compute it. */
export async function evaluateInt8(model: tfl.LayersModel, params: QuantParams, samples: Parameters<typeof accuracyOf>[1], opts: SimulatorOptions = {}): Promise<{ accuracy: number; maxAccumulator: number }> {
  const sim = await Int8Simulator.create(model, params, opts);
  try {
    return { accuracy: accuracyOf((x) => sim.run(x), samples), maxAccumulator: sim.maxAccumulator };
  } finally {
    sim.dispose();
  }
}
