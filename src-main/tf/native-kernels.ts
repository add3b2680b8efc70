/**
 * Registers the native add-on's multithreaded float32 kernels over the wasm backend's own, for the
 * ops that dominate CNN and MLP training: Conv2D / FusedConv2D, their two gradients, depthwise
 * convolution and its gradients, MaxPool and its gradient, BatchMatMul / _FusedMatMul, Sum over
 * leading axes (bias gradients; wasm's transposes first) and Add of a bias or a scalar (wasm's
 * broadcasting Add goes element by element). Tensors stay where the wasm backend keeps
 * them: the add-on reads and writes Float32Array views of the wasm heap, so nothing is copied.
 * Anything the add-on does not handle (other dtypes, NCHW, activations other than relu/relu6,
 * broadcast shapes it does not know) goes to the kernel that was registered before.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeKernels } from './native';
import { middleAxes } from './native-training';

type Inputs = Partial<Record<'x' | 'dy' | 'filter' | 'bias' | 'a' | 'b' | 'preluActivationWeights' | 'input' | 'mean' | 'variance' | 'offset' | 'scale', TensorInfo>>;
interface Args {
  inputs: Inputs;
  backend: BackendWasm;
  attrs: NamedAttrMap;
}
type Impl = (args: Args, native: NativeKernels) => TensorInfo | null;

const ACT: Record<string, number> = { linear: 0, relu: 1, relu6: 2 };

function f32(backend: BackendWasm, t: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

function allFloat(...ts: (TensorInfo | undefined)[]): boolean {
  return ts.every((t) => !t || t.dtype === 'float32');
}

/** The 15 geometry numbers the add-on reads: B H W Ci OH OW Co FH FW SH SW DH DW padTop padLeft. */
function geometry(c: backend_util.Conv2DInfo): number[] {
  return [c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, c.outChannels, c.filterHeight, c.filterWidth,
    c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth, c.padInfo.top, c.padInfo.left];
}

