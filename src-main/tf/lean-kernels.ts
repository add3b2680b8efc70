/**
 * Less per-step bookkeeping for training on the wasm backend (with or without the native add-on),
 * with the same results as the stock kernels, bit for bit:
 * - Identity and same-dtype Cast share their input's buffer (one more reference, as wasm's own
 *   Reshape does) instead of copying it. The engine clones every tensor it saves for the backward
 *   pass (Engine.saveTensorsForBackwardMode → clone → Identity: ~40 per LeNet step) and tfjs
 *   gradients cast float32 to float32. Sharing is safe because nothing writes a wasm buffer that
 *   another tensor may hold: kernels write only the outputs they allocate, and the fused Adam, which
 *   updates its moments in place, first gives each moment a buffer of its own when the reference
 *   count says it is shared (fused-adam.ts, ownBuffer).
 * - Relu's gradient, dy · float32(step(x)) in tfjs (Step, Cast, Multiply: three kernels, three passes
 *   over the activation), is one kernel, `PocketBenchReluGrad`, doing the same float32 product in
 *   one pass (WebAssembly SIMD over the backend's memory; a JavaScript loop where that cannot load).
 *   The gradient is registered globally (tfjs has one registry): on other backends, or for tensors
 *   that are not float32, it runs tfjs' formula.
 * `POCKETBENCH_LEAN_KERNELS=off` keeps the stock kernels (for comparisons).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { GradConfig, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

export const RELU_GRAD = 'PocketBenchReluGrad';

interface Args {
  inputs: Record<string, TensorInfo>;
  backend: BackendWasm;
  attrs: NamedAttrMap;
}
type Impl = (args: Args, stock: KernelFunc) => TensorInfo | TensorInfo[];

/** Another reference to `x`'s buffer, handed to the engine as a kernel output. */
function share(backend: BackendWasm, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

const overrides: Record<string, Impl> = {
  [tf.Identity]: (args, stock) => (args.inputs.x.dtype === 'string' ? stock(args as never) : share(args.backend, args.inputs.x)),
  [tf.Cast]: (args, stock) => {
    const { x } = args.inputs;
    return x.dtype !== 'string' && x.dtype === args.attrs.dtype ? share(args.backend, x) : stock(args as never);
  },
};

/**
 * dy · step(x) in float32, as tfjs' Relu gradient computes it: step is 1 where x > 0, NaN where x is
 * NaN, else 0 (so a negative dy gives −0 and an infinite one NaN there, as the product does). The
 * product of two float32 values is exact in double, so storing it rounds as float32 arithmetic does.
 */
export function reluGradJs(dy: Float32Array, x: Float32Array, out: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    out[i] = dy[i] * (v > 0 ? 1 : v === v ? 0 : NaN);
  }
}

/**
 * The same product four lanes at a time, as a WebAssembly SIMD function over the wasm backend's own
 * memory (imported, so tensors are read and written where they are): a plain JavaScript loop runs at
 * a few ns per element, several times slower than the Step and Multiply kernels it replaces.
 *
 *   (func (export "reluGrad") (param $dy i32) (param $x i32) (param $out i32) (param $bytes i32)
 *     (local $i i32) (local $vx v128)
 *     (block (br_if 0 (i32.eqz (local.get $bytes)))
 *       (loop
 *         (v128.store (i32.add (local.get $out) (local.get $i))
 *           (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $i)))
 *             (v128.or
 *               (v128.and (f32x4.gt (local.tee $vx (v128.load (i32.add (local.get $x) (local.get $i)))) (f32x4 0))
 *                         (f32x4 1))
 *               (v128.and (f32x4.ne (local.get $vx) (local.get $vx)) (i32x4 0x7fc00000)))))
 *         (br_if 0 (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (local.get $bytes))))))
 *
 * `$bytes` is a positive multiple of 16; the tail is done in JavaScript. The bytes below are what
 * wabt's wat2wasm makes of it (with `(import "env" "memory" (memory 1))`), instruction by instruction.
 */
const RELU_GRAD_WASM = [
  '0061736d 01000000', // magic, version 1
  '01 08 01 60 04 7f7f7f7f 00', // types: (i32 i32 i32 i32) -> ()
  '02 0f 01 03 656e76 06 6d656d6f7279 02 00 01', // import env.memory, at least 1 page
  '03 02 01 00', // function 0 has type 0
  '07 0c 01 08 72656c7547726164 00 00', // export "reluGrad" = function 0
  '0a 8401 01 8101 02 017f 017b', // code: one body; locals $i i32, $vx v128
  '0240 2003 45 0d00', // block; leave if $bytes == 0
  '0340', // loop
  '2002 2004 6a', // $out + $i (store address)
  '2000 2004 6a fd000200', // v128.load $dy + $i
  '2001 2004 6a fd000200 2205', // v128.load $x + $i, tee $vx
  'fd0c 00000000000000000000000000000000 fd44', // $vx > 0 (lane masks)
  'fd0c 0000803f0000803f0000803f0000803f fd4e', // and 1.0
  '2005 2005 fd42', // $vx != $vx (NaN lanes)
  'fd0c 0000c07f0000c07f0000c07f0000c07f fd4e', // and NaN
  'fd50 fde601', // or: step(x); f32x4.mul dy · step
  'fd0b0200', // v128.store
  '2004 4110 6a 2204 2003 49 0d00', // $i += 16; again while $i < $bytes
  '0b 0b 0b', // end loop, block, function
].join('').replace(/ /g, '');

