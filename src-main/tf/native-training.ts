/**
 * Training kernels of the native add-on for the layers MobileNet- and ResNet-class networks train:
 * - BatchNormalization in training runs as one kernel each way. tfjs-layers computes it as moments
 *   (Mean, Sub, Square, Mean) and batchNorm, and differentiates that chain op by op (its batchNorm
 *   gradient tiles rsqrt(variance) to the activation's full shape: ~15 kernels and most of a
 *   MobileNet step's time). Here the layer's `call` (training, channels last, with gamma and beta, on
 *   wasm with the add-on) runs `PocketBenchBatchNormTrain` (batch mean, biased variance, normalized
 *   output) and updates the moving statistics exactly as tfjs-layers does; its gradient,
 *   `PocketBenchBatchNormGrad`, is the full derivative through the batch statistics (dx, dgamma, dbeta),
 *   which is what the op chain computes.
 * - ReLU6: a ReLU layer with maxValue 6 (relu then clipByValue in tfjs-layers) runs tfjs' Relu6 op, and
 *   the gradients of Relu6 and ClipByValue are one kernel each (tfjs: 3–5 kernels, LessEqual,
 *   GreaterEqual, LogicalAnd, Select...). The values are tfjs' formulas, element for element.
 * - Mean over middle axes (global average pooling) has a one-kernel gradient (tfjs: Fill, Multiply, RealDiv).
 * The gradients are registered globally (tfjs has one registry): on other backends, without the
 * add-on or for shapes the kernels do not take, they run tfjs' own formulas.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { GradConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { type Call, layerClass, ownerOfCall } from './fused-layers';
import type { NativeKernels } from './native';

export const BN_TRAIN = 'PocketBenchBatchNormTrain';
export const BN_GRAD = 'PocketBenchBatchNormGrad';
export const CLIP_GRAD = 'PocketBenchClipGrad';
export const RELU6_GRAD = 'PocketBenchRelu6Grad';
export const MEAN_GRAD = 'PocketBenchMeanGrad';

interface Args {
  inputs: Record<string, TensorInfo>;
  backend: BackendWasm;
  attrs: NamedAttrMap;
}

const size = (t: TensorInfo | readonly number[]) => tf.util.sizeFromShape(Array.isArray(t) ? (t as number[]) : (t as TensorInfo).shape);
const view = (backend: BackendWasm, t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;

/** [outer, inner, cols] for a reduction over `axes` when they are contiguous and leave the last axis; else null. */
export function middleAxes(shape: readonly number[], axis: number | number[]): [number, number, number] | null {
  const axes = tf.util.parseAxisParam(axis, shape as number[]).sort((a, b) => a - b);
  if (!axes.length || axes.some((a, i) => a !== axes[0] + i) || axes[axes.length - 1] >= shape.length - 1) return null;
  const first = axes[0];
  const last = axes[axes.length - 1];
  return [size(shape.slice(0, first)), size(shape.slice(first, last + 1)), size(shape.slice(last + 1))];
}

function kernels(native: NativeKernels): Record<string, (args: Args) => TensorInfo | TensorInfo[]> {
  return {
    [BN_TRAIN]: ({ inputs: { x, scale, offset }, backend, attrs }) => {
      const c = x.shape[x.shape.length - 1];
      const y = backend.makeOutput(x.shape, 'float32');
      const mean = backend.makeOutput([c], 'float32');
      const variance = backend.makeOutput([c], 'float32');
      native.batchNormTrain(view(backend, x), scale ? view(backend, scale) : null, offset ? view(backend, offset) : null, view(backend, y),
        view(backend, mean), view(backend, variance), size(x) / c, c, attrs.varianceEpsilon as number);
      return [y, mean, variance];
    },
    [BN_GRAD]: ({ inputs: { dy, x, mean, variance, scale }, backend, attrs }) => {
      const c = x.shape[x.shape.length - 1];
      const dx = backend.makeOutput(x.shape, 'float32');
      const dscale = backend.makeOutput([c], 'float32');
      const doffset = backend.makeOutput([c], 'float32');
      native.batchNormGrad(view(backend, dy), view(backend, x), view(backend, mean), view(backend, variance), scale ? view(backend, scale) : null,
        view(backend, dx), view(backend, dscale), view(backend, doffset), size(x) / c, c, attrs.varianceEpsilon as number);
      return [dx, dscale, doffset];
    },
    [CLIP_GRAD]: ({ inputs: { dy, x }, backend, attrs }) => {
      const dx = backend.makeOutput(x.shape, 'float32');
      native.clipGrad(view(backend, dy), view(backend, x), view(backend, dx), attrs.clipValueMin as number, attrs.clipValueMax as number);
      return dx;
    },
    [RELU6_GRAD]: ({ inputs: { dy, x }, backend }) => {
      const dx = backend.makeOutput(x.shape, 'float32');
      native.relu6Grad(view(backend, dy), view(backend, x), view(backend, dx));
      return dx;
    },
    [MEAN_GRAD]: ({ inputs: { dy }, backend, attrs }) => {
      const shape = attrs.shape as number[];
      const [outer, inner, cols] = middleAxes(shape, attrs.axis as number[])!;
      const dx = backend.makeOutput(shape, 'float32');
      native.meanMiddleGrad(view(backend, dy), view(backend, dx), outer, inner, cols);
      return dx;
    },
  };
}

