/**
 * `.tflite` export: lowers the operator graph (graph.ts) to TFLite tensors and operators at one of
 * four precisions, and serialises it (tflite/write.ts).
 *
 * - fp32: float weights and activations.
 * - fp16: weights stored as float16, each followed by a DEQUANTIZE to float32 (half the size; the
 *   runtime or a GPU delegate computes in float).
 * - dynamic: weights int8 (per channel for convolutions, per tensor for FULLY_CONNECTED), activations
 *   float; the runtime's hybrid kernels quantize activations on the fly.
 * - int8: full integer: int8 weights and activations, int32 biases, following QuantParams (see
 *   compress/quantize/params.ts); float input/output through QUANTIZE/DEQUANTIZE at the edges, or
 *   int8 input/output (`io: 'int8'`, what integer-only accelerators want), or uint8 input/output
 *   (`io: 'uint8'`, the drop-in form of an image classifier: it takes raw 0–255 pixels). With integer
 *   I/O on an image model the input quantization is derived from the model's stated normalization,
 *   not from calibration: model input = (raw − mean) / std = scale · (q − zero point) with q the raw
 *   pixel (uint8) or the raw pixel − 128 (int8, as TFLite's metadata schema describes int8 images), so
 *   scale = 1 / std and zero point = mean (− 128), and the metadata's NormalizationOptions hold.
 *
 * Operator versions are the lowest that support what each operator uses (the table in TFLite's
 * tools/versioning/op_version.cc), so older runtimes on phones load the file.
 */
import { createHash } from 'node:crypto';
import type * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../src-shared/errors';
import type { Precision } from '../../src-shared/types';
import {
  SOFTMAX_OUTPUT_QUANT,
  WEIGHT_QMAX,
  type ActivationQuant,
  type QuantParams,
  quantizeBias,
  requantizableOutput,
  validateQuantParams,
  weightScale,
} from '../compress/quantize/params';
import { buildGraph, type ConvOp, type DenseOp, type IrGraph, type IrOp } from './graph';
import { appendZip, buildMetadata, imageNormalization, labelsFile, type ExportMetadata } from './metadata';
import { BuiltinOptions, Op, TensorType, type OpName } from './tflite/schema';
import { type FbOperator, type FbOptions, type FbQuant, type FbTensor, options, serializeModel } from './tflite/write';

/** The artifact precisions a writer produces (`dynamic` is accepted as another name for `int8-dynamic`). */
export type ExportPrecision = Exclude<Precision, 'mixed'>;
export const PRECISIONS: readonly ExportPrecision[] = ['fp32', 'fp16', 'int8-dynamic', 'int8'];

export interface ExportOptions {
  precision: ExportPrecision | 'dynamic';
  /** Required for `int8`. */
  quant?: QuantParams;
  /** Full INT8 only: float (default), int8, or uint8 (raw pixels) model input and output. */
  io?: 'float' | 'int8' | 'uint8';
  metadata?: ExportMetadata;
}

export interface BuiltTflite {
  bytes: Uint8Array;
  sha256: string;
  /** Operators in execution order, with their versions. */
  ops: { op: OpName; version: number }[];
  warnings: string[];
}

type Mode = 'float' | 'int8';

class TfliteBuilder {
  tensors: FbTensor[] = [];
  buffers: Uint8Array[] = [new Uint8Array(0)];
  operators: FbOperator[] = [];
  opcodes: { code: number; version: number }[] = [];
  opList: { op: OpName; version: number }[] = [];
  private opcodeIndex = new Map<string, number>();

  tensor(name: string, shape: number[], type: number, data?: Uint8Array, quantization?: FbQuant): number {
    let buffer = 0;
    if (data) {
      buffer = this.buffers.length;
      this.buffers.push(data);
    }
    this.tensors.push({ name, shape, type, buffer, ...(quantization ? { quantization } : {}) });
    return this.tensors.length - 1;
  }

  op(name: OpName, version: number, inputs: number[], outputs: number[], opts?: FbOptions): void {
    const key = `${name}:${version}`;
    let idx = this.opcodeIndex.get(key);
    if (idx === undefined) {
      idx = this.opcodes.length;
      this.opcodes.push({ code: Op[name], version });
      this.opcodeIndex.set(key, idx);
    }
    this.operators.push({ opcodeIndex: idx, inputs, outputs, ...(opts ? { options: opts } : {}) });
    this.opList.push({ op: name, version });
  }
}

