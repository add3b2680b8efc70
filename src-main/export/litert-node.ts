/**
 * LiteRT (the TFLite runtime compiled to WebAssembly, `@litertjs/core`) loaded in Node.
 *
 * The package is written for browsers: its loader runs the Emscripten glue with `importScripts` (or a
 * <script> tag) and picks the factory up from `self.ModuleFactory`. The glue itself is built with
 * Node support: when it sees Node it reads its `.wasm` next to itself with `fs`, given `require` and
 * `__dirname`. So the shim is only:
 *   - `self` = globalThis, for the loader;
 *   - an `importScripts` that evaluates the glue file with `require`, `__dirname`, `__filename` bound
 *     (an ES module has none of them) and publishes its `ModuleFactory` on `self`.
 * Model bytes are read here and passed as a Uint8Array, so the package's `fetch` path is never used.
 *
 * Node 20 has no relaxed SIMD, so the package picks its `compat` build there; Electron picks the
 * SIMD build. Both are single-threaded (we never ask for the threaded build: it needs workers).
 *
 * LiteRT.js tensors are float32, int32 or uint8 only; a model whose inputs or outputs are int8 cannot
 * be compiled by it (LiteRT.js rejects the tensor type), which is why exports meant to be checked here
 * take float I/O.
 */
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import vm from 'node:vm';
import type { CompiledModel, Tensor as LiteRtTensor } from '@litertjs/core';
import { AppError } from '../../src-shared/errors';

export type LiteRtDType = 'float32' | 'int32' | 'uint8';
export type LiteRtArray = Float32Array | Int32Array | Uint8Array;

export interface LiteRtTensorInfo {
  name: string;
  index: number;
  dtype: LiteRtDType;
  shape: number[];
}

export interface LiteRtInfo {
  /** Folder the wasm files were loaded from. */
  wasmDir: string;
  /** Which build the package chose (`litert_wasm_compat_internal.js` on Node 20). */
  build: string;
  loadMs: number;
}

export interface TfliteModel {
  readonly inputs: readonly LiteRtTensorInfo[];
  readonly outputs: readonly LiteRtTensorInfo[];
  /** Milliseconds spent loading and compiling the model (the runtime's "init"). */
  readonly initMs: number;
  /**
   * One inference. Inputs in model order, each a typed array of the input's dtype holding exactly the
   * input's element count. Returns one fresh typed array per output; nothing stays allocated in the
   * runtime between calls, so it can be called in a timing loop.
   */
  run(inputs: readonly LiteRtArray[]): Promise<LiteRtArray[]>;
  /** Frees the model in the runtime. Idempotent. */
  close(): void;
}

type LiteRtModule = typeof import('@litertjs/core');

let loading: Promise<{ lib: LiteRtModule; info: LiteRtInfo }> | null = null;

/**
 * The runtime logs INFO lines to stderr on every load. They are kept here instead (the last 200), and
 * the recent ERROR/WARNING lines are quoted when a model fails, where they explain why.
 * `POCKETBENCH_LITERT_LOG=1` also prints them.
 */
const runtimeLog: string[] = [];
/** Lines logged since the process started (the buffer keeps only the last 200). */
let linesLogged = 0;
/** Settles when the last queued run ends (runs are serialized, see `run`). */
let runQueue: Promise<void> = Promise.resolve();
function logLine(line: string): void {
  linesLogged++;
  runtimeLog.push(line);
  if (runtimeLog.length > 200) runtimeLog.shift();
  if (process.env.POCKETBENCH_LITERT_LOG === '1') process.stderr.write(`[litert] ${line}\n`);
}
/** The lines logged after `mark` (a `linesLogged` value), as far as the buffer still holds them. */
function loggedSince(mark: number): string[] {
  const n = Math.min(linesLogged - mark, runtimeLog.length);
  return n > 0 ? runtimeLog.slice(runtimeLog.length - n) : [];
}
/** Recent runtime log lines (oldest first). */
export function liteRtLog(): readonly string[] {
  return runtimeLog.slice();
}

// Not named `require`: the main bundle injects its own top-level `require` shim.
const requireHere = createRequire(import.meta.url);

/** Where the package's wasm files are. Inside a packaged app they are unpacked from the asar archive. */
export function liteRtWasmDir(): string {
  const override = process.env.POCKETBENCH_LITERT_WASM_DIR;
  if (override) return override;
  const dir = join(dirname(requireHere.resolve('@litertjs/core/package.json')), 'wasm');
  const unpacked = dir.replace(/app\.asar([\\/])/, 'app.asar.unpacked$1');
  return unpacked !== dir && existsSync(unpacked) ? unpacked : dir;
}

/** Loads the runtime once per process; later calls share the first load. */
export function loadLiteRt(): Promise<{ lib: LiteRtModule; info: LiteRtInfo }> {
  loading ??= doLoad().catch((err) => {
    loading = null;
    throw err;
  });
  return loading;
}

async function doLoad(): Promise<{ lib: LiteRtModule; info: LiteRtInfo }> {
  const started = performance.now();
  const wasmDir = liteRtWasmDir();
  const g = globalThis as Record<string, unknown>;
  g.self ??= globalThis;
  let build = '';
  const previousImportScripts = g.importScripts;
  g.importScripts = (url: string) => {
    const file = String(url);
    build = file.split(/[\\/]/).pop() ?? file;
    const source = readFileSync(file, 'utf8');
    const wrapped = `(function (require, __dirname, __filename) {\n${source}\nreturn ModuleFactory;\n})`;
    const fn = vm.runInThisContext(wrapped, { filename: file }) as (r: NodeJS.Require, d: string, f: string) => unknown;
    (globalThis as Record<string, unknown>).ModuleFactory = fn(createRequire(file), dirname(file), file);
  };
  const lib = await import('@litertjs/core');
  // The loader passes `self.Module` to the factory as its options, then clears it.
  g.Module = { print: logLine, printErr: logLine };
  // Node has no WebGPU; the runtime warns once while looking for it. That warning says nothing useful
  // here, so it is dropped (and only it) while loading.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('Failed to create default WebGPU device')) return;
    warn(...args);
  };
  try {
    await lib.loadLiteRt(wasmDir.endsWith('/') ? wasmDir : `${wasmDir}/`);
  } finally {
    console.warn = warn;
    delete g.Module;
    if (previousImportScripts === undefined) delete g.importScripts;
    else g.importScripts = previousImportScripts;
  }
  return { lib, info: { wasmDir, build, loadMs: performance.now() - started } };
}

