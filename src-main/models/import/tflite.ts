/**
 * Float `.tflite` → a trainable TF.js Layers model (one flat functional graph) with the same weights,
 * computing what the file computes, plus its labels and input convention.
 *
 * Operators and the layers they become (TFLite layouts → TF.js layouts):
 * - CONV_2D → Conv2D (filter OHWI → kernel HWIO); DEPTHWISE_CONV_2D → DepthwiseConv2D (filter
 *   [1, kh, kw, C·M] → [kh, kw, C, M], the same memory order); FULLY_CONNECTED → Dense (weights
 *   [out, in] → kernel [in, out]; a rank-4 input gets a Flatten first, as TFLite flattens it).
 *   Fused RELU / RELU6 become the layer's activation.
 * - PAD (zero, spatial only) → ZeroPadding2D, so PAD + VALID conv stays ZeroPadding2D + 'valid' conv;
 *   AVERAGE_POOL_2D / MAX_POOL_2D → the pooling layers; MEAN over H and W → GlobalAveragePooling2D
 *   (+ Reshape when it keeps dimensions); RESHAPE / SQUEEZE → Reshape (or nothing when only the batch
 *   axis moves); CONCATENATION → Concatenate; SOFTMAX → Activation('softmax'); LOGISTIC →
 *   Activation('sigmoid'); RELU / RELU6 → ReLU.
 * - ADD of two same-shape activations → Add; MUL of two activations → Multiply (a squeeze-and-excite
 *   gate broadcasts); ADD / SUB / MUL / DIV by a per-channel or scalar constant → ScaleShift (chains
 *   of them merge into one), HARD_SWISH → HardSwish (both in ../custom-layers.ts, written back by the
 *   exporter).
 * - DEQUANTIZE of a float16 constant (an FP16 export) → the float32 constant.
 * Anything else is refused naming the operator (custom operators by their custom code); a quantized
 * file is refused with `QUANTIZED_TEACHER`: it can be profiled, not distilled from.
 *
 * Every index and size in the file is checked before use (../../export/tflite/read.ts checks tensor
 * and buffer indices; this file checks shapes, buffer sizes and that each operator's output shape is
 * what the file declares), so a damaged or hostile file gets an AppError, never a TypeError.
 *
 * Labels: labels.txt beside the file (Teachable Machine writes `0 cat`), else the file's TFLite
 * metadata (associated file of type TENSOR_AXIS_LABELS), else "class N" with a warning. Input
 * normalization: `opts.normalization`, else the metadata's NormalizationOptions, else a rescaling the
 * graph does itself (raw pixels), else Teachable Machine's x/127.5 − 1 when the file looks like one,
 * else the same convention as an assumption; the warnings say which and why.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import { fromHalfBits } from '../../../src-shared/float16';
import { SIGNED_UNIT_NORMALIZATION, type InputConvention, type ModelMeta } from '../../../src-shared/model-io';
import { readTfliteMetadata, type TfliteMetadataInfo } from '../../export/tflite/metadata-read';
import { readTflite, type ReadModel, type ReadOperator } from '../../export/tflite/read';
import { BuiltinOptions, F, METADATA_NAME } from '../../export/tflite/schema';
import { readAssociatedFile } from '../../export/zip-read';
import { HardSwish, ScaleShift } from '../custom-layers';
import type { ImportedModel } from './types';

export interface TfliteImportOptions {
  /** Input normalization to use instead of what the file states or suggests: model input = (raw 0–255 − mean) / std. */
  normalization?: { mean: number[]; std: number[] };
}

/** Operators a float classifier may use that this reader rebuilds. */
export const TFLITE_IMPORT_OPERATORS = [
  'CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'ADD', 'SUB', 'MUL', 'DIV', 'PAD', 'PADV2', 'AVERAGE_POOL_2D', 'MAX_POOL_2D',
  'MEAN', 'RESHAPE', 'SQUEEZE', 'SOFTMAX', 'CONCATENATION', 'HARD_SWISH', 'LOGISTIC', 'RELU', 'RELU6', 'DEQUANTIZE',
] as const;