const bytesOf = (a: Float32Array | Int32Array | Int8Array | Uint16Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** float32 → IEEE half bits, round to nearest even; overflow → ±Infinity. */
export function toFloat16Bits(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < values.length; i++) {
    f[0] = values[i];
    const x = u[0];
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    let e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let half = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const mid = 1 << (shift - 1);
      if (rem > mid || (rem === mid && half & 1)) half++;
      out[i] = sign | half;
      continue;
    }
    let half = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
    out[i] = sign | half;
    e = 0;
  }
  return out;
}

/** Symmetric int8 weights with one scale per output channel (`axisLen` channels, `channelOf(i)` gives each element's channel). */
function quantizeWeights(w: Float32Array, channels: number, channelOf: (i: number) => number, given?: number[]): { q: Int8Array; scales: number[] } {
  let scales = given;
  if (!scales) {
    const maxAbs = new Float64Array(channels);
    for (let i = 0; i < w.length; i++) {
      const c = channelOf(i);
      const a = Math.abs(w[i]);
      if (a > maxAbs[c]) maxAbs[c] = a;
    }
    scales = Array.from(maxAbs, weightScale);
  }
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const v = w[i] / scales[channelOf(i)];
    q[i] = Math.max(-WEIGHT_QMAX, Math.min(WEIGHT_QMAX, Math.sign(v) * Math.round(Math.abs(v))));
  }
  return { q, scales };
}

/** Operator versions: the lowest supporting the tensor types used (op_version.cc). */
function versionOf(op: OpName, mode: Mode | 'hybrid', detail: { perChannel?: boolean; dilated?: boolean; fp16?: boolean } = {}): number {
  const int8 = mode === 'int8';
  switch (op) {
    case 'CONV_2D':
      return int8 ? 3 : mode === 'hybrid' ? (detail.perChannel ? 5 : 2) : 1;
    case 'DEPTHWISE_CONV_2D':
      return int8 ? 3 : mode === 'hybrid' ? (detail.perChannel ? 6 : 4) : detail.dilated ? 2 : 1;
    case 'FULLY_CONNECTED':
      return int8 ? 4 : mode === 'hybrid' ? (detail.perChannel ? 12 : 3) : 1;
    case 'DEQUANTIZE':
      return detail.fp16 ? 3 : int8 ? 2 : 1;
    case 'QUANTIZE':
    case 'RESHAPE':
      return 1;
    default:
      return int8 ? 2 : 1;
  }
}

/**
 * Input quantization of an image model fed raw pixels: model input = (raw − mean) / std must equal
 * scale · (q − zero point) for q = raw (uint8; int8 holds raw − 128, the same parameters shifted), so
 * scale = 1/std and zero point = mean. A zero point is a whole number: a mean of 127.5 (Teachable
 * Machine) becomes 128, half a quantization step off, as TFLite's converter does it; the warning says so.
 * One scale serves every channel, so a per-channel normalization cannot be expressed.
 */
export function rawPixelInputQuant(meta: ExportMetadata | undefined, warnings: string[]): ActivationQuant {
  const { mean, std } = imageNormalization(meta ?? {});
  if (new Set(mean).size > 1 || new Set(std).size > 1) {
    throw new AppError(
      'UNSUPPORTED',
      `The model normalizes each colour channel differently (mean ${mean.join(', ')}; std ${std.join(', ')}), which one input quantization cannot express; export with float input instead.`,
    );
  }
  const zeroPointU8 = Math.max(0, Math.min(255, Math.round(mean[0])));
  const scale = 1 / std[0];
  if (!(scale > 0) || !Number.isFinite(scale)) throw new AppError('INVALID_ARGS', `The input normalization's std (${std[0]}) must be positive for an integer input.`);
  if (zeroPointU8 !== mean[0]) {
    warnings.push(
      `The input normalization's mean ${mean[0]} is not a whole number: the integer input uses zero point ${zeroPointU8}, so the file computes (pixel − ${zeroPointU8}) / ${std[0]}, ${Math.abs(zeroPointU8 - mean[0])} pixel level off the float model's input (TFLite's converter makes the same approximation).`,
    );
  }
  const zeroPoint = zeroPointU8 - 128;
  return { scale, zeroPoint, min: (-128 - zeroPoint) * scale, max: (127 - zeroPoint) * scale };
}

