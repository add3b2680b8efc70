/**
 * Adam in one kernel per step on the wasm backend. tfjs' AdamOptimizer runs about 14 small kernels per
 * variable (moments, bias correction, sqrt, division, assign...) plus 4 for the β^t accumulators; on
 * a small model that per-kernel overhead costs more than the update itself. `FusedAdamOptimizer` is
 * that optimizer (same class name, config, slot variables and getWeights/setWeights layout, so
 * checkpoints written by either load in the other) whose update on wasm is one registered kernel,
 * `PocketBenchAdam`: it updates the moments m, v of every variable in place on the wasm heap and
 * writes the new weights to fresh buffers that the variables are then assigned, with exactly tfjs'
 * float32 arithmetic in its order (epsilon added after the square root of the
 * bias-corrected second moment, bias correction from the float32 accumulators β1^t, β2^t that it
 * updates as tfjs does), so the weights match the stock optimizer bit for bit. The arithmetic runs in
 * the native add-on when it is loaded (vectorised, multithreaded for large tensors), else in
 * JavaScript over the heap. On any other backend (cpu, tensorflow), or for tensors that are not
 * float32, the stock update runs.
 *
 * Weights get new buffers, as with the stock optimizer, because the wasm backend caches XNNPACK
 * operators (Conv2D, MatMul...) by the data id of their filter, with the filter packed inside: a
 * filter changed in place would be served stale. Moments and accumulators are only ever read by the
 * optimizer, so they are written in place, after the optimizer has made sure each is the sole holder
 * of its buffer (one loaded by setWeights may still share it with the caller's tensor).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelFunc, NamedAttrMap, NamedTensorMap, TensorInfo } from '@tensorflow/tfjs-core';

type Gradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];
type NamedTensor = Extract<Gradients, unknown[]>[number];
import type { NativeKernels } from './native';

export const FUSED_ADAM = 'PocketBenchAdam';

interface AdamAttrs {
  count: number;
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/**
 * The 8 float32 constants of one step: β1, 1−β1, β2, 1−β2, 1−β1^t, 1−β2^t, ε, −lr, each rounded to
 * float32 from the same double tfjs rounds it from (1 − acc is exact in double, then rounded once, as
 * tfjs' float32 `sub(1, acc)` is).
 */
function constants(a: AdamAttrs, acc1: number, acc2: number): Float32Array {
  return Float32Array.of(a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, 1 - acc1, 1 - acc2, a.epsilon, -a.learningRate);
}

/** The native kernel's arithmetic in JavaScript: every operation rounded to float32 (Math.fround). */
export function adamJs(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, c: Float32Array, wOut: Float32Array): void {
  const f = Math.fround;
  const [b1, omb1, b2, omb2, omab1, omab2, eps, nlr] = c;
  for (let i = 0; i < w.length; i++) {
    const gi = g[i];
    const m1 = f(f(m[i] * b1) + f(gi * omb1));
    const v1 = f(f(v[i] * b2) + f(f(gi * gi) * omb2));
    const mh = f(m1 / omab1);
    const vh = f(v1 / omab2);
    wOut[i] = f(f(mh / f(f(Math.sqrt(vh)) + eps)) * nlr) + w[i];
    m[i] = m1;
    v[i] = v1;
  }
}

/**
 * Inputs w0 g0 m0 v0 … w{n−1} … v{n−1}, accBeta1, accBeta2; every one float32, each quadruple of one
 * size, and m, v, acc* exclusively owned (the optimizer sees to both). Updates m, v, acc* in place
 * and returns the n new weight tensors.
 */