/** Bytes of the runtime's WebAssembly heap (it grows, never shrinks): lets tests check for leaks. */
export async function liteRtHeapBytes(): Promise<number> {
  const { lib } = await loadLiteRt();
  return (lib.getGlobalLiteRt().liteRtWasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.byteLength;
}

/** Loads and compiles a `.tflite` (path or bytes) on the CPU (XNNPack) executor. */
export async function loadTfliteModel(pathOrBytes: string | Uint8Array): Promise<TfliteModel> {
  const { lib } = await loadLiteRt();
  const bytes = typeof pathOrBytes === 'string' ? new Uint8Array(readFileSync(pathOrBytes)) : pathOrBytes;
  const what = typeof pathOrBytes === 'string' ? pathOrBytes : 'the model';
  const started = performance.now();
  let compiled: CompiledModel;
  const logMark = linesLogged;
  try {
    compiled = await lib.loadAndCompile(bytes, { accelerator: 'wasm' });
  } catch (err) {
    const why = loggedSince(logMark).filter((l) => /^(ERROR|WARNING)/.test(l) && !l.includes('NPU accelerator'));
    throw new Error(`LiteRT could not load ${what}: ${errorText(err)}${why.length ? ` (${why.join('; ')})` : ''}`);
  }
  const initMs = performance.now() - started;
  const info = (d: { name: string; index: number; dtype: string; shape: Int32Array }): LiteRtTensorInfo => ({
    name: d.name,
    index: d.index,
    dtype: d.dtype as LiteRtDType,
    shape: Array.from(d.shape),
  });
  const inputs = compiled.getInputDetails().map(info);
  const outputs = compiled.getOutputDetails().map(info);
  const sizes = inputs.map((t) => t.shape.reduce((a, b) => a * b, 1));
  let closed = false;

  return {
    inputs,
    outputs,
    initMs,
    async run(values) {
      if (closed) throw new Error('This model was closed; load it again to run it.');
      if (values.length !== inputs.length) {
        throw new Error(`The model takes ${inputs.length} input(s), got ${values.length}.`);
      }
      // One LiteRT run at a time in this process: a run's error lines are read from the shared log by
      // position, so an interleaved run could be blamed for another's failure.
      const previous = runQueue;
      let release = () => {};
      runQueue = new Promise<void>((resolve) => (release = resolve));
      await previous;
      const made: LiteRtTensor[] = [];
      let results: LiteRtTensor[] = [];
      try {
        for (let i = 0; i < inputs.length; i++) {
          const v = values[i];
          const t = inputs[i];
          if (dtypeOf(v) !== t.dtype) {
            throw new Error(`Input ${i} (${t.name}) is ${t.dtype}, got a ${v.constructor.name}.`);
          }
          if (v.length !== sizes[i]) {
            throw new Error(`Input ${i} (${t.name}) has shape [${t.shape.join(', ')}] = ${sizes[i]} values, got ${v.length}.`);
          }
          // The typings want ArrayBuffer-backed arrays; the runtime copies the values either way.
          made.push(new lib.Tensor(v as Float32Array<ArrayBuffer>, t.shape));
        }
        const runMark = linesLogged;
        results = await compiled.run(made);
        // When an operator fails to prepare (XNNPack refusing its parameters), LiteRT.js logs
        // "Failed to allocate tensors" yet resolves with whatever its output buffers held.
        const failed = loggedSince(runMark).filter((l) => l.startsWith('ERROR'));
        const custom = failed.map((l) => /unresolved custom op: (.+?)\.?$/.exec(l)?.[1]).filter(Boolean);
        if (custom.length) {
          throw new AppError(
            'UNSUPPORTED',
            `${what} uses the custom operator ${[...new Set(custom)].map((c) => `"${c}"`).join(', ')}, which is not part of TFLite: LiteRT cannot run it, and neither can a phone's TFLite unless the app registers that operator. Convert the model with TFLite's builtin operators only.`,
            { ops: [...new Set(custom)] },
          );
        }
        if (failed.length) {
          throw new AppError(
            'UNSUPPORTED',
            `LiteRT could not run ${what}: ${failed.join('; ')}. An operator's quantization parameters were refused by the runtime (often a calibration range that collapsed to one value): export it again with this version, or calibrate on more or more varied samples.`,
          );
        }
        return results.map((r) => r.toTypedArray() as LiteRtArray);
      } finally {
        for (const t of made) t.delete();
        for (const r of results) r.delete();
        release();
      }
    },
    close() {
      if (closed) return;
      closed = true;
      compiled.delete();
    },
  };
}

function dtypeOf(v: LiteRtArray): LiteRtDType | 'other' {
  if (v instanceof Float32Array) return 'float32';
  if (v instanceof Int32Array) return 'int32';
  if (v instanceof Uint8Array) return 'uint8';
  return 'other';
}

function errorText(err: unknown): string {
  // Emscripten sometimes throws bare numbers (exception pointers) or strings.
  if (err instanceof Error) return err.message;
  return String(err);
}
