/**
 * Fewer kernels per training step on wasm. Under a gradient tape tfjs-core will not fuse a layer's
 * bias and ReLU into its convolution or matrix product (`shouldFuse` in tfjs-core), so a Conv2D or
 * Dense layer with a ReLU trains as three forward kernels (Conv2D/MatMul, Add, Relu), each saving
 * copies of its inputs for the backward pass, and about seven backward ones (Step, Cast and Multiply
 * for the ReLU, Sum and Reshape for the bias, the two products). On a small model that per-kernel
 * overhead costs more than the arithmetic.
 *
 * `installFusedLayerTraining()` makes tfjs-layers' Conv2D (2-D, channels last, no dilation) and Dense
 * (2-D input) layers with a ReLU or no activation run, while a tape records on the wasm backend, as
 * one fused kernel (FusedConv2D / _FusedMatMul with bias and activation, which the native add-on or
 * wasm computes in one pass) whose registered gradient takes the ReLU mask from the saved output in
 * one kernel (lean-kernels' Relu gradient) and then computes only the input, weight and bias
 * gradients the tape asks for. The arithmetic is the same as the unfused chain: the forward adds the bias to
 * the float32 product and clamps, as the separate kernels do (NaN passes through); the backward
 * multiplies dy by the step of the output (the step of the pre-activation: ReLU's output is
 * positive exactly where its input is, and NaN where it is NaN) and feeds the same gradient kernels. Any other case (other activations or
 * backends, inference without a tape, channels first, dilation) runs the layer's own code.
 *
 * The layer classes are patched once, found through tfjs' serialization registry (creating a layer
 * instance here would bump the automatic layer-name counters of the user's models).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import type { NamedAttrMap, NamedTensorMap } from '@tensorflow/tfjs-core';
import { reluGradient } from './lean-kernels';

/** Minimal views of the tfjs-layers internals the fused calls read. */
interface LayerVariableLike {
  read(): tf.Tensor;
}
interface ActivationLike {
  getClassName(): string;
}
interface ConvLike {
  rank: number;
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate: number | number[];
  activation: ActivationLike | null;
  kernel: LayerVariableLike;
  bias: LayerVariableLike | null;
}
interface DenseLike {
  activation: ActivationLike | null;
  kernel: LayerVariableLike;
  bias: LayerVariableLike | null;
  invokeCallHook(inputs: unknown, kwargs: unknown): void;
}
export type Call = (this: unknown, inputs: tf.Tensor | tf.Tensor[], kwargs: unknown) => tf.Tensor | tf.Tensor[];

let enabled = true;
let installed = false;

/** Turns the fused training calls on or off (A/B measurements and tests); they start on. */
export function setFusedLayerTraining(on: boolean): void {
  enabled = on;
}

/** The activation a fused kernel can apply and differentiate here, or null. */
function fusedActivation(activation: ActivationLike | null): 'relu' | 'linear' | null {
  const name = activation?.getClassName();
  if (name === undefined || name === 'Linear' || name === 'linear') return 'linear';
  if (name === 'Relu' || name === 'relu') return 'relu';
  return null;
}