function kernel(native: NativeKernels | null): KernelFunc {
  return (({ inputs, backend, attrs }: { inputs: NamedTensorMap; backend: BackendWasm; attrs: NamedAttrMap }) => {
    const a = attrs as unknown as AdamAttrs;
    const heap = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    const c = constants(a, heap(inputs.accBeta1)[0], heap(inputs.accBeta2)[0]);
    const update = native ? native.adam.bind(native) : adamJs;
    const outs: TensorInfo[] = [];
    for (let k = 0; k < a.count; k++) {
      const w = inputs[`w${k}`];
      const out = backend.makeOutput(w.shape, 'float32');
      // Views after makeOutput: an allocation may grow the heap and detach older views.
      update(heap(w), heap(inputs[`g${k}`]), heap(inputs[`m${k}`]), heap(inputs[`v${k}`]), c, heap(out));
      outs.push(out);
    }
    const acc1 = heap(inputs.accBeta1);
    const acc2 = heap(inputs.accBeta2);
    acc1[0] = Math.fround(acc1[0] * Math.fround(a.beta1));
    acc2[0] = Math.fround(acc2[0] * Math.fround(a.beta2));
    return outs;
  }) as unknown as KernelFunc;
}

/** Registers (or re-registers) the fused Adam kernel for wasm: native arithmetic when given, else JS. */
export function registerFusedAdamKernel(native: NativeKernels | null): void {
  if (tf.getKernel(FUSED_ADAM, 'wasm')) tf.unregisterKernel(FUSED_ADAM, 'wasm');
  tf.registerKernel({ kernelName: FUSED_ADAM, backendName: 'wasm', kernelFunc: kernel(native) });
}

/** The stock optimizer's private state, read and kept in its own layout. */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
}

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon);
  }

  /** Whether the next update runs as the fused kernel (wasm with the kernel registered). */
  get fused(): boolean {
    return tf.getBackend() === 'wasm' && tf.getKernel(FUSED_ADAM, 'wasm') != null;
  }

  override applyGradients(variableGradients: Gradients | NamedTensorMap): void {
    if (!this.fused) return super.applyGradients(variableGradients as Gradients);
    const list = Array.isArray(variableGradients);
    const names = list ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const state = this as unknown as AdamState;
    const registered = tf.engine().registeredVariables;
    const quads: { w: tf.Variable; g: tf.Tensor; m: tf.Variable; v: tf.Variable }[] = [];
    let stock = false;
    names.forEach((name, i) => {
      const w = registered[name];
      // Slots exactly as the stock optimizer makes them (by position, named after the variable).
      state.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.variable(tf.zerosLike(w), false)) };
      state.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.variable(tf.zerosLike(w), false)) };
      const g = list ? (variableGradients as NamedTensor[])[i].tensor : (variableGradients as Record<string, tf.Tensor>)[name];
      if (g == null) return;
      const m = state.accumulatedFirstMoment[i].variable;
      const v = state.accumulatedSecondMoment[i].variable;
      if ([w, g, m, v].some((t) => t.dtype !== 'float32') || g.size !== w.size || m.size !== w.size || v.size !== w.size) stock = true;
      quads.push({ w, g, m, v });
    });
    if (stock) return super.applyGradients(variableGradients as Gradients);
    const backend = tf.backend() as BackendWasm;
    const inputs: NamedTensorMap = {};
    quads.forEach(({ w, g, m, v }, k) => {
      inputs[`w${k}`] = w;
      inputs[`g${k}`] = g;
      inputs[`m${k}`] = ownBuffer(backend, m);
      inputs[`v${k}`] = ownBuffer(backend, v);
    });
    inputs.accBeta1 = ownBuffer(backend, state.accBeta1);
    inputs.accBeta2 = ownBuffer(backend, state.accBeta2);
    const attrs: AdamAttrs = { count: quads.length, learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
    const weights = tf.engine().runKernel(FUSED_ADAM, inputs, attrs as unknown as NamedAttrMap) as tf.Tensor[];
    quads.forEach(({ w }, k) => w.assign(weights[k]));
    tf.dispose(weights);
    this.incrementIterations();
  }
}

/**
 * Makes `v` the only holder of its data before it is written in place: when another tensor shares
 * the buffer (the wasm reference count is above one), `v` is given a copy of its own.
 */
function ownBuffer(backend: BackendWasm, v: tf.Variable): tf.Variable {
  if (backend.refCount(v.dataId) > 1) {
    const copy = tf.tensor(Float32Array.from(backend.typedArrayFromHeap(v) as Float32Array), v.shape, 'float32');
    v.assign(copy);
    copy.dispose();
  }
  return v;
}