/** Whether the one-kernel path can run: wasm active, our kernel registered, float32 tensors. */
function nativePath(kernel: string, ...ts: tf.Tensor[]): boolean {
  return tf.getBackend() === 'wasm' && tf.getKernel(kernel, 'wasm') !== undefined && ts.every((t) => t.dtype === 'float32');
}

const sameShape = (a: tf.Tensor, b: tf.Tensor) => a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);

const clipGrad: GradConfig = {
  kernelName: tf.ClipByValue,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const g = dy as tf.Tensor;
    const { clipValueMin, clipValueMax } = attrs as unknown as { clipValueMin: number; clipValueMax: number };
    if (nativePath(CLIP_GRAD, g, x) && sameShape(g, x)) {
      return { x: () => tf.engine().runKernel(CLIP_GRAD, { dy: g, x }, { clipValueMin, clipValueMax } as unknown as NamedAttrMap) as tf.Tensor };
    }
    return { x: () => tf.where(tf.logicalAnd(tf.greaterEqual(x, clipValueMin), tf.lessEqual(x, clipValueMax)), g, tf.zerosLike(g)) };
  },
};

const relu6Grad: GradConfig = {
  kernelName: tf.Relu6,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    const g = dy as tf.Tensor;
    if (nativePath(RELU6_GRAD, g, x) && sameShape(g, x)) return { x: () => tf.engine().runKernel(RELU6_GRAD, { dy: g, x }) as tf.Tensor };
    return { x: () => tf.mul(g, tf.cast(tf.mul(tf.lessEqual(x, 6), tf.step(x)), 'float32')) };
  },
};

const meanGrad: GradConfig = {
  kernelName: tf.Mean,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const g = dy as tf.Tensor;
    const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number | number[] }).axis, x.shape);
    const middle = middleAxes(x.shape, axes);
    if (nativePath(MEAN_GRAD, g, x) && middle && size(g.shape) === middle[0] * middle[2]) {
      return { x: () => tf.engine().runKernel(MEAN_GRAD, { dy: g }, { shape: x.shape, axis: axes } as unknown as NamedAttrMap) as tf.Tensor };
    }
    // tfjs' own formula (Mean_grad.ts).
    return {
      x: () => {
        const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const reduceSize = size(axes.map((a) => x.shape[a]));
        return tf.div(tf.mul(tf.reshape(g, expanded), tf.ones(x.shape, 'float32')), reduceSize);
      },
    };
  },
};

/** The BatchNormalization layer internals the fused call reads. */
interface LayerVariableLike {
  read(): tf.Tensor;
  write(value: tf.Tensor): void;
}
interface BatchNormLike {
  /** A number, or a one-element list as Keras configs write it (`"axis": [3]`, imported models). */
  axis: number | number[];
  momentum: number;
  epsilon: number;
  gamma?: LayerVariableLike;
  beta?: LayerVariableLike;
  movingMean: LayerVariableLike;
  movingVariance: LayerVariableLike;
}

let enabled = true;

/** Turns the patched BatchNormalization (training) and ReLU6 layer calls on or off (A/B measurements and tests). */
export function setNativeLayerTraining(on: boolean): void {
  enabled = on;
}