type ReluGradSimd = (dy: number, x: number, out: number, bytes: number) => void;

/** The WebAssembly API (the main process' TypeScript lib declares its types only). */
interface WasmApi {
  Memory: abstract new (...args: never[]) => object;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
const simdByMemory = new WeakMap<object, ReluGradSimd | null>();

/** The SIMD function bound to `backend`'s memory, or null where it cannot be (no SIMD, shared memory). */
function reluGradSimd(backend: BackendWasm): ReluGradSimd | null {
  const memory = (backend.wasm as unknown as { asm?: { memory?: object } }).asm?.memory;
  if (!(memory instanceof wasmApi.Memory)) return null;
  let fn = simdByMemory.get(memory);
  if (fn === undefined) {
    try {
      const module = new wasmApi.Module(Buffer.from(RELU_GRAD_WASM, 'hex'));
      fn = new wasmApi.Instance(module, { env: { memory } }).exports.reluGrad as ReluGradSimd;
    } catch {
      fn = null;
    }
    simdByMemory.set(memory, fn);
  }
  return fn;
}

/** Whether PocketBenchReluGrad runs as WebAssembly SIMD on this backend (else as a JavaScript loop). */
export function reluGradIsSimd(backend: BackendWasm): boolean {
  return reluGradSimd(backend) !== null;
}

function reluGradKernel({ inputs: { dy, x }, backend }: Args): TensorInfo {
  const out = backend.makeOutput(x.shape, 'float32');
  // Views after makeOutput: an allocation may grow the heap and detach older views.
  const d = backend.typedArrayFromHeap(dy) as Float32Array;
  const v = backend.typedArrayFromHeap(x) as Float32Array;
  const o = backend.typedArrayFromHeap(out) as Float32Array;
  const simd = reluGradSimd(backend);
  const head = simd ? v.length - (v.length % 4) : 0;
  if (simd && head > 0) simd(d.byteOffset, v.byteOffset, o.byteOffset, head * 4);
  reluGradJs(d.subarray(head), v.subarray(head), o.subarray(head));
  return out;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * tfjs' Relu gradient dy · step(x), as one kernel where it can be. Also right with the ReLU's output
 * in place of x (step(relu(x)) = step(x), NaN included): fused-layers.ts passes the saved output.
 */
export function reluGradient(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (tf.getBackend() === 'wasm' && tf.getKernel(RELU_GRAD, 'wasm') && dy.dtype === 'float32' && x.dtype === 'float32' && sameShape(dy.shape, x.shape)) {
    return tf.engine().runKernel(RELU_GRAD, { dy, x }) as tf.Tensor;
  }
  return tf.mul(dy, tf.cast(tf.step(x), 'float32'));
}

const reluGradConfig: GradConfig = {
  kernelName: tf.Relu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    return { x: () => reluGradient(dy as tf.Tensor, x) };
  },
};

/** The wasm kernels and the Relu gradient as they were before ours, for unregisterLeanKernels. */
const stockKernels = new Map<string, KernelConfig>();
let stockReluGrad: GradConfig | null = null;

/**
 * Registers the lean kernels over wasm's (idempotent) and the one-kernel Relu gradient, unless
 * `POCKETBENCH_LEAN_KERNELS=off`. Call with wasm initialised; tfjs-layers is imported first, as its
 * import registers tfjs' gradients, which would otherwise replace ours. Returns whether it registered.
 */
export async function registerLeanKernels(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (env.POCKETBENCH_LEAN_KERNELS === 'off') return false;
  await import('@tensorflow/tfjs-layers');
  for (const [name, impl] of Object.entries(overrides)) {
    const current = tf.getKernel(name, 'wasm');
    if (!current) throw new Error(`kernel ${name} is not registered for wasm; initialise the wasm backend first`);
    if (!stockKernels.has(name)) stockKernels.set(name, current);
    const stock = stockKernels.get(name)!;
    const kernelFunc = ((args: Args) => impl(args, stock.kernelFunc)) as unknown as KernelFunc;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...stock, kernelFunc });
  }
  if (!tf.getKernel(RELU_GRAD, 'wasm')) tf.registerKernel({ kernelName: RELU_GRAD, backendName: 'wasm', kernelFunc: reluGradKernel as unknown as KernelFunc });
  const grad = tf.getGradient(tf.Relu);
  if (grad !== reluGradConfig) stockReluGrad = grad ?? null;
  tf.registerGradient(reluGradConfig);
  return true;
}

/** Puts tfjs' own kernels and Relu gradient back (comparisons and tests). */
export function unregisterLeanKernels(): void {
  for (const [name, stock] of stockKernels) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(stock);
  }
  stockKernels.clear();
  if (tf.getKernel(RELU_GRAD, 'wasm')) tf.unregisterKernel(RELU_GRAD, 'wasm');
  if (stockReluGrad) tf.registerGradient(stockReluGrad);
  stockReluGrad = null;
}
