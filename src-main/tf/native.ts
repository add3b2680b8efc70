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
  setThreads(n: number): number;
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

/** Threads for the kernels: POCKETBENCH_THREADS if set, else the available cores capped at 4. */
export function threadCount(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.POCKETBENCH_THREADS?.trim();
  if (raw) {
    const n = Number(raw);
    if (Number.isInteger(n) && n >= 1 && n <= 64) return n;
  }
  return Math.max(1, Math.min(4, os.availableParallelism()));
}

/** Every function the JS side calls: a stale build from an older source is refused, not half-used. */
const REQUIRED: (keyof NativeKernels)[] = ['conv2d', 'conv2dBackpropInput', 'conv2dBackpropFilter', 'depthwise', 'depthwiseBackpropInput',
  'depthwiseBackpropFilter', 'maxPool', 'maxPoolGrad', 'sumRows', 'addBias', 'matmul', 'adam', 'setThreads', 'failInPool'];

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