/** Lowers the graph to TFLite tensors and operators. */
function lower(g: IrGraph, opts: ExportOptions & { precision: ExportPrecision }, b: TfliteBuilder, warnings: string[]): { input: number; output: number } {
  const { precision } = opts;
  const q = precision === 'int8' ? opts.quant : undefined;
  const floatLayers = new Set(q?.floatLayers ?? []);
  const io = precision === 'int8' ? (opts.io ?? 'float') : 'float';
  const tensorsOf = new Map<string, { float?: number; int8?: number }>();
  const paramsOf = new Map<string, ActivationQuant>();
  const shape = (v: string) => g.shapes.get(v)!;
  const fbq = (p: ActivationQuant): FbQuant => ({ scale: [p.scale], zeroPoint: [p.zeroPoint] });

  const activationParams = (value: string, op: IrOp): ActivationQuant => {
    // TFLite's int8 SOFTMAX and LOGISTIC require this fixed output quantization.
    if (op.kind === 'softmax' || op.kind === 'logistic') return SOFTMAX_OUTPUT_QUANT;
    const keeps = op.kind === 'maxpool' || op.kind === 'avgpool' || op.kind === 'reshape' || op.kind === 'pad' || op.kind === 'mean';
    if (keeps && paramsOf.has(op.inputs[0])) return paramsOf.get(op.inputs[0])!;
    const p = q!.activations[value];
    if (!p) {
      throw new AppError('INVALID_ARGS', `The quantization parameters have no range for "${value}" (from layer ${op.layers.join(' + ')}); calibrate this model again before a full-INT8 export.`, { layer: value });
    }
    return p;
  };

  /** `adjust` may change an op's int8 output parameters (see requantizableOutput). */
  const produce = (value: string, mode: Mode, op?: IrOp, adjust?: (p: ActivationQuant) => ActivationQuant): number => {
    const entry = tensorsOf.get(value) ?? {};
    let t: number;
    if (mode === 'int8') {
      const given = op ? activationParams(value, op) : paramsOf.get(value)!;
      const p = adjust ? adjust(given) : given;
      paramsOf.set(value, p);
      // With float or uint8 I/O the model's output tensor keeps the plain name; its int8 producer gets a suffix.
      t = b.tensor(value === g.output && io !== 'int8' ? `${value}:int8` : value, shape(value), TensorType.INT8, undefined, fbq(p));
      entry.int8 = t;
    } else {
      t = b.tensor(value, shape(value), TensorType.FLOAT32);
      entry.float = t;
    }
    tensorsOf.set(value, entry);
    return t;
  };

  /** The tensor of `value` in `mode`, converting once with QUANTIZE / DEQUANTIZE where needed. */
  const use = (value: string, mode: Mode): number => {
    const entry = tensorsOf.get(value)!;
    const have = entry[mode];
    if (have !== undefined) return have;
    if (mode === 'int8') {
      if (!paramsOf.has(value)) {
        const p = q!.activations[value];
        if (!p) throw new AppError('INVALID_ARGS', `The quantization parameters have no range for "${value}"; calibrate this model again before a full-INT8 export.`, { layer: value });
        paramsOf.set(value, p);
      }
      const t = b.tensor(`${value}:int8`, shape(value), TensorType.INT8, undefined, fbq(paramsOf.get(value)!));
      b.op('QUANTIZE', versionOf('QUANTIZE', 'int8'), [entry.float!], [t], options.empty(BuiltinOptions.QuantizeOptions));
      entry.int8 = t;
      return t;
    }
    const t = b.tensor(value === g.output ? value : `${value}:float`, shape(value), TensorType.FLOAT32);
    b.op('DEQUANTIZE', versionOf('DEQUANTIZE', 'int8'), [entry.int8!], [t], options.empty(BuiltinOptions.DequantizeOptions));
    entry.float = t;
    return t;
  };

  /** The uint8 twin of an int8 tensor: same scale, zero point + 128 (what QUANTIZE between them keeps exact). */
  const uint8Quant = (p: ActivationQuant): FbQuant => ({ scale: [p.scale], zeroPoint: [p.zeroPoint + 128] });

  // Model input.
  let input: number;
  if (precision === 'int8' && io !== 'float') {
    const image = shape(g.input).length === 4;
    const p = image ? rawPixelInputQuant(opts.metadata, warnings) : q!.activations[g.input];
    if (!p) throw new AppError('INVALID_ARGS', `The quantization parameters have no range for the model input "${g.input}"; calibrate the model again.`);
    paramsOf.set(g.input, p);
    if (io === 'uint8') {
      input = b.tensor(g.input, shape(g.input), TensorType.UINT8, undefined, uint8Quant(p));
      const t = b.tensor(`${g.input}:int8`, shape(g.input), TensorType.INT8, undefined, fbq(p));
      b.op('QUANTIZE', versionOf('QUANTIZE', 'int8'), [input], [t], options.empty(BuiltinOptions.QuantizeOptions));
      tensorsOf.set(g.input, { int8: t });
    } else input = produce(g.input, 'int8');
  } else input = produce(g.input, 'float');

  const constInt32 = (name: string, values: number[], dims: number[]) => b.tensor(name, dims, TensorType.INT32, bytesOf(Int32Array.from(values)));

  /** Weights and bias of a conv / dense op in the precision's form. */
  const weightTensors = (op: ConvOp | DenseOp, mode: Mode, inputScale: number): { w: number; bias: number; perChannel: boolean; scales?: number[] } => {
    const channels = op.bias.length;
    const depthwise = op.kind === 'depthwise';
    const per = op.weights.length / channels;
    const channelOf = depthwise ? (i: number) => i % channels : (i: number) => Math.floor(i / per);
    const name = op.layers[0];
    if (precision === 'fp32' || (precision === 'int8' && mode === 'float')) {
      return { w: b.tensor(`${name}/weights`, op.weightShape, TensorType.FLOAT32, bytesOf(op.weights)), bias: b.tensor(`${name}/bias`, [channels], TensorType.FLOAT32, bytesOf(op.bias)), perChannel: false };
    }
    if (precision === 'fp16') {
      const dq = (label: string, data: Float32Array, dims: number[]) => {
        const half = b.tensor(`${name}/${label}_fp16`, dims, TensorType.FLOAT16, bytesOf(toFloat16Bits(data)));
        const full = b.tensor(`${name}/${label}`, dims, TensorType.FLOAT32);
        b.op('DEQUANTIZE', versionOf('DEQUANTIZE', 'float', { fp16: true }), [half], [full], options.empty(BuiltinOptions.DequantizeOptions));
        return full;
      };
      return { w: dq('weights', op.weights, op.weightShape), bias: dq('bias', op.bias, [channels]), perChannel: false };
    }
    const perChannel = op.kind !== 'dense' || Boolean(q?.perChannelDense);
    const given = q?.weights?.[op.output]?.scales ?? q?.weights?.[name]?.scales;
    if (given && given.length !== (perChannel ? channels : 1)) {
      throw new AppError('INVALID_ARGS', `Layer "${name}" has ${given.length} weight scales; it needs ${perChannel ? channels : 1}. Quantize the model again.`);
    }
    const { q: qw, scales } = perChannel ? quantizeWeights(op.weights, channels, channelOf, given) : quantizeWeights(op.weights, 1, () => 0, given);
    const wq: FbQuant = { scale: scales, zeroPoint: scales.map(() => 0), quantizedDimension: perChannel && depthwise ? 3 : 0 };
    const w = b.tensor(`${name}/weights`, op.weightShape, TensorType.INT8, bytesOf(qw), wq);
    if (precision === 'int8-dynamic') return { w, bias: b.tensor(`${name}/bias`, [channels], TensorType.FLOAT32, bytesOf(op.bias)), perChannel };
    const { q: qb, scales: biasScales } = quantizeBias(op.bias, inputScale, perChannel ? scales : [scales[0]]);
    const bias = b.tensor(`${name}/bias`, [channels], TensorType.INT32, bytesOf(qb), {
      scale: perChannel ? biasScales : [biasScales[0]],
      zeroPoint: (perChannel ? biasScales : [0]).map(() => 0),
    });
    return { w, bias, perChannel, scales };
  };

  for (const original of g.ops) {
    let op: IrOp = original;
    const mode: Mode = precision === 'int8' && !op.layers.some((l) => floatLayers.has(l)) ? 'int8' : 'float';
    if (op.kind === 'affine') {
      if (mode === 'float') {
        const x = use(op.inputs[0], 'float');
        const n = op.scale.length;
        const scaleT = b.tensor(`${op.layers[0]}/scale`, [n], TensorType.FLOAT32, bytesOf(op.scale));
        const shiftT = b.tensor(`${op.layers[0]}/shift`, [n], TensorType.FLOAT32, bytesOf(op.shift));
        const mid = b.tensor(`${op.output}:scaled`, shape(op.output), TensorType.FLOAT32);
        b.op('MUL', versionOf('MUL', 'float'), [x, scaleT], [mid], options.mul({}));
        const y = produce(op.output, 'float', op);
        b.op('ADD', versionOf('ADD', 'float'), [mid, shiftT], [y], options.add({}));
        continue;
      }
      const n = op.scale.length;
      const w = new Float32Array(n * n);
      for (let c = 0; c < n; c++) w[c * n + c] = op.scale[c];
      op = { kind: 'dense', layers: op.layers, inputs: op.inputs, output: op.output, weights: w, weightShape: [n, n], bias: op.shift, activation: 'NONE' };
    }
    const vMode = precision === 'int8-dynamic' && (op.kind === 'conv' || op.kind === 'depthwise' || op.kind === 'dense') ? 'hybrid' : mode;
    const x = use(op.inputs[0], mode);
    switch (op.kind) {
      case 'conv':
      case 'depthwise':
      case 'dense': {
        const inScale = mode === 'int8' ? paramsOf.get(op.inputs[0])!.scale : 1;
        const { w, bias, perChannel, scales } = weightTensors(op, mode, inScale);
        // XNNPack refuses a requantization scale ≥ 256 (a collapsed output range): widen the output's.
        const y = produce(op.output, mode, op, scales && ((p) => requantizableOutput(p, inScale, scales)));
        if (op.kind === 'dense') b.op('FULLY_CONNECTED', versionOf('FULLY_CONNECTED', vMode, { perChannel }), [x, w, bias], [y], options.fullyConnected({ activation: op.activation }));
        else {
          const common = { padding: op.padding, strideH: op.stride[0], strideW: op.stride[1], dilationH: op.dilation[0], dilationW: op.dilation[1], activation: op.activation };
          const dilated = op.dilation[0] !== 1 || op.dilation[1] !== 1;
          if (op.kind === 'conv') b.op('CONV_2D', versionOf('CONV_2D', vMode, { perChannel }), [x, w, bias], [y], options.conv2d(common));
          else b.op('DEPTHWISE_CONV_2D', versionOf('DEPTHWISE_CONV_2D', vMode, { perChannel, dilated }), [x, w, bias], [y], options.depthwiseConv2d({ ...common, depthMultiplier: op.depthMultiplier }));
        }
        break;
      }
      case 'maxpool':
      case 'avgpool': {
        const y = produce(op.output, mode, op);
        const o = options.pool2d({ padding: op.padding, strideH: op.stride[0], strideW: op.stride[1], filterH: op.filter[0], filterW: op.filter[1], activation: op.activation });
        b.op(op.kind === 'maxpool' ? 'MAX_POOL_2D' : 'AVERAGE_POOL_2D', versionOf('MAX_POOL_2D', mode), [x], [y], o);
        break;
      }
      case 'mean': {
        const axes = constInt32(`${op.output}/axes`, [1, 2], [2]);
        const y = produce(op.output, mode, op);
        b.op('MEAN', versionOf('MEAN', mode), [x, axes], [y], options.reducer(false));
        break;
      }
      case 'reshape': {
        const s = shape(op.output);
        const shapeT = constInt32(`${op.output}/shape`, s, [s.length]);
        const y = produce(op.output, mode, op);
        b.op('RESHAPE', versionOf('RESHAPE', mode), [x, shapeT], [y], options.reshape(s));
        break;
      }
      case 'softmax':
      case 'relu':
      case 'relu6':
      case 'logistic':
      case 'hardswish': {
        const y = produce(op.output, mode, op);
        const name = ({ softmax: 'SOFTMAX', relu: 'RELU', relu6: 'RELU6', logistic: 'LOGISTIC', hardswish: 'HARD_SWISH' } as const)[op.kind];
        const o = op.kind === 'softmax' ? options.softmax(1) : op.kind === 'hardswish' ? options.empty(BuiltinOptions.HardSwishOptions) : undefined;
        // HARD_SWISH has one version for float and int8 (TFLite registers only version 1).
        b.op(name, op.kind === 'hardswish' ? 1 : versionOf(name, mode), [x], [y], o);
        break;
      }
      case 'add':
      case 'mul': {
        const x2 = use(op.inputs[1], mode);
        const y = produce(op.output, mode, op);
        if (op.kind === 'add') b.op('ADD', versionOf('ADD', mode), [x, x2], [y], options.add({ activation: op.activation }));
        else b.op('MUL', versionOf('MUL', mode), [x, x2], [y], options.mul({ activation: op.activation }));
        break;
      }
      case 'concat': {
        const y = produce(op.output, mode, op);
        const ins = op.inputs.map((v) => {
          const t = use(v, mode);
          if (mode !== 'int8') return t;
          // TFLite's int8 CONCATENATION needs every input at the output's scale and zero point.
          const pin = paramsOf.get(v)!;
          const pout = paramsOf.get(op.output)!;
          if (pin.scale === pout.scale && pin.zeroPoint === pout.zeroPoint) return t;
          const r = b.tensor(`${v}:requant`, shape(v), TensorType.INT8, undefined, fbq(pout));
          b.op('QUANTIZE', versionOf('QUANTIZE', 'int8'), [t], [r], options.empty(BuiltinOptions.QuantizeOptions));
          return r;
        });
        b.op('CONCATENATION', versionOf('CONCATENATION', mode), ins, [y], options.concatenation({ axis: op.axis, activation: op.activation }));
        break;
      }
      case 'pad': {
        const p = constInt32(`${op.output}/paddings`, op.paddings.flat(), [op.paddings.length, 2]);
        const y = produce(op.output, mode, op);
        b.op('PAD', versionOf('PAD', mode), [x, p], [y], options.empty(BuiltinOptions.PadOptions));
        break;
      }
    }
  }

  let output: number;
  if (precision === 'int8' && io === 'int8') output = use(g.output, 'int8');
  else if (precision === 'int8' && io === 'uint8') {
    const t = use(g.output, 'int8');
    output = b.tensor(g.output, shape(g.output), TensorType.UINT8, undefined, uint8Quant(paramsOf.get(g.output)!));
    b.op('QUANTIZE', versionOf('QUANTIZE', 'int8'), [t], [output], options.empty(BuiltinOptions.QuantizeOptions));
  } else output = use(g.output, 'float');
  if (precision === 'int8' && floatLayers.size) warnings.push(`Kept in float: ${[...floatLayers].join(', ')}.`);
  return { input, output };
}