function convInfo(xShape: number[], filterShape: number[], attrs: NamedAttrMap, depthwise: boolean): backend_util.Conv2DInfo {
  const a = attrs as unknown as { strides: number | [number, number]; dilations?: number | [number, number]; pad: 'same' | 'valid' | number | backend_util.ExplicitPadding; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
  return backend_util.computeConv2DInfo(xShape as never, filterShape as never, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, depthwise);
}

/** Bias and activation a fused kernel may carry, or null when the add-on cannot apply them. */
function fusedEpilogue(inputs: Inputs, attrs: NamedAttrMap, channels: number): { act: number; bias: TensorInfo | undefined } | null {
  const act = ACT[(attrs.activation as string | undefined) ?? 'linear'];
  const bias = inputs.bias;
  if (act === undefined || inputs.preluActivationWeights) return null;
  if (bias && (bias.dtype !== 'float32' || tf.util.sizeFromShape(bias.shape) !== channels)) return null;
  return { act, bias };
}

function nhwcOnly(attrs: NamedAttrMap): boolean {
  return attrs.dataFormat === undefined || attrs.dataFormat === 'NHWC' || attrs.dataFormat === 'channelsLast';
}

const conv2d: Impl = ({ inputs, backend, attrs }, native) => {
  const { x, filter } = inputs;
  if (!x || !filter || !allFloat(x, filter) || !nhwcOnly(attrs)) return null;
  const info = convInfo(x.shape, filter.shape, attrs, false);
  const fused = fusedEpilogue(inputs, attrs, info.outChannels);
  if (!fused) return null;
  const out = backend.makeOutput(info.outShape, 'float32');
  native.conv2d(f32(backend, x), f32(backend, filter), fused.bias ? f32(backend, fused.bias) : null, f32(backend, out), fused.act, ...geometry(info));
  return out;
};

const conv2dBackpropInput: Impl = ({ inputs, backend, attrs }, native) => {
  const { dy, filter } = inputs;
  if (!dy || !filter || !allFloat(dy, filter) || !nhwcOnly(attrs)) return null;
  const info = convInfo(attrs.inputShape as number[], filter.shape, { ...attrs, dilations: 1 }, false);
  const out = backend.makeOutput(info.inShape, 'float32');
  native.conv2dBackpropInput(f32(backend, dy), f32(backend, filter), f32(backend, out), ...geometry(info));
  return out;
};

const conv2dBackpropFilter: Impl = ({ inputs, backend, attrs }, native) => {
  const { x, dy } = inputs;
  if (!x || !dy || !allFloat(x, dy) || !nhwcOnly(attrs)) return null;
  const info = convInfo(x.shape, attrs.filterShape as number[], { ...attrs, dilations: 1 }, false);
  const out = backend.makeOutput(info.filterShape, 'float32');
  native.conv2dBackpropFilter(f32(backend, x), f32(backend, dy), f32(backend, out), ...geometry(info));
  return out;
};

const depthwise: Impl = ({ inputs, backend, attrs }, native) => {
  const { x, filter } = inputs;
  if (!x || !filter || !allFloat(x, filter) || !nhwcOnly(attrs)) return null;
  const info = convInfo(x.shape, filter.shape, attrs, true);
  const fused = fusedEpilogue(inputs, attrs, info.outChannels);
  if (!fused) return null;
  const out = backend.makeOutput(info.outShape, 'float32');
  native.depthwise(f32(backend, x), f32(backend, filter), fused.bias ? f32(backend, fused.bias) : null, f32(backend, out), fused.act, filter.shape[3], ...geometry(info));
  return out;
};

const depthwiseBackpropInput: Impl = ({ inputs, backend, attrs }, native) => {
  const { dy, filter } = inputs;
  if (!dy || !filter || !allFloat(dy, filter)) return null;
  const info = convInfo(attrs.inputShape as number[], filter.shape, attrs, true);
  const out = backend.makeOutput(info.inShape, 'float32');
  native.depthwiseBackpropInput(f32(backend, dy), f32(backend, filter), f32(backend, out), filter.shape[3], ...geometry(info));
  return out;
};

const depthwiseBackpropFilter: Impl = ({ inputs, backend, attrs }, native) => {
  const { x, dy } = inputs;
  if (!x || !dy || !allFloat(x, dy)) return null;
  const filterShape = attrs.filterShape as number[];
  const info = convInfo(x.shape, filterShape, attrs, true);
  const out = backend.makeOutput(info.filterShape, 'float32');
  native.depthwiseBackpropFilter(f32(backend, x), f32(backend, dy), f32(backend, out), filterShape[3], ...geometry(info));
  return out;
};

function poolInfo(xShape: number[], attrs: NamedAttrMap): backend_util.Conv2DInfo {
  const a = attrs as unknown as { filterSize: number | [number, number]; strides: number | [number, number]; pad: 'same' | 'valid' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
  return backend_util.computePool2DInfo(xShape as never, a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
}

const maxPool: Impl = ({ inputs, backend, attrs }, native) => {
  const { x } = inputs;
  if (!x || !allFloat(x) || x.shape.length !== 4) return null;
  const info = poolInfo(x.shape, attrs);
  const out = backend.makeOutput(info.outShape, 'float32');
  native.maxPool(f32(backend, x), f32(backend, out), ...geometry(info));
  return out;
};

const maxPoolGrad: Impl = ({ inputs, backend, attrs }, native) => {
  const { dy, input } = inputs;
  if (!dy || !input || !allFloat(dy, input)) return null;
  const info = poolInfo(input.shape, attrs);
  const out = backend.makeOutput(input.shape, 'float32');
  native.maxPoolGrad(f32(backend, dy), f32(backend, input), f32(backend, out), ...geometry(info));
  return out;
};

const avgPool: Impl = ({ inputs, backend, attrs }, native) => {
  const { x } = inputs;
  if (!x || !allFloat(x) || x.shape.length !== 4) return null;
  const info = poolInfo(x.shape, attrs);
  const out = backend.makeOutput(info.outShape, 'float32');
  native.avgPool(f32(backend, x), f32(backend, out), ...geometry(info));
  return out;
};

const avgPoolGrad: Impl = ({ inputs, backend, attrs }, native) => {
  const { dy, input } = inputs;
  if (!dy || !input || !allFloat(dy, input) || input.shape.length !== 4) return null;
  const info = poolInfo(input.shape, attrs);
  const out = backend.makeOutput(input.shape, 'float32');
  native.avgPoolGrad(f32(backend, dy), f32(backend, out), ...geometry(info));
  return out;
};

/** Constant padding of H and W of an NHWC tensor (ZeroPadding2D); other paddings fall back. */
const padV2: Impl = ({ inputs, backend, attrs }, native) => {
  const { x } = inputs;
  const pads = attrs.paddings as [number, number][];
  if (!x || !allFloat(x) || x.shape.length !== 4 || pads.length !== 4 || [...pads[0], ...pads[3]].some((p) => p !== 0)) return null;
  if (pads.flat().some((p) => p < 0) || tf.util.sizeFromShape(x.shape) === 0) return null;
  const [b, h, w, c] = x.shape;
  const out = backend.makeOutput([b, h + pads[1][0] + pads[1][1], w + pads[2][0] + pads[2][1], c], 'float32');
  native.pad2d(f32(backend, x), f32(backend, out), b, h, w, c, pads[1][0], pads[1][1], pads[2][0], pads[2][1], (attrs.constantValue as number | undefined) ?? 0);
  return out;
};

/**
 * Slice of a float32 tensor of rank 1–4 (ZeroPadding2D's gradient crops [B, H, W, C] → [B, h, w, C];
 * micro-batches slice the batch): wasm's Slice copies one innermost row at a time in JavaScript
 * (3–4 ms for a [8, 113, 113, 48] crop); here in parallel runs of memcpy.
 */
const slice: Impl = ({ inputs, backend, attrs }, native) => {
  const { x } = inputs;
  if (!x || !allFloat(x) || x.shape.length < 1 || x.shape.length > 4) return null;
  const [begin, size] = tf.slice_util.parseSliceParams(x as never, attrs.begin as number[], attrs.size as number[]);
  const out = backend.makeOutput(size, 'float32');
  if (tf.util.sizeFromShape(size) === 0) return out;
  const pad = (v: number[], fill: number) => [...Array(4 - v.length).fill(fill), ...v] as [number, number, number, number];
  native.slice4d(f32(backend, x), f32(backend, out), ...pad(x.shape, 1), ...pad(begin, 0), ...pad(size, 1));
  return out;
};

/** Sum over leading axes (bias gradients: [batch, ..., channels] → [channels]); others fall back. */
const sum: Impl = ({ inputs, backend, attrs }, native) => {
  const { x } = inputs;
  if (!x || !allFloat(x) || x.shape.length < 2) return null;
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((p, q) => p - q);
  if (!axes.length || axes.some((ax, i) => ax !== i) || axes.length === rank) return null;
  const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
  const kept = x.shape.slice(axes.length);
  const shape = attrs.keepDims ? [...axes.map(() => 1), ...kept] : kept;
  const out = backend.makeOutput(shape, 'float32');
  native.sumRows(f32(backend, x), f32(backend, out), rows, tf.util.sizeFromShape(kept));
  return out;
};

/**
 * Add where one side is the other's trailing shape (a bias over channels, a scalar) or the same
 * shape: wasm's broadcasting Add walks indices element by element. Other broadcasts fall back.
 */
const add: Impl = ({ inputs, backend }, native) => {
  const { a, b } = inputs;
  if (!a || !b || !allFloat(a, b)) return null;
  const [big, small] = tf.util.sizeFromShape(a.shape) >= tf.util.sizeFromShape(b.shape) ? [a, b] : [b, a];
  const n = tf.util.sizeFromShape(big.shape);
  const cols = tf.util.sizeFromShape(small.shape);
  if (n === 0 || cols === 0) return null;
  const shape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  if (tf.util.sizeFromShape(shape) !== n) return null;
  const tail = small.shape.slice(small.shape.findIndex((d) => d !== 1));
  const bigTail = big.shape.slice(big.shape.length - tail.length);
  if (cols > 1 && (tail.length > big.shape.length || tail.some((d, i) => d !== bigTail[i]))) return null;
  const out = backend.makeOutput(shape, 'float32');
  // Same shapes (a residual connection): element-wise, in parallel chunks.
  if (cols === n) native.addSame(f32(backend, a), f32(backend, b), f32(backend, out));
  else native.addBias(f32(backend, big), f32(backend, small), f32(backend, out), n / cols, cols);
  return out;
};

/** Batch normalization with given statistics (inference) over the last axis, every parameter of that width. */
const fusedBatchNorm: Impl = ({ inputs, backend, attrs }, native) => {
  const { x, mean, variance, offset, scale } = inputs;
  if (!x || !mean || !variance || !allFloat(x, mean, variance, offset, scale) || x.shape.length < 1) return null;
  const c = x.shape[x.shape.length - 1];
  if ([mean, variance, offset, scale].some((t) => t && tf.util.sizeFromShape(t.shape) !== c) || tf.util.sizeFromShape(x.shape) === 0) return null;
  const out = backend.makeOutput(x.shape, 'float32');
  native.batchNorm(f32(backend, x), f32(backend, mean), f32(backend, variance), scale ? f32(backend, scale) : null, offset ? f32(backend, offset) : null,
    f32(backend, out), tf.util.sizeFromShape(x.shape) / c, c, (attrs.varianceEpsilon as number | undefined) ?? 0.001);
  return out;
};

/** Mean over contiguous middle axes (global average pooling over H, W); others fall back. */
const mean: Impl = ({ inputs, backend, attrs }, native) => {
  const { x } = inputs;
  if (!x || !allFloat(x) || tf.util.sizeFromShape(x.shape) === 0) return null;
  const middle = middleAxes(x.shape, attrs.axis as number | number[]);
  if (!middle) return null;
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
  const shape = x.shape.flatMap((d, i) => (axes.includes(i) ? (attrs.keepDims ? [1] : []) : [d]));
  const out = backend.makeOutput(shape, 'float32');
  native.meanMiddle(f32(backend, x), f32(backend, out), ...middle);
  return out;
};

/** ClipByValue, and Relu6 as a clip to [0, 6] (NaN passes through, as in the fused epilogues). */
function clipTo(bounds: (attrs: NamedAttrMap) => [number, number]): Impl {
  return ({ inputs, backend, attrs }, native) => {
    const { x } = inputs;
    if (!x || !allFloat(x)) return null;
    const out = backend.makeOutput(x.shape, 'float32');
    native.clip(f32(backend, x), f32(backend, out), ...bounds(attrs));
    return out;
  };
}

/** Batched matmul where both sides have the same batch dims, or one side has a single batch. */
const matMul: Impl = ({ inputs, backend, attrs }, native) => {
  const { a, b } = inputs;
  if (!a || !b || !allFloat(a, b) || a.shape.length < 2 || b.shape.length < 2) return null;
  const ta = Boolean(attrs.transposeA);
  const tb = Boolean(attrs.transposeB);
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = ta ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = ta ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = tb ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) return null;
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const sizeA = tf.util.sizeFromShape(batchA);
  const sizeB = tf.util.sizeFromShape(batchB);
  let outBatch: number[];
  if (sizeA === sizeB && (batchA.length === batchB.length || sizeA === 1)) outBatch = batchA.length >= batchB.length ? batchA : batchB;
  else if (sizeA === 1) outBatch = batchB;
  else if (sizeB === 1) outBatch = batchA;
  else return null;
  const batch = Math.max(sizeA, sizeB);
  const fused = fusedEpilogue(inputs, attrs, n);
  if (!fused) return null;
  const out = backend.makeOutput([...outBatch, m, n], 'float32');
  native.matmul(f32(backend, a), f32(backend, b), fused.bias ? f32(backend, fused.bias) : null, f32(backend, out), fused.act,
    batch, m, n, k, ta ? 1 : 0, tb ? 1 : 0, sizeA === 1 ? 0 : m * k, sizeB === 1 ? 0 : k * n);
  return out;
};

const impls: Record<string, Impl> = {
  [tf.Conv2D]: conv2d,
  [tf.FusedConv2D]: conv2d,
  [tf.Conv2DBackpropInput]: conv2dBackpropInput,
  [tf.Conv2DBackpropFilter]: conv2dBackpropFilter,
  [tf.DepthwiseConv2dNative]: depthwise,
  [tf.FusedDepthwiseConv2D]: depthwise,
  [tf.DepthwiseConv2dNativeBackpropInput]: depthwiseBackpropInput,
  [tf.DepthwiseConv2dNativeBackpropFilter]: depthwiseBackpropFilter,
  [tf.MaxPool]: maxPool,
  [tf.MaxPoolGrad]: maxPoolGrad,
  [tf.AvgPool]: avgPool,
  [tf.AvgPoolGrad]: avgPoolGrad,
  [tf.PadV2]: padV2,
  [tf.Slice]: slice,
  [tf.Sum]: sum,
  [tf.Add]: add,
  [tf.BatchMatMul]: matMul,
  [tf._FusedMatMul]: matMul,
  [tf.FusedBatchNorm]: fusedBatchNorm,
  [tf.Mean]: mean,
  [tf.ClipByValue]: clipTo((attrs) => [attrs.clipValueMin as number, attrs.clipValueMax as number]),
  [tf.Relu6]: clipTo(() => [0, 6]),
};

export const NATIVE_KERNEL_NAMES = Object.keys(impls);

/**
 * Puts the native kernels in front of the wasm backend's: each keeps the previous registration
 * (and its setup function) as the fallback for cases it does not handle. Call after the wasm
 * backend is initialised and the gradient kernels are registered.
 */
export function registerNativeKernels(native: NativeKernels): void {
  for (const [name, impl] of Object.entries(impls)) {
    const previous = tf.getKernel(name, 'wasm');
    if (!previous) throw new Error(`kernel ${name} is not registered for wasm; register the wasm gradient kernels first`);
    if ((previous as KernelConfig & { native?: boolean }).native) continue;
    const fallback = previous.kernelFunc;
    const kernelFunc = ((args: Args) => impl(args, native) ?? fallback(args as never)) as unknown as KernelFunc;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...previous, kernelFunc, native: true } as KernelConfig);
  }
}
