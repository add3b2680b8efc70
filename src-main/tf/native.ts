/**
 * Finds and loads the native kernel add-on (src-main/tf/native, built by `npm run build:native` into
 * out/native/). It is optional: without a C++ compiler the build skips it and training runs on
 * plain wasm. The path is resolved against every place this module can run from:
 * - bundled by electron-vite: out/main/*.js or out/main/chunks/*.js → out/native/;
 * - the packaged app: the same, inside app.asar, whose *.node files electron-builder unpacks;
 * - sources under tsx/vitest: src-main/tf → out/native/ or the node-gyp build folder.
 * POCKETBENCH_NATIVE_KERNELS=off disables it; any other value is taken as the .node path.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

export const ADDON_FILE = 'pocketbench_kernels.node';

export interface NativeKernels {
  conv2d(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, act: number, ...geometry: number[]): void;
  conv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, ...geometry: number[]): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, ...geometry: number[]): void;
  depthwise(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, act: number, multiplier: number, ...geometry: number[]): void;
  depthwiseBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, multiplier: number, ...geometry: number[]): void;
  depthwiseBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, multiplier: number, ...geometry: number[]): void;
  matmul(a: Float32Array, b: Float32Array, bias: Float32Array | null, c: Float32Array, act: number, batch: number, m: number, n: number, k: number,
    transposeA: number, transposeB: number, aBatchStride: number, bBatchStride: number): void;
  maxPool(x: Float32Array, y: Float32Array, ...geometry: number[]): void;
  maxPoolGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, ...geometry: number[]): void;
  sumRows(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /** out[rows, cols] = x[rows, cols] + bias[cols]. */
  addBias(x: Float32Array, bias: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /** Adam on one variable: m, v in place, new weights into wOut; `constants` = β1, 1−β1, β2, 1−β2, 1−β1^t, 1−β2^t, ε, −lr (fused-adam.ts). */
  adam(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, constants: Float32Array, wOut: Float32Array): void;
  /** out = a + b, same shapes. */
  addSame(a: Float32Array, b: Float32Array, out: Float32Array): void;
  clip(x: Float32Array, y: Float32Array, lo: number, hi: number): void;
  /** tfjs' ClipByValue gradient: dy where lo <= x <= hi, else 0. */
  clipGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, lo: number, hi: number): void;
  /** tfjs' Relu6 gradient: dy · float32((x <= 6) · step(x)). */
  relu6Grad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  /** out[o, c] = mean over i of x[o, i, c] (global average pooling) and its gradient dx[o, i, c] = dy[o, c] / inner. */
  meanMiddle(x: Float32Array, out: Float32Array, outer: number, inner: number, cols: number): void;
  meanMiddleGrad(dy: Float32Array, dx: Float32Array, outer: number, inner: number, cols: number): void;
  /** Batch normalization over the last axis of x[rows, cols] with given statistics (inference); gamma/beta null mean 1/0. */
  batchNorm(x: Float32Array, mean: Float32Array, variance: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, y: Float32Array,
    rows: number, cols: number, epsilon: number): void;
  /** Training: batch mean and biased variance into mean/variance, y normalized with them. */
  batchNormTrain(x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, y: Float32Array, mean: Float32Array, variance: Float32Array,
    rows: number, cols: number, epsilon: number): void;
  /** The training gradient through the batch statistics: dx, dgamma, dbeta. */
  batchNormGrad(dy: Float32Array, x: Float32Array, mean: Float32Array, variance: Float32Array, gamma: Float32Array | null, dx: Float32Array,
    dgamma: Float32Array, dbeta: Float32Array, rows: number, cols: number, epsilon: number): void;
  avgPool(x: Float32Array, y: Float32Array, ...geometry: number[]): void;
  avgPoolGrad(dy: Float32Array, dx: Float32Array, ...geometry: number[]): void;
  /** y = x[B, H, W, C] padded on H and W with `value`. */
  pad2d(x: Float32Array, y: Float32Array, b: number, h: number, w: number, c: number, top: number, bottom: number, left: number, right: number, value: number): void;
  /** y = x[d0, d1, d2, d3] sliced from `begin` (4 numbers) for `size` (4 numbers). */
  slice4d(x: Float32Array, y: Float32Array, d0: number, d1: number, d2: number, d3: number, b0: number, b1: number, b2: number, b3: number,
    s0: number, s1: number, s2: number, s3: number): void;
  setThreads(n: number): number;
  /** Test hook: the AVX-512 GEMM micro-kernel on (when the CPU has it) or off; returns whether it is in use. Results are identical either way. */
  setWideVectors(on: boolean): boolean;
  /** Test hook: a pool job of n chunks whose chunk failAt throws inside the add-on (the error must reach JS). */
  failInPool(n: number, failAt: number): void;
}