/** Builds the `.tflite` bytes in memory. Throws before anything is written when a layer cannot be exported. */
export function buildTflite(model: tfl.LayersModel, options_: ExportOptions): BuiltTflite {
  const opts = { ...options_, precision: options_.precision === 'dynamic' ? ('int8-dynamic' as const) : options_.precision };
  if (!PRECISIONS.includes(opts.precision)) throw new AppError('INVALID_ARGS', `Unknown precision "${String(opts.precision)}"; choose one of ${PRECISIONS.join(', ')}.`);
  if (opts.io && opts.io !== 'float' && opts.precision !== 'int8') throw new AppError('INVALID_ARGS', `${opts.io} input/output needs the full INT8 precision; choose precision "int8" or float I/O.`);
  if (opts.precision === 'int8') {
    if (!opts.quant) {
      throw new AppError('INVALID_ARGS', 'A full-INT8 export needs quantization parameters: calibrate the model on training samples first (quantize stage, or min-max calibration).');
    }
    validateQuantParams(opts.quant);
  }
  const graph = buildGraph(model);
  const b = new TfliteBuilder();
  const warnings: string[] = [...graph.notes];
  const { input, output } = lower(graph, opts, b, warnings);
  const io = opts.precision === 'int8' ? (opts.io ?? 'float') : 'float';
  const meta = buildMetadata(opts.metadata ?? {}, {
    modelName: model.name,
    precision: opts.precision,
    input: { shape: graph.shapes.get(graph.input)!, dtype: io === 'float' ? 'float32' : io },
  });
  const metadata: { name: string; buffer: number }[] = [];
  for (const m of meta) {
    metadata.push({ name: m.name, buffer: b.buffers.length });
    b.buffers.push(m.data);
  }
  const flat = serializeModel({
    operatorCodes: b.opcodes,
    tensors: b.tensors,
    inputs: [input],
    outputs: [output],
    operators: b.operators,
    buffers: b.buffers,
    subgraphName: 'main',
    description: `PocketBench export (${opts.precision})`,
    metadata,
    signature: { key: 'serving_default', inputs: [{ name: 'input', tensor: input }], outputs: [{ name: 'output', tensor: output }] },
  });
  const bytes = opts.metadata?.labels?.length ? appendZip(flat, [labelsFile(opts.metadata.labels)]) : flat;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { bytes, sha256, ops: b.opList, warnings };
}