const tapeOn = () => (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();

/** Whether this call should take the fused path: wasm, a tape recording, and the switch on. */
function fusing(): boolean {
  return enabled && tf.getBackend() === 'wasm' && tapeOn();
}

/** The same test for the other fused layer ops (fused-norm.ts): one switch for all of them. */
export const fusedLayerTrainingActive = fusing;

/**
 * Inference (no tape) on wasm: tfjs-layers fuses bias + ReLU into Conv2D itself, but applies ReLU6
 * as a separate kernel and never fuses a DepthwiseConv2D's bias or activation. A frozen teacher
 * with its BatchNorm and ReLU6 folded in (compress/distill/frozen-teacher.ts) runs each such layer
 * as one FusedConv2D / FusedDepthwiseConv2D kernel here (same float32 operations: the bias added to
 * the product, then the clamp).
 */
function fusingInference(activation: 'relu' | 'relu6' | 'linear' | null, hasBias: boolean, depthwise: boolean): boolean {
  if (!enabled || tf.getBackend() !== 'wasm' || tapeOn() || !activation) return false;
  return activation === 'relu6' || (depthwise && (hasBias || activation === 'relu'));
}

/** The activation a fused inference kernel applies (ReLU6 too: no gradient needed), or null. */
function inferenceActivation(activation: ActivationLike | null): 'relu' | 'relu6' | 'linear' | null {
  const name = activation?.getClassName();
  return name === 'Relu6' || name === 'relu6' ? 'relu6' : fusedActivation(activation);
}

function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor | null {
  if (!Array.isArray(inputs)) return inputs;
  return inputs.length === 1 ? inputs[0] : null;
}

function fusedConvCall(layer: ConvLike, inputs: tf.Tensor | tf.Tensor[], activation: 'relu' | 'relu6' | 'linear' | null = fusedActivation(layer.activation)): tf.Tensor | null {
  const x = single(inputs);
  const dilations = Array.isArray(layer.dilationRate) ? layer.dilationRate : [layer.dilationRate, layer.dilationRate];
  if (!x || x.rank !== 4 || x.dtype !== 'float32' || !activation || layer.rank !== 2 || layer.dataFormat !== 'channelsLast') return null;
  if (dilations.some((d) => d !== 1) || (layer.padding !== 'same' && layer.padding !== 'valid')) return null;
  const kernelInputs: NamedTensorMap = { x, filter: layer.kernel.read() };
  if (layer.bias) kernelInputs.bias = layer.bias.read();
  const attrs = { strides: layer.strides, pad: layer.padding, dataFormat: 'NHWC', dilations: [1, 1], activation };
  return tf.engine().runKernel(tf.FusedConv2D, kernelInputs, attrs as unknown as NamedAttrMap) as tf.Tensor;
}

interface DepthwiseLike extends Omit<ConvLike, 'kernel'> {
  depthwiseKernel: LayerVariableLike;
}

function fusedDepthwiseCall(layer: DepthwiseLike, inputs: tf.Tensor | tf.Tensor[], activation: 'relu' | 'relu6' | 'linear'): tf.Tensor | null {
  const x = single(inputs);
  const dilations = Array.isArray(layer.dilationRate) ? layer.dilationRate : [layer.dilationRate, layer.dilationRate];
  if (!x || x.rank !== 4 || x.dtype !== 'float32' || layer.dataFormat !== 'channelsLast') return null;
  if (dilations.some((d) => d !== 1) || (layer.padding !== 'same' && layer.padding !== 'valid')) return null;
  const kernelInputs: NamedTensorMap = { x, filter: layer.depthwiseKernel.read() };
  if (layer.bias) kernelInputs.bias = layer.bias.read();
  const attrs = { strides: layer.strides, pad: layer.padding, dataFormat: 'NHWC', dilations: [1, 1], activation };
  return tf.engine().runKernel(tf.FusedDepthwiseConv2D, kernelInputs, attrs as unknown as NamedAttrMap) as tf.Tensor;
}

function fusedDenseCall(layer: DenseLike, inputs: tf.Tensor | tf.Tensor[], kwargs: unknown): tf.Tensor | null {
  const a = single(inputs);
  const activation = fusedActivation(layer.activation);
  const b = layer.kernel.read();
  if (!a || a.rank !== 2 || b.rank !== 2 || a.dtype !== 'float32' || !activation) return null;
  layer.invokeCallHook(inputs, kwargs);
  const attrs = { transposeA: false, transposeB: false, activation } as unknown as NamedAttrMap;
  const bias = layer.bias?.read();
  // The native kernel takes 2-D operands; wasm's own reads [batch, rows, cols], as tfjs-core's
  // fused.matMul passes them (reshapes share the buffer).
  if ((tf.getKernel(tf._FusedMatMul, 'wasm') as { native?: boolean } | undefined)?.native) {
    return tf.engine().runKernel(tf._FusedMatMul, bias ? { a, b, bias } : { a, b }, attrs) as tf.Tensor;
  }
  return tf.tidy(() => {
    const a3 = tf.reshape(a, [1, ...a.shape]);
    const b3 = tf.reshape(b, [1, ...b.shape]);
    const y = tf.engine().runKernel(tf._FusedMatMul, bias ? { a: a3, b: b3, bias } : { a: a3, b: b3 }, attrs) as tf.Tensor;
    return tf.reshape(y, [a.shape[0], b.shape[1]!]);
  });
}

/** dy · step(y) for a ReLU (lean-kernels' one-kernel Relu gradient), dy itself without activation. */
function activationGrad(dy: tf.Tensor, y: tf.Tensor, activation: string | undefined): tf.Tensor {
  if (activation === undefined || activation === 'linear') return dy;
  if (activation === 'relu') return reluGradient(dy, y);
  // Only this module runs fused kernels under a tape, and only with these two activations.
  throw new Error(`no gradient for a fused kernel with activation '${activation}' (only relu and linear)`);
}

function registerGradients(): void {
  tf.registerGradient({
    kernelName: tf.FusedConv2D,
    inputsToSave: ['x', 'filter'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter, y] = saved;
      const a = attrs as unknown as { strides: number[]; pad: 'same' | 'valid'; activation: string; dilations?: number | number[]; dataFormat?: string };
      // Only this module tapes FusedConv2D (tfjs-core's fused ops run inside customGrad); refuse
      // anything it never runs rather than return a wrong gradient.
      if ([a.dilations ?? 1].flat().some((d) => d !== 1) || (a.dataFormat ?? 'NHWC') !== 'NHWC') {
        throw new Error('no gradient for a FusedConv2D with dilation or NCHW data (fused-layers.ts runs neither)');
      }
      const g = activationGrad(dy as tf.Tensor, y, a.activation);
      const conv = { strides: a.strides, pad: a.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
      return {
        x: () => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: g, filter }, { ...conv, inputShape: x.shape } as unknown as NamedAttrMap) as tf.Tensor,
        filter: () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: g }, { ...conv, filterShape: filter.shape } as unknown as NamedAttrMap) as tf.Tensor,
        bias: () => tf.sum(g, [0, 1, 2]),
      };
    },
  });
  tf.registerGradient({
    kernelName: tf._FusedMatMul,
    inputsToSave: ['a', 'b'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [a, b, y] = saved;
      const at = attrs as unknown as { activation?: string; transposeA?: boolean; transposeB?: boolean };
      const g = activationGrad(dy as tf.Tensor, y, at.activation);
      // C = op(A)·op(B): the four transpose cases, as tfjs differentiates BatchMatMul.
      const [ta, tb] = [Boolean(at.transposeA), Boolean(at.transposeB)];
      const da = !ta ? () => tf.matMul(g, b, false, !tb) : () => tf.matMul(b, g, tb, true);
      const db = !tb ? () => tf.matMul(a, g, !ta, false) : () => tf.matMul(g, a, true, ta);
      // Batched operands (plain wasm's [1, rows, cols]): the bias gradient sums every axis but the last.
      return { a: da, b: db, bias: () => tf.sum(g, Array.from({ length: g.rank - 1 }, (_, i) => i)) };
    },
  });
}