export interface NativeLoad {
  kernels: NativeKernels | null;
  path?: string;
  /** Why the add-on is not in use, in words, when it is not. */
  reason?: string;
}

/** Where the add-on may be, most specific first. */
export function addonCandidates(here: string = import.meta.dirname): string[] {
  const unpacked = (p: string) => p.replace(`app.asar${path.sep}`, `app.asar.unpacked${path.sep}`);
  const list = [
    path.join(here, '..', 'native', ADDON_FILE), // out/main/*.js
    path.join(here, '..', '..', 'native', ADDON_FILE), // out/main/chunks/*.js
    path.join(here, '..', '..', 'out', 'native', ADDON_FILE), // src-main/tf under tsx or vitest
    path.join(here, 'native', 'build', 'Release', ADDON_FILE), // a manual node-gyp build
  ];
  return [...new Set(list.flatMap((p) => (p.includes(`app.asar${path.sep}`) ? [unpacked(p), p] : [p])))];
}

/**
 * Physical cores this process may use: on Linux, the distinct SMT sibling groups of the CPUs
 * (`/sys/devices/system/cpu/cpuN/topology/core_cpus_list`, or `thread_siblings_list` on older
 * kernels), never more than the CPUs the process may run on; elsewhere, or when sysfs cannot be read,
 * the available logical CPUs. A second hardware thread of a core adds little to these compute-bound
 * kernels and makes the two threads of a core wait for each other at every kernel's end.
 */
export function physicalCores(sysCpu = '/sys/devices/system/cpu', logical = os.availableParallelism(), cpus = os.cpus().length): number {
  if (process.platform !== 'linux' && sysCpu === '/sys/devices/system/cpu') return logical;
  const groups = new Set<string>();
  for (let i = 0; i < cpus; i++) {
    const dir = path.join(sysCpu, `cpu${i}`, 'topology');
    const list = ['core_cpus_list', 'thread_siblings_list'].map((f) => {
      try {
        return fs.readFileSync(path.join(dir, f), 'utf8').trim();
      } catch {
        return '';
      }
    }).find(Boolean);
    if (!list) return logical;
    groups.add(list);
  }
  return Math.max(1, Math.min(logical, groups.size || logical));
}

/** Threads for the kernels: POCKETBENCH_THREADS (1–64) if set, else every physical core (at most 64). */
export function threadCount(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.POCKETBENCH_THREADS?.trim();
  if (raw) {
    const n = Number(raw);
    if (Number.isInteger(n) && n >= 1 && n <= 64) return n;
  }
  return Math.min(64, physicalCores());
}

/** Every function the JS side calls: a stale build from an older source is refused, not half-used. */
const REQUIRED: (keyof NativeKernels)[] = ['conv2d', 'conv2dBackpropInput', 'conv2dBackpropFilter', 'depthwise', 'depthwiseBackpropInput',
  'depthwiseBackpropFilter', 'maxPool', 'maxPoolGrad', 'sumRows', 'addBias', 'matmul', 'adam', 'setThreads', 'failInPool',
  'addSame', 'clip', 'clipGrad', 'relu6Grad', 'meanMiddle', 'meanMiddleGrad', 'batchNorm', 'batchNormTrain', 'batchNormGrad', 'avgPool', 'avgPoolGrad', 'pad2d', 'slice4d', 'setWideVectors'];

let cached: NativeLoad | undefined;

export function loadNativeKernels(env: NodeJS.ProcessEnv = process.env): NativeLoad {
  if (cached) return cached;
  const wanted = env.POCKETBENCH_NATIVE_KERNELS?.trim();
  if (wanted === 'off' || wanted === '0') return (cached = { kernels: null, reason: 'native kernels turned off by POCKETBENCH_NATIVE_KERNELS' });
  const candidates = wanted ? [wanted] : addonCandidates();
  const file = candidates.find((p) => fs.existsSync(p));
  if (!file) {
    return (cached = { kernels: null, reason: 'the native kernel add-on is not built (no C++ compiler at build time?); run `npm run build:native` for faster training' });
  }
  try {
    const kernels = createRequire(import.meta.url)(file) as NativeKernels;
    const missing = REQUIRED.filter((name) => typeof kernels[name] !== 'function');
    if (missing.length) {
      return (cached = { kernels: null, path: file, reason: `the native kernel add-on is out of date (no ${missing.join(', ')}); run \`npm run build:native\`` });
    }
    kernels.setThreads(threadCount(env));
    return (cached = { kernels, path: file });
  } catch (err) {
    return (cached = { kernels: null, path: file, reason: `the native kernel add-on failed to load (${String((err as Error).message).split('\n')[0]})` });
  }
}