/** tfjs-layers' BatchNormalization.call in training, as two kernels; null when it does not apply. */
function batchNormTrainingCall(layer: BatchNormLike, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | null {
  const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : null) : inputs;
  if (!enabled || !kwargs?.training || !x || x.dtype !== 'float32' || x.rank < 2 || size(x.shape) === 0) return null;
  const axis = Array.isArray(layer.axis) ? (layer.axis.length === 1 ? layer.axis[0] : NaN) : layer.axis;
  if (!layer.gamma || !layer.beta || (axis !== -1 && axis !== x.rank - 1) || !nativePath(BN_TRAIN, x)) return null;
  return tf.tidy(() => {
    const [y, mean, variance] = tf.engine().runKernel(BN_TRAIN, { x, scale: layer.gamma!.read(), offset: layer.beta!.read() },
      { varianceEpsilon: layer.epsilon } as unknown as NamedAttrMap) as tf.Tensor[];
    // The moving statistics as tfjs-layers updates them (normalization.ts, doMovingAverage).
    for (const [variable, value] of [[layer.movingMean, mean], [layer.movingVariance, variance]] as const) {
      tf.tidy(() => {
        const orig = variable.read();
        variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - layer.momentum)));
      });
    }
    return y;
  });
}

let leftovers: tf.Tensor[] = [];

const batchNormTrainGrad: GradConfig = {
  kernelName: BN_TRAIN,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, true, true],
  gradFunc: (dys, saved, attrs) => {
    // Gradients reaching the mean and variance outputs are zero: only the moving averages read them.
    const dy = (dys as tf.Tensor[])[0];
    const [x, scale, mean, variance] = saved;
    // The engine asks for each input's gradient in its own tidy, right after this call: the one kernel
    // makes all three, so the other two are kept for the next asks. Those the tape never asks for (a
    // frozen gamma) are disposed at the next BatchNorm gradient: at most one node's worth stays alive.
    tf.dispose(leftovers);
    leftovers = [];
    let all: tf.Tensor[] | null = null;
    const take = (i: number) => {
      all ??= (leftovers = (tf.engine().runKernel(BN_GRAD, { dy, x, mean, variance, scale }, attrs) as tf.Tensor[]).map((t) => tf.keep(t)));
      const kept = all[i];
      leftovers = leftovers.filter((t) => t !== kept);
      // A kept tensor is never disposed by the engine's tidies, so the tape would hold it past the
      // step (three tensors per BatchNorm per step): hand it over as an ordinary tensor (a clone shares
      // the buffer) and drop the kept one.
      const out = tf.clone(kept);
      kept.dispose();
      return out;
    };
    return { x: () => take(0), scale: () => take(1), offset: () => take(2) };
  },
};

let installed = false;

/**
 * Registers the native training kernels for wasm and the gradients above, and patches tfjs-layers'
 * BatchNormalization (training) and ReLU (maxValue 6) layers, once. Call after the wasm backend and
 * tfjs-layers are initialised (tfjs-layers' import registers tfjs' gradients, which would replace ours).
 */
export function registerNativeTraining(native: NativeKernels): void {
  for (const [name, impl] of Object.entries(kernels(native))) {
    if (!tf.getKernel(name, 'wasm')) tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: impl as unknown as KernelFunc });
  }
  for (const g of [clipGrad, relu6Grad, meanGrad, batchNormTrainGrad]) tf.registerGradient(g);
  if (installed) return;
  installed = true;
  const bnOwner = ownerOfCall(layerClass('BatchNormalization'));
  const bnCall = bnOwner.call;
  bnOwner.call = function (this: unknown, inputs, kwargs) {
    return batchNormTrainingCall(this as BatchNormLike, inputs, kwargs as Record<string, unknown>) ?? bnCall.call(this, inputs, kwargs);
  };
  const reluOwner = ownerOfCall(layerClass('ReLU'));
  const reluCall: Call = reluOwner.call;
  reluOwner.call = function (this: unknown, inputs, kwargs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    // relu then clip to [0, 6] is relu6, value for value (NaN passes through both).
    if ((this as { maxValue?: number }).maxValue === 6 && enabled && x && nativePath(RELU6_GRAD, x)) return tf.relu6(x);
    return reluCall.call(this, inputs, kwargs);
  };
}