export function layerClass(name: string): { prototype: object } {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[name] as unknown as [{ prototype: object }] | undefined;
  if (!entry) throw new Error(`tfjs-layers has no ${name} class registered; import @tensorflow/tfjs-layers first`);
  return entry[0];
}

/** The prototype in the chain of `cls` that defines `call` itself. */
export function ownerOfCall(cls: { prototype: object }): { call: Call } {
  let proto: object | null = cls.prototype;
  while (proto && !Object.prototype.hasOwnProperty.call(proto, 'call')) proto = Object.getPrototypeOf(proto);
  if (!proto) throw new Error('layer class without a call method');
  return proto as { call: Call };
}

/** The prototype whose `call` a registered tfjs-layers class (by class name) runs. */
export function layerCallOwner(name: string): { call: Call } {
  return ownerOfCall(layerClass(name));
}

/** Patches Conv2D and Dense and registers the fused kernels' gradients, once. */
export function installFusedLayerTraining(): void {
  if (installed) return;
  installed = true;
  registerGradients();
  const conv2d = layerClass('Conv2D');
  const convOwner = ownerOfCall(conv2d);
  const convCall = convOwner.call;
  convOwner.call = function (this: unknown, inputs, kwargs) {
    // Each fused call makes exactly one tensor (the kernel's output), so it needs no tidy.
    let out: tf.Tensor | null = null;
    if (this instanceof (conv2d as unknown as new () => object)) {
      const layer = this as ConvLike;
      if (fusing()) out = fusedConvCall(layer, inputs);
      else {
        const act = inferenceActivation(layer.activation);
        if (fusingInference(act, Boolean(layer.bias), false)) out = fusedConvCall(layer, inputs, act);
      }
    }
    return out ?? convCall.call(this, inputs, kwargs);
  };
  const depthwise = ownerOfCall(layerClass('DepthwiseConv2D'));
  const depthwiseCall = depthwise.call;
  depthwise.call = function (this: unknown, inputs, kwargs) {
    const layer = this as DepthwiseLike;
    const act = inferenceActivation(layer.activation);
    const out = act && fusingInference(act, Boolean(layer.bias), true) ? fusedDepthwiseCall(layer, inputs, act) : null;
    return out ?? depthwiseCall.call(this, inputs, kwargs);
  };
  const dense = ownerOfCall(layerClass('Dense'));
  const denseCall = dense.call;
  dense.call = function (this: unknown, inputs, kwargs) {
    const out = fusing() ? fusedDenseCall(this as DenseLike, inputs, kwargs) : null;
    return out ?? denseCall.call(this, inputs, kwargs);
  };
}