const MAX_FILE_BYTES = 1 << 30;
/** Largest constant or activation (elements) a classifier plausibly has; a bigger one is a damaged file. */
const MAX_ELEMENTS = 1 << 28;
const QUANTIZED_TYPES = new Set(['INT8', 'UINT8', 'INT16', 'INT4', 'UINT16']);
const FUSED = ['linear', 'relu', null, 'relu6', null, null] as const;
const FUSED_NAMES = ['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'TANH', 'SIGN_BIT'];

type Activation = 'linear' | 'relu' | 'relu6';
interface Const {
  data: Float32Array | Int32Array;
  shape: number[];
}
/** x · scale + shift per channel, not yet made a layer (so a chain of constant ops becomes one). */
interface Affine {
  input: SymbolicTensor;
  scale: Float64Array;
  shift: Float64Array;
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

class Rebuilder {
  readonly syms = new Map<number, SymbolicTensor>();
  private readonly consts = new Map<number, Const>();
  private readonly affines = new Map<number, Affine>();
  private readonly readers: Int32Array;
  private readonly weights: { layer: tfl.layers.Layer; values: { data: Float32Array; shape: number[] }[] }[] = [];
  private readonly names = new Set<string>();
  input!: SymbolicTensor;
  /** The graph's own rescaling of its input (a Keras Rescaling layer), when it has one. */
  inputRescale: { scale: number[]; shift: number[] } | null = null;
  /** Index of the operator being rebuilt, for messages. */
  private n = -1;
  private op!: ReadOperator;

  constructor(
    private readonly m: ReadModel,
    private readonly file: string,
  ) {
    this.readers = new Int32Array(m.tensors.length);
    for (const op of m.operators) for (const i of op.inputs) if (i >= 0) this.readers[i]++;
    for (const i of m.outputs) this.readers[i]++;
  }

  // ---- errors -------------------------------------------------------------------------------

  corrupt(why: string): AppError {
    return new AppError('INVALID_FILE', `${this.file} is not a consistent .tflite model: ${why}. It may be damaged; export or download it again.`, { file: this.file });
  }
  private where(): string {
    return `operator ${this.n} (${this.op.op})`;
  }
  unsupported(why: string): AppError {
    return new AppError(
      'UNSUPPORTED',
      `${this.file}: ${this.where()} ${why}, which PocketBench cannot rebuild as a trainable TF.js layer. Import the model in its original format (Keras .h5/.keras or TF.js) if you have it; the .tflite itself can still be profiled (Devices → Import a .tflite).`,
      { file: this.file, operator: this.op.op, index: this.n },
    );
  }

  // ---- values -------------------------------------------------------------------------------

  private tensorShape(i: number): number[] {
    const shape = this.m.tensors[i].shape;
    if (shape.some((d) => d < 0)) throw this.corrupt(`tensor ${i} ("${this.m.tensors[i].name}") has an unknown dimension where a constant needs a fixed shape`);
    if (prod(shape) > MAX_ELEMENTS) throw this.corrupt(`tensor ${i} ("${this.m.tensors[i].name}") has the implausible shape [${shape.join(', ')}]`);
    return shape;
  }

  /** The constant held by tensor `i`, decoded once, or undefined when it is an activation. */
  constOf(i: number): Const | undefined {
    if (i < 0) return undefined;
    const known = this.consts.get(i);
    if (known) return known;
    const t = this.m.tensors[i];
    const raw = this.m.buffers[t.buffer];
    if (!raw.length) return undefined;
    const shape = this.tensorShape(i);
    const count = prod(shape);
    const size = { FLOAT32: 4, FLOAT16: 2, INT32: 4, INT64: 8 }[t.type as string];
    if (!size) {
      if (QUANTIZED_TYPES.has(t.type)) throw quantized(this.file, `${this.where()} reads ${t.type.toLowerCase()} weights ("${t.name}")`);
      throw this.unsupported(`reads a constant of type ${t.type} ("${t.name}")`);
    }
    if (raw.length !== count * size) throw this.corrupt(`constant "${t.name}" has ${raw.length} bytes but its shape [${shape.join(', ')}] of ${t.type} needs ${count * size}`);
    const bytes = raw.slice(); // aligned copy
    let data: Float32Array | Int32Array;
    if (t.type === 'FLOAT32') data = new Float32Array(bytes.buffer);
    else if (t.type === 'FLOAT16') {
      // Only DEQUANTIZE reads float16 constants; kept as float32 values of the half bits.
      const half = new Uint16Array(bytes.buffer);
      data = Float32Array.from(half, fromHalfBits);
    } else if (t.type === 'INT32') data = new Int32Array(bytes.buffer);
    else data = Int32Array.from(new BigInt64Array(bytes.buffer), (v) => Number(BigInt.asIntN(32, v)));
    const c = { data, shape };
    this.consts.set(i, c);
    return c;
  }

  floatConst(i: number, role: string, float16 = false): Const {
    if (i < 0) throw this.corrupt(`${this.where()} has no ${role}`);
    const c = this.constOf(i);
    if (!c) throw this.unsupported(`takes its ${role} from another operator instead of a constant`);
    const type = this.m.tensors[i].type;
    if (type !== 'FLOAT32' && !(float16 && type === 'FLOAT16')) throw this.unsupported(`has a ${type} ${role}`);
    return c;
  }

  intConst(i: number, role: string): number[] {
    const c = i >= 0 ? this.constOf(i) : undefined;
    if (!c || !(c.data instanceof Int32Array)) throw this.unsupported(`takes its ${role} from a non-constant or non-integer tensor`);
    return Array.from(c.data);
  }

  /** The activation held by tensor `i` (a pending constant affine map becomes its layer here). */
  sym(i: number): SymbolicTensor {
    if (i < 0) throw this.corrupt(`${this.where()} lacks a required input`);
    const pending = this.affines.get(i);
    if (pending) {
      this.affines.delete(i);
      this.syms.set(i, this.affineLayer(pending));
    }
    const s = this.syms.get(i);
    if (s) return s;
    if (this.constOf(i)) throw this.unsupported(`reads the constant "${this.m.tensors[i].name}" where an activation is expected`);
    throw this.corrupt(`${this.where()} reads tensor ${i} ("${this.m.tensors[i].name}") before any operator writes it`);
  }

  private defined(i: number): boolean {
    return this.syms.has(i) || this.affines.has(i) || this.consts.has(i) || this.m.buffers[this.m.tensors[i].buffer].length > 0;
  }

  /** Records `t` as output `k` of the current operator, checking the shape the file declares. */
  out(t: SymbolicTensor, k = 0): void {
    const i = this.outIndex(k);
    this.checkShape(i, t.shape);
    this.syms.set(i, t);
  }

  private outIndex(k: number): number {
    const i = this.op.outputs[k];
    if (i === undefined) throw this.corrupt(`${this.where()} has no output ${k}`);
    if (this.defined(i)) throw this.corrupt(`${this.where()} writes tensor ${i}, which already has a value`);
    return i;
  }

  private checkShape(i: number, got: readonly (number | null)[]): void {
    const declared = this.m.tensors[i].shape;
    if (!declared.length) return;
    const same = declared.length === got.length && (declared[0] === 1 || declared[0] === -1) && declared.every((d, j) => j === 0 || d === -1 || d === got[j]);
    if (!same) {
      throw this.corrupt(`${this.where()} computes the shape [1, ${got.slice(1).join(', ')}] but the file declares [${declared.join(', ')}] for tensor ${i}`);
    }
  }

  /** Shape of an activation, batch 1. */
  shapeOf(t: SymbolicTensor): number[] {
    return t.shape.map((d, j) => (j === 0 ? 1 : (d as number)));
  }

  // ---- layers -------------------------------------------------------------------------------

  name(base: string): string {
    let name = `${base}_${this.n}`;
    for (let k = 2; this.names.has(name); k++) name = `${base}_${this.n}_${k}`;
    this.names.add(name);
    return name;
  }

  apply(layer: tfl.layers.Layer, x: SymbolicTensor | SymbolicTensor[], values?: { data: Float32Array; shape: number[] }[]): SymbolicTensor {
    let y: SymbolicTensor;
    try {
      y = layer.apply(x) as SymbolicTensor;
    } catch (err) {
      throw this.corrupt(`${this.where()} does not fit its inputs (${(err as Error).message.split('\n')[0]})`);
    }
    if (values) this.weights.push({ layer, values });
    return y;
  }

  activate(x: SymbolicTensor, act: Activation): SymbolicTensor {
    if (act === 'linear') return x;
    return this.apply(tfl.layers.reLU({ name: this.name(act), ...(act === 'relu6' ? { maxValue: 6 } : {}) }), x);
  }

  fused(optionsType: number, slot: number): Activation {
    const code = this.options(optionsType)?.int8(slot) ?? 0;
    const act = FUSED[code];
    if (!act) throw this.unsupported(`has the fused activation ${FUSED_NAMES[code] ?? code}`);
    return act;
  }

  /** The operator's options table when it is of the expected type (null: none, use the schema defaults). */
  options(expected: number) {
    if (this.op.optionsType !== 0 && this.op.optionsType !== expected) throw this.corrupt(`${this.where()} carries options of another operator (union type ${this.op.optionsType})`);
    return this.op.optionsType === 0 ? null : this.op.options;
  }

  private affineLayer(a: Affine): SymbolicTensor {
    const identity = a.scale.every((v) => v === 1) && a.shift.every((v) => v === 0);
    if (identity) return a.input;
    const perChannel = new Set(a.scale).size > 1 || new Set(a.shift).size > 1;
    const layer = new ScaleShift({ name: this.name('scale_shift'), trainable: perChannel });
    const c = a.scale.length;
    const y = this.apply(layer, a.input, [
      { data: Float32Array.from(a.scale), shape: [c] },
      { data: Float32Array.from(a.shift), shape: [c] },
    ]);
    if (a.input === this.input && !this.inputRescale) this.inputRescale = { scale: Array.from(a.scale), shift: Array.from(a.shift) };
    return y;
  }

  // ---- operators ----------------------------------------------------------------------------

  rebuild(): tfl.LayersModel {
    const m = this.m;
    const inIdx = m.inputs[0];
    const inShape = m.tensors[inIdx].shape;
    this.input = tfl.input({ shape: inShape.slice(1), name: 'input' });
    this.syms.set(inIdx, this.input);
    m.operators.forEach((op, n) => {
      this.n = n;
      this.op = op;
      this.operator(op);
    });
    this.n = m.operators.length;
    this.op = { op: 'output', version: 1, inputs: [], outputs: [], optionsType: 0, options: null };
    const output = this.sym(m.outputs[0]);
    const model = tfl.model({ inputs: this.input, outputs: output, name: 'imported_tflite' });
    for (const { layer, values } of this.weights) {
      const tensors = values.map((v) => tf.tensor(v.data, v.shape, 'float32'));
      try {
        layer.setWeights(tensors);
      } finally {
        tf.dispose(tensors);
      }
    }
    return model;
  }

  private operator(op: ReadOperator): void {
    const [a, b, c] = op.inputs;
    switch (op.op) {
      case 'DEQUANTIZE': {
        const k = this.constOf(a);
        if (!k || this.m.tensors[a].type !== 'FLOAT16') {
          if (QUANTIZED_TYPES.has(this.m.tensors[a]?.type)) throw quantized(this.file, `${this.where()} dequantizes ${this.m.tensors[a].type.toLowerCase()} values`);
          throw this.unsupported('dequantizes something other than a float16 constant');
        }
        const i = this.outIndex(0);
        if (this.m.tensors[i].type !== 'FLOAT32' || prod(this.tensorShape(i)) !== prod(k.shape)) throw this.corrupt(`${this.where()} writes a tensor that does not match its float16 constant`);
        this.consts.set(i, { data: k.data, shape: this.tensorShape(i) });
        return;
      }
      case 'CONV_2D':
      case 'DEPTHWISE_CONV_2D':
        return this.conv(op.op === 'DEPTHWISE_CONV_2D', a, b, c);
      case 'FULLY_CONNECTED':
        return this.dense(a, b, c);
      case 'ADD':
      case 'SUB':
      case 'MUL':
      case 'DIV':
        return this.elementwise(op.op, a, b);
      case 'PAD':
      case 'PADV2':
        return this.pad(a, b, c);
      case 'AVERAGE_POOL_2D':
      case 'MAX_POOL_2D':
        return this.pool(op.op === 'MAX_POOL_2D', a);
      case 'MEAN':
        return this.mean(a, b);
      case 'RESHAPE':
      case 'SQUEEZE':
        return this.reshape(a);
      case 'SOFTMAX': {
        const o = this.options(BuiltinOptions.SoftmaxOptions);
        const beta = o ? o.float32(F.SoftmaxOptions.beta, 0) : 0;
        if (beta !== 1) throw this.unsupported(`scales its logits by beta ${beta} (only 1 is supported)`);
        return this.out(this.apply(tfl.layers.activation({ activation: 'softmax', name: this.name('softmax') }), this.sym(a)));
      }
      case 'LOGISTIC':
        return this.out(this.apply(tfl.layers.activation({ activation: 'sigmoid', name: this.name('logistic') }), this.sym(a)));
      case 'HARD_SWISH':
        return this.out(this.apply(new HardSwish({ name: this.name('hard_swish') }), this.sym(a)));
      case 'RELU':
        return this.out(this.activate(this.sym(a), 'relu'));
      case 'RELU6':
        return this.out(this.activate(this.sym(a), 'relu6'));
      case 'CONCATENATION': {
        const xs = op.inputs.map((i) => this.sym(i));
        const rank = xs[0].shape.length;
        const o = this.options(BuiltinOptions.ConcatenationOptions);
        const raw = o?.int32(F.ConcatenationOptions.axis) ?? 0;
        const axis = raw < 0 ? raw + rank : raw;
        if (axis <= 0 || axis >= rank) throw this.unsupported(`concatenates along axis ${raw} (only non-batch axes are supported)`);
        // TFLite's own kernel refuses a fused activation here (XNNPack ignores it): such a file has no one meaning.
        if ((o?.int8(F.ConcatenationOptions.fused_activation_function) ?? 0) !== 0) throw this.unsupported("has a fused activation, which TFLite's CONCATENATION kernel rejects");
        return this.out(xs.length === 1 ? xs[0] : this.apply(tfl.layers.concatenate({ axis, name: this.name('concatenation') }), xs));
      }
      default:
        // Listed before the build starts (unsupportedOperators); reaching here means a new name slipped through.
        throw this.unsupported('is not supported');
    }
  }

  private conv(depthwise: boolean, xi: number, wi: number, bi: number | undefined): void {
    const x = this.sym(xi);
    if (x.shape.length !== 4) throw this.corrupt(`${this.where()} reads a rank-${x.shape.length} tensor`);
    const cin = x.shape[3] as number;
    const w = this.floatConst(wi, 'filter');
    if (w.shape.length !== 4) throw this.corrupt(`${this.where()} has a filter of shape [${w.shape.join(', ')}]`);
    const o = this.options(depthwise ? BuiltinOptions.DepthwiseConv2DOptions : BuiltinOptions.Conv2DOptions);
    const f = depthwise ? F.DepthwiseConv2DOptions : F.Conv2DOptions;
    const padCode = o?.int8(f.padding) ?? 0;
    const padding = padCode === 0 ? 'same' : padCode === 1 ? 'valid' : null;
    const strides: [number, number] = [o?.int32(f.stride_h) ?? 0, o?.int32(f.stride_w) ?? 0];
    const dilation: [number, number] = [o?.int32(f.dilation_h_factor, 1) ?? 1, o?.int32(f.dilation_w_factor, 1) ?? 1];
    if (!padding) throw this.corrupt(`${this.where()} has the padding code ${padCode}`);
    if ([...strides, ...dilation].some((v) => !(v >= 1 && v <= 1024))) throw this.corrupt(`${this.where()} has strides [${strides.join(', ')}] and dilation [${dilation.join(', ')}]`);
    const dilated = dilation[0] > 1 || dilation[1] > 1;
    const activation = this.fused(depthwise ? BuiltinOptions.DepthwiseConv2DOptions : BuiltinOptions.Conv2DOptions, f.fused_activation_function);
    const [o0, kh, kw, last] = w.shape;
    const cout = depthwise ? last : o0;
    const bias = bi !== undefined && bi >= 0 ? this.floatConst(bi, 'bias') : null;
    if (bias && bias.data.length !== cout) throw this.corrupt(`${this.where()} has ${bias.data.length} biases for ${cout} output channels`);
    const values: { data: Float32Array; shape: number[] }[] = [];
    let layer: tfl.layers.Layer;
    const common = { kernelSize: [kh, kw] as [number, number], strides, padding: padding as 'same' | 'valid', activation, useBias: !!bias, kernelInitializer: 'zeros' as const, name: '' };
    if (depthwise) {
      if (o0 !== 1 || cout % cin !== 0) throw this.corrupt(`${this.where()} has a filter of shape [${w.shape.join(', ')}] for ${cin} input channels`);
      // tfjs-layers' DepthwiseConv2D ignores dilationRate (handbook): the rebuilt model would compute something else.
      if (dilated) throw this.unsupported(`is dilated (${dilation.join('×')}); TF.js's DepthwiseConv2D ignores dilation`);
      const mult = cout / cin;
      layer = tfl.layers.depthwiseConv2d({ ...common, depthMultiplier: mult, depthwiseInitializer: 'zeros', name: this.name('depthwise_conv_2d') });
      values.push({ data: w.data as Float32Array, shape: [kh, kw, cin, mult] });
    } else {
      if (last !== cin) throw this.unsupported(`is a grouped convolution (filters read ${last} of ${cin} input channels)`);
      if (dilated && (strides[0] > 1 || strides[1] > 1)) throw this.unsupported('combines dilation with a stride above 1, which TF.js convolutions do not');
      layer = tfl.layers.conv2d({ ...common, filters: cout, dilationRate: dilation, name: this.name('conv_2d') });
      const src = w.data;
      const kernel = new Float32Array(src.length);
      for (let oc = 0; oc < cout; oc++)
        for (let y = 0; y < kh; y++)
          for (let xx = 0; xx < kw; xx++)
            for (let i = 0; i < cin; i++) kernel[((y * kw + xx) * cin + i) * cout + oc] = src[((oc * kh + y) * kw + xx) * cin + i];
      values.push({ data: kernel, shape: [kh, kw, cin, cout] });
    }
    if (bias) values.push({ data: bias.data as Float32Array, shape: [cout] });
    this.out(this.apply(layer, x, values));
  }

  private dense(xi: number, wi: number, bi: number | undefined): void {
    let x = this.sym(xi);
    const w = this.floatConst(wi, 'weights');
    if (w.shape.length !== 2) throw this.corrupt(`${this.where()} has weights of shape [${w.shape.join(', ')}]`);
    const [nout, nin] = w.shape;
    const o = this.options(BuiltinOptions.FullyConnectedOptions);
    if ((o?.int8(F.FullyConnectedOptions.weights_format) ?? 0) !== 0) throw this.unsupported('stores its weights in a shuffled format');
    const activation = this.fused(BuiltinOptions.FullyConnectedOptions, F.FullyConnectedOptions.fused_activation_function);
    if (x.shape.length !== 2) {
      if (o?.int8(F.FullyConnectedOptions.keep_num_dims)) throw this.unsupported('keeps the dimensions of a rank-' + x.shape.length + ' input');
      // TFLite flattens the input to [batch, in]; with batch 1 that is a Flatten.
      if (prod(this.shapeOf(x)) !== nin) throw this.unsupported(`multiplies a [${this.shapeOf(x).join(', ')}] tensor by weights for ${nin} inputs`);
      x = this.apply(tfl.layers.flatten({ name: this.name('flatten') }), x);
    }
    if (x.shape[1] !== nin) throw this.corrupt(`${this.where()} has weights for ${nin} inputs but reads ${x.shape[1]}`);
    const bias = bi !== undefined && bi >= 0 ? this.floatConst(bi, 'bias') : null;
    if (bias && bias.data.length !== nout) throw this.corrupt(`${this.where()} has ${bias.data.length} biases for ${nout} outputs`);
    const src = w.data;
    const kernel = new Float32Array(src.length);
    for (let i = 0; i < nin; i++) for (let oc = 0; oc < nout; oc++) kernel[i * nout + oc] = src[oc * nin + i];
    const values: { data: Float32Array; shape: number[] }[] = [{ data: kernel, shape: [nin, nout] }];
    if (bias) values.push({ data: bias.data as Float32Array, shape: [nout] });
    const layer = tfl.layers.dense({ units: nout, activation, useBias: !!bias, kernelInitializer: 'zeros', name: this.name('fully_connected') });
    this.out(this.apply(layer, x, values));
  }

  private elementwise(kind: 'ADD' | 'SUB' | 'MUL' | 'DIV', ai: number, bi: number): void {
    const optionType = { ADD: BuiltinOptions.AddOptions, SUB: BuiltinOptions.SubOptions, MUL: BuiltinOptions.MulOptions, DIV: BuiltinOptions.DivOptions }[kind];
    const act = this.fused(optionType, 0); // fused_activation_function is slot 0 in all four tables
    const ca = this.constOf(ai);
    const cb = this.constOf(bi);
    if (ca && cb) throw this.unsupported('combines two constants');
    if (!ca && !cb) {
      const x = this.sym(ai);
      const y = this.sym(bi);
      const sx = this.shapeOf(x);
      const sy = this.shapeOf(y);
      let z: SymbolicTensor;
      if (kind === 'ADD') {
        if (sx.join() !== sy.join()) throw this.unsupported(`adds tensors of different shapes [${sx.join(', ')}] and [${sy.join(', ')}]`);
        z = this.apply(tfl.layers.add({ name: this.name('add') }), [x, y]);
      } else if (kind === 'MUL') {
        const broadcasts = sx.length === sy.length && sx.every((d, j) => d === sy[j] || d === 1 || sy[j] === 1);
        if (!broadcasts) throw this.unsupported(`multiplies tensors of shapes [${sx.join(', ')}] and [${sy.join(', ')}]`);
        z = this.apply(tfl.layers.multiply({ name: this.name('mul') }), [x, y]);
      } else throw this.unsupported(`${kind === 'SUB' ? 'subtracts' : 'divides'} two activations`);
      return this.out(this.activate(z, act));
    }
    const constFirst = !!ca;
    const xi = constFirst ? bi : ai;
    const k = this.floatConst(constFirst ? ai : bi, 'constant operand');
    const x = this.syms.get(xi) ?? this.affines.get(xi)?.input ?? this.sym(xi);
    const channels = x.shape[x.shape.length - 1] as number;
    // A per-channel (or scalar) constant: every axis but the last is 1, and the last is 1 or the channel count.
    const last = k.shape.length ? k.shape[k.shape.length - 1] : 1;
    if (k.shape.slice(0, -1).some((d) => d !== 1) || (last !== 1 && last !== channels) || k.shape.length > x.shape.length) {
      throw this.unsupported(`${kind.toLowerCase()}s a constant of shape [${k.shape.join(', ')}] to a [${this.shapeOf(x).join(', ')}] tensor (only per-channel or scalar constants are supported)`);
    }
    const value = (ch: number) => k.data[last === 1 ? 0 : ch];
    const scale = new Float64Array(channels).fill(1);
    const shift = new Float64Array(channels);
    for (let ch = 0; ch < channels; ch++) {
      const v = value(ch);
      if (kind === 'ADD') shift[ch] = v;
      else if (kind === 'SUB') [scale[ch], shift[ch]] = constFirst ? [-1, v] : [1, -v];
      else if (kind === 'MUL') scale[ch] = v;
      else if (constFirst) throw this.unsupported('divides a constant by an activation');
      else scale[ch] = 1 / v;
    }
    // Merge into a pending map on the same input when nothing else reads it: (y·s0 + b0)·s + b.
    const prev = this.affines.get(xi);
    let pending: Affine;
    if (prev && this.readers[xi] === 1) {
      this.affines.delete(xi);
      pending = { input: prev.input, scale: prev.scale.map((s0, ch) => s0 * scale[ch]), shift: prev.shift.map((b0, ch) => b0 * scale[ch] + shift[ch]) };
    } else pending = { input: this.sym(xi), scale, shift };
    const i = this.outIndex(0);
    this.checkShape(i, pending.input.shape);
    if (act === 'linear') this.affines.set(i, pending);
    else this.syms.set(i, this.activate(this.affineLayer(pending), act));
  }

  private pad(xi: number, pi: number, vi: number | undefined): void {
    const x = this.sym(xi);
    if (x.shape.length !== 4) throw this.unsupported(`pads a rank-${x.shape.length} tensor (only images are supported)`);
    if (vi !== undefined && vi >= 0) {
      const v = this.floatConst(vi, 'padding value');
      if (v.data.length !== 1 || v.data[0] !== 0) throw this.unsupported(`pads with the value ${v.data[0]} (only zero padding is supported)`);
    }
    const p = this.intConst(pi, 'paddings');
    if (p.length !== 8) throw this.corrupt(`${this.where()} has ${p.length} padding values for a rank-4 tensor`);
    if (p.some((v) => v < 0 || v > 4096)) throw this.corrupt(`${this.where()} has the paddings [${p.join(', ')}]`);
    if (p[0] || p[1] || p[6] || p[7]) throw this.unsupported('pads the batch or channel axis');
    const layer = tfl.layers.zeroPadding2d({ padding: [[p[2], p[3]], [p[4], p[5]]], name: this.name('pad') });
    this.out(this.apply(layer, x));
  }

  private pool(max: boolean, xi: number): void {
    const x = this.sym(xi);
    if (x.shape.length !== 4) throw this.corrupt(`${this.where()} reads a rank-${x.shape.length} tensor`);
    const o = this.options(BuiltinOptions.Pool2DOptions);
    const f = F.Pool2DOptions;
    const padCode = o?.int8(f.padding) ?? 0;
    const filter: [number, number] = [o?.int32(f.filter_height) ?? 0, o?.int32(f.filter_width) ?? 0];
    const strides: [number, number] = [o?.int32(f.stride_h) ?? 0, o?.int32(f.stride_w) ?? 0];
    if (padCode > 1 || [...filter, ...strides].some((v) => !(v >= 1 && v <= 4096))) throw this.corrupt(`${this.where()} has filter [${filter.join(', ')}], strides [${strides.join(', ')}] and padding code ${padCode}`);
    const act = this.fused(BuiltinOptions.Pool2DOptions, f.fused_activation_function);
    const args = { poolSize: filter, strides, padding: padCode === 0 ? ('same' as const) : ('valid' as const) };
    const layer = max ? tfl.layers.maxPooling2d({ ...args, name: this.name('max_pool_2d') }) : tfl.layers.averagePooling2d({ ...args, name: this.name('average_pool_2d') });
    this.out(this.activate(this.apply(layer, x), act));
  }

  private mean(xi: number, ai: number): void {
    const x = this.sym(xi);
    const rank = x.shape.length;
    const axes = [...new Set(this.intConst(ai, 'axes').map((v) => (v < 0 ? v + rank : v)))].sort();
    if (rank !== 4 || axes.join() !== '1,2') throw this.unsupported(`averages over axes [${axes.join(', ')}] of a rank-${rank} tensor (only over height and width of an image)`);
    const keep = !!this.options(BuiltinOptions.ReducerOptions)?.int8(F.ReducerOptions.keep_dims);
    let y = this.apply(tfl.layers.globalAveragePooling2d({ name: this.name('mean') }), x);
    if (keep) y = this.apply(tfl.layers.reshape({ targetShape: [1, 1, x.shape[3] as number], name: this.name('mean_keep_dims') }), y);
    this.out(y);
  }

  private reshape(xi: number): void {
    const x = this.sym(xi);
    const i = this.outIndex(0);
    const declared = this.m.tensors[i].shape;
    const n = prod(this.shapeOf(x));
    let target: number[] | null = null;
    if (this.op.op === 'RESHAPE') {
      const given = this.op.inputs[1] !== undefined && this.op.inputs[1] >= 0 ? this.intConst(this.op.inputs[1], 'new shape') : this.options(BuiltinOptions.ReshapeOptions)?.int32s(F.ReshapeOptions.new_shape) ?? null;
      target = declared.length ? declared : given;
    } else {
      const dims = this.options(BuiltinOptions.SqueezeOptions)?.int32s(F.SqueezeOptions.squeeze_dims) ?? [];
      const rank = x.shape.length;
      const drop = new Set(dims.length ? dims.map((d) => (d < 0 ? d + rank : d)) : this.shapeOf(x).map((d, j) => (d === 1 && j > 0 ? j : -1)));
      if (drop.has(0)) throw this.unsupported('squeezes the batch axis');
      target = this.shapeOf(x).filter((_, j) => !drop.has(j));
    }
    if (!target || !target.length) throw this.corrupt(`${this.where()} does not say what shape it makes`);
    const unknown = target.filter((d) => d === -1).length;
    const known = prod(target.filter((d) => d !== -1));
    if (unknown > 1 || target.some((d) => d < -1) || known === 0) throw this.corrupt(`${this.where()} reshapes to [${target.join(', ')}]`);
    const resolved = target.map((d) => (d === -1 ? n / known : d));
    if (prod(resolved) !== n || resolved[0] !== 1) throw this.unsupported(`reshapes [${this.shapeOf(x).join(', ')}] to [${target.join(', ')}], which moves the batch axis`);
    const same = resolved.length === x.shape.length && resolved.every((d, j) => j === 0 || d === x.shape[j]);
    const y = same ? x : this.apply(tfl.layers.reshape({ targetShape: resolved.slice(1), name: this.name(this.op.op.toLowerCase()) }), x);
    this.checkShape(i, y.shape);
    this.syms.set(i, y);
  }
}

function quantized(file: string, evidence: string): AppError {
  return new AppError(
    'QUANTIZED_TEACHER',
    `${file} is a quantized .tflite (${evidence}): its weights were rounded to 8-bit integers, so it cannot be rebuilt as a trainable teacher. Import the float version of the model instead (Teachable Machine: model_unquant.tflite from the "Floating point" TensorFlow Lite export, or its Keras / TF.js export). This file can still be profiled: import it on the Devices page to measure it on a phone or this computer.`,
    { path: file, profile: true },
  );
}

/** Why the file cannot be a teacher when it is quantized: its I/O types, QUANTIZE operators or integer operands. */
function quantizedEvidence(m: ReadModel): string | null {
  const io = [...m.inputs.map((i) => ['input', i] as const), ...m.outputs.map((i) => ['output', i] as const)].filter(([, i]) => QUANTIZED_TYPES.has(m.tensors[i].type));
  if (io.length) return io.map(([what, i]) => `${m.tensors[i].type.toLowerCase()} ${what}`).join(', ');
  let integerOps = 0;
  for (const op of m.operators) {
    if (op.op === 'QUANTIZE' || op.inputs.some((i) => i >= 0 && QUANTIZED_TYPES.has(m.tensors[i].type))) integerOps++;
  }
  return integerOps ? `${integerOps} operator${integerOps > 1 ? 's' : ''} on 8-bit integer tensors` : null;
}

/** `0 cat` / `1 dog` lines (Teachable Machine) lose their index; plain lines stay as they are. */
export function parseLabels(text: string): string[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  while (lines.length && !lines[lines.length - 1].trim()) lines.pop();
  const indexed = lines.length > 0 && lines.every((l, i) => new RegExp(`^${i}\\s+\\S`).test(l));
  return lines.map((l) => (indexed ? l.replace(/^\d+\s+/, '') : l).trim());
}

interface LabelSource {
  labels: string[];
  /** The labels.txt beside the model, when the labels came from one. */
  besideFile?: string;
}

function labelsFor(path: string, bytes: Uint8Array, meta: TfliteMetadataInfo | null, classes: number, warnings: string[]): LabelSource {
  const beside = join(dirname(path), 'labels.txt');
  const check = (labels: string[], from: string, besideFile?: string): LabelSource => {
    if (labels.length !== classes) {
      throw new AppError(
        'LABELS_MISMATCH',
        `${from} lists ${labels.length} label${labels.length === 1 ? '' : 's'} but the model gives ${classes} outputs, so they do not belong together. Put the labels.txt that came with this model beside it (one label per line, in output order), or remove it to import with class numbers.`,
        { file: from, labels: labels.length, outputs: classes },
      );
    }
    return { labels, ...(besideFile ? { besideFile } : {}) };
  };
  if (existsSync(beside) && statSync(beside).isFile()) {
    if (statSync(beside).size > 4 << 20) throw new AppError('INVALID_FILE', `${beside} is larger than 4 MiB; that is not a labels file. Move it away or replace it with the model's labels.`, { file: beside });
    return check(parseLabels(readFileSync(beside, 'utf8')), beside, beside);
  }
  const labelFile = meta?.outputs[0]?.associatedFiles.find((f) => f.type === 'TENSOR_AXIS_LABELS');
  if (labelFile) {
    const data = readAssociatedFile(bytes, labelFile.name, path);
    return check(parseLabels(new TextDecoder().decode(data)), `The labels file "${labelFile.name}" inside ${path}`);
  }
  warnings.push(`No labels were found (no labels.txt beside ${basename(path)}, none in its metadata): the classes are called "class 0" to "class ${classes - 1}". Put the model's labels.txt beside it and import again to name them.`);
  return { labels: Array.from({ length: classes }, (_, i) => `class ${i}`) };
}

function checkNormalization(n: { mean: number[]; std: number[] }, channels: number, what: string): string | null {
  const ok = (v: number[]) => v.length === 1 || v.length === channels;
  if (!ok(n.mean) || !ok(n.std)) return `${what} gives ${n.mean.length} mean and ${n.std.length} std values for ${channels} channels`;
  if (![...n.mean, ...n.std].every(Number.isFinite) || n.std.some((s) => s === 0)) return `${what} has a mean or std that is not a finite number, or a zero std`;
  return null;
}

const fmt = (v: number) => String(Number(v.toPrecision(6)));

/** The image input convention, with warnings saying where the normalization came from. */
function imageConvention(
  m: ReadModel,
  rb: Rebuilder,
  path: string,
  meta: TfliteMetadataInfo | null,
  labelsFile: string | undefined,
  opts: TfliteImportOptions,
  warnings: string[],
): InputConvention {
  const shape = m.tensors[m.inputs[0]].shape;
  const [, height, width, channels] = shape;
  const base = { kind: 'image' as const, size: [height, width] as [number, number], channels: channels as 1 | 3, dtype: 'float32' as const };
  if (opts.normalization) {
    const bad = checkNormalization(opts.normalization, channels, 'The normalization given');
    if (bad) throw new AppError('INVALID_ARGS', `${bad}; give one value or one per channel, with std ≠ 0.`);
    return { ...base, normalization: { mean: [...opts.normalization.mean], std: [...opts.normalization.std] } };
  }
  const stated = meta?.inputs[0]?.normalization;
  if (stated) {
    const bad = checkNormalization(stated, channels, "The file's metadata");
    if (!bad) return { ...base, normalization: stated };
    warnings.push(`${bad}; it was ignored.`);
  }
  if (rb.inputRescale) {
    const { scale, shift } = rb.inputRescale;
    // One value when every channel has the same (a Keras Rescaling), else per channel.
    const show = (v: number[]) => [...new Set(v.map(fmt))].join('/');
    const hi = scale.map((s, c) => 255 * s + shift[c]);
    warnings.push(
      `The file records no input normalization, but the model rescales its own input (x · ${show(scale)} + ${show(shift)}, mapping 0–255 to [${show(shift)}, ${show(hi)}]): it takes raw 0–255 pixels (mean 0, std 1). If that is wrong, import it again with the right normalization.`,
    );
    return { ...base, normalization: { mean: [0], std: [1] } };
  }
  // Teachable Machine's float export: MobileNetV2 at 224×224×3 (PAD + 3×3 stride-2 CONV_2D stem), a
  // Keras Sequential input name, labels.txt with "INDEX NAME" lines, the file name model_unquant.tflite.
  const evidence: string[] = [];
  const inputName = m.tensors[m.inputs[0]].name;
  if (/^serving_default_sequential(_\d+)?_input/.test(inputName)) evidence.push(`its input is named "${inputName}" (a Keras Sequential model)`);
  if (labelsFile && /^\s*0\s+\S/.test(readFileSync(labelsFile, 'utf8'))) evidence.push(`${basename(labelsFile)} uses Teachable Machine's "0 name" lines`);
  if (basename(path) === 'model_unquant.tflite') evidence.push('its file name is model_unquant.tflite');
  const stem = m.operators.find((op) => op.op === 'CONV_2D');
  const stemFilter = stem ? m.tensors[stem.inputs[1]]?.shape : undefined;
  const stemStride = stem?.options?.int32(F.Conv2DOptions.stride_h);
  const mobilenetStem = height === 224 && width === 224 && channels === 3 && stemFilter?.[1] === 3 && stemFilter?.[2] === 3 && stemStride === 2;
  const signed = { ...base, normalization: { mean: [...SIGNED_UNIT_NORMALIZATION.mean], std: [...SIGNED_UNIT_NORMALIZATION.std] } };
  if (mobilenetStem && evidence.length) {
    warnings.push(
      `The file records no input normalization; it looks like a Teachable Machine export (a MobileNet at 224×224×3 whose first convolution is 3×3 with stride 2; ${evidence.join('; ')}), so its input is taken as Teachable Machine's x / 127.5 − 1 (mean 127.5, std 127.5). If it was trained differently, import it again with the right normalization.`,
    );
    return signed;
  }
  warnings.push(
    'The file records no input normalization and nothing identifies where it came from: assumed x / 127.5 − 1 (mean 127.5, std 127.5, the Keras MobileNet and Teachable Machine convention). If the model was trained on [0, 1] pixels (mean 0, std 255) or raw pixels (mean 0, std 1), import it again with that normalization, or the student will learn from wrong teacher outputs.',
  );
  return signed;
}

/** Operators in the file this reader cannot rebuild, each once (custom operators as CUSTOM:<code>). */
export function unsupportedOperators(m: ReadModel): string[] {
  const known = new Set<string>(TFLITE_IMPORT_OPERATORS);
  return [...new Set(m.operators.map((o) => o.op).filter((op) => !known.has(op)))];
}

/** Imports a float `.tflite` as a trainable TF.js model. Needs an initialised backend (initBackend). */
export async function importTflite(path: string, opts: TfliteImportOptions = {}): Promise<ImportedModel> {
  const file = resolve(path);
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new AppError('INVALID_ARGS', `${file} is a folder; choose the .tflite file inside it.`, { file });
    size = st.size;
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('NOT_FOUND', `There is no file at ${file}; check the path.`, { file });
  }
  if (size === 0) throw new AppError('INVALID_FILE', `${file} is empty; export or download the model again.`, { file });
  if (size > MAX_FILE_BYTES) throw new AppError('INVALID_FILE', `${file} is ${(size / 2 ** 30).toFixed(1)} GiB; an image classifier is far smaller, so this is not one PocketBench can import.`, { file });
  const bytes = new Uint8Array(readFileSync(file));
  const m = readTflite(bytes, file);
  if (m.inputs.length !== 1 || m.outputs.length !== 1) {
    throw new AppError('UNSUPPORTED', `${file} has ${m.inputs.length} inputs and ${m.outputs.length} outputs; PocketBench imports classifiers with one input and one output (a detector or a multi-head model cannot be a teacher).`, { file });
  }
  const evidence = quantizedEvidence(m);
  if (evidence) throw quantized(file, evidence);
  const missing = unsupportedOperators(m);
  if (missing.length) {
    const names = missing.map((op) => (op.startsWith('CUSTOM:') ? `the custom operator "${op.slice(7)}"` : op)).join(', ');
    throw new AppError(
      'UNSUPPORTED',
      `${file} uses ${names}, which PocketBench cannot rebuild as a trainable TF.js model (supported: ${TFLITE_IMPORT_OPERATORS.join(', ')}; fused RELU / RELU6). Import the model in its original format (Keras .h5/.keras or TF.js) if you have it; the .tflite itself can still be profiled (Devices → Import a .tflite).`,
      { file, operators: missing },
    );
  }
  if (!m.operators.length) throw new AppError('UNSUPPORTED', `${file} has no operators; there is no model to import.`, { file });
  const inT = m.tensors[m.inputs[0]];
  const outT = m.tensors[m.outputs[0]];
  if (inT.type !== 'FLOAT32' || outT.type !== 'FLOAT32') throw new AppError('UNSUPPORTED', `${file} takes ${inT.type} input and gives ${outT.type} output; a float classifier takes and gives FLOAT32.`, { file });
  const image = inT.shape.length === 4 && (inT.shape[3] === 1 || inT.shape[3] === 3);
  const features = inT.shape.length === 2;
  if ((!image && !features) || (inT.shape[0] !== 1 && inT.shape[0] !== -1) || inT.shape.slice(1).some((d) => !(d >= 1 && d <= 16384))) {
    throw new AppError('UNSUPPORTED', `${file} takes input of shape [${inT.shape.join(', ')}]; PocketBench imports image classifiers (1×H×W×1 or 1×H×W×3) and feature-vector classifiers (1×N).`, { file });
  }
  if (outT.shape.length !== 2 || !(outT.shape[1] >= 2)) {
    throw new AppError('UNSUPPORTED', `${file} gives output of shape [${outT.shape.join(', ')}]; a classifier gives one score per class (1×N, N ≥ 2), so this model cannot be a teacher.`, { file });
  }
  const warnings: string[] = [];
  if (m.subgraphCount > 1) warnings.push(`The file has ${m.subgraphCount} subgraphs; only the first (the model) was imported.`);

  const rb = new Rebuilder(m, file);
  let model: tfl.LayersModel;
  try {
    model = rb.rebuild();
  } catch (err) {
    if (err instanceof AppError) throw err;
    // Anything else is a file the checks above did not anticipate: still say which file, never a bare TypeError.
    throw rb.corrupt(`rebuilding it failed (${(err as Error).message?.split('\n')[0] ?? String(err)})`);
  }
  try {
    const metaEntry = m.metadata.find((e) => e.name === METADATA_NAME);
    const tfliteMeta = metaEntry ? readTfliteMetadata(metaEntry.data) : null;
    if (metaEntry && !tfliteMeta) warnings.push("The file's TFLite metadata could not be read; labels and normalization were looked for elsewhere.");
    const classes = outT.shape[1];
    const { labels, besideFile } = labelsFor(file, bytes, tfliteMeta, classes, warnings);
    const input: InputConvention = image ? imageConvention(m, rb, file, tfliteMeta, besideFile, opts, warnings) : { kind: 'features', features: inT.shape[1] };
    const lastOp = m.operators.findLast((op) => op.outputs.includes(m.outputs[0]));
    const meta: ModelMeta = {
      labels,
      input,
      output: lastOp?.op === 'SOFTMAX' ? 'probabilities' : 'logits',
      importedFrom: { format: 'tflite', file, contentHash: createHash('sha256').update(bytes).digest('hex') },
    };
    return { model, meta, warnings };
  } catch (err) {
    model.dispose();
    throw err;
  }
}
