/** Helpers for the kernel tests: seeded data and a comparison that suits float32 kernels. */
import * as tf from '@tensorflow/tfjs-core';
import type { NativeKernels } from './native';
import { registerNativeKernels } from './native-kernels';
import { registerWasmGradKernels } from './wasm-grad-kernels';

/**
 * Initialises cpu and wasm (wasm active) with the gradient kernels wasm lacks and, when given, the
 * native kernels on 2 threads in front of wasm's. Import the two backends' packages first.
 */
export async function initTestBackends(native: NativeKernels | null): Promise<void> {
  await tf.setBackend('cpu');
  await tf.setBackend('wasm');
  registerWasmGradKernels();
  if (native) {
    native.setThreads(2);
    registerNativeKernels(native);
  }
}

/**
 * Runs `fn` with `name` as the active backend, then restores the previous one. Both backends must
 * have been initialised already (await tf.setBackend once), so switching is synchronous.
 */
export function onBackend<T>(name: string, fn: () => T): T {
  const previous = tf.getBackend();
  void tf.setBackend(name);
  if (tf.getBackend() !== name) throw new Error(`backend ${name} is not initialised; await tf.setBackend('${name}') first`);
  try {
    return fn();
  } finally {
    void tf.setBackend(previous);
  }
}

/** Deterministic values in [-1, 1) (a small LCG) so failures reproduce. */
export function randomArray(shape: readonly number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/**
 * Normwise relative error max|got − want| / max|want|: element-wise ratios blow up where the
 * reference is near zero, which says nothing about the kernel.
 */
export function maxRelError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} ≠ ${want.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

export type KernelInputs = Record<string, { shape: number[]; data: Float32Array }>;

/** Runs one kernel on a backend with fresh tensors made from the same arrays; returns its output. */
export function runKernel(backend: string, name: string, inputs: KernelInputs, attrs: object): Float32Array {
  return onBackend(backend, () => {
    const ts = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.data, v.shape)]));
    const out = tf.engine().runKernel(name, ts, attrs as never) as tf.Tensor;
    const data = out.dataSync() as Float32Array;
    tf.dispose([out, ...Object.values(ts)]);
    return data;
  });
}
