/**
 * Picks the TensorFlow.js backend: tfjs-node (native libtensorflow) when it loads, otherwise the
 * wasm backend (SIMD), otherwise the pure-JS cpu backend. On wasm, the gradient kernels it lacks are
 * registered, and when the native kernel add-on is built (src-main/tf/native) its multithreaded
 * kernels replace wasm's heavy ones, and Adam's update runs as one fused kernel (fused-adam.ts);
 * on wasm, Conv2D and Dense layers with a ReLU train as one fused kernel each way (fused-layers.ts),
 * BatchNormalization and ReLU6 layers as one taped op each (fused-norm.ts), and so does the label
 * cross-entropy (fused-loss.ts).
 * The backend is then reported as `wasm+native` with its threads. tfjs-node is an optional dependency:
 * its install downloads libtensorflow, which fails on machines without internet access; where it
 * loads, it is used only when a timed probe finds it faster for the model (backend-choice.ts).
 */
import type { BackendInfo } from '../../src-shared/types';
import { registerFusedAdamKernel } from './fused-adam';
import { installFusedLayerTraining } from './fused-layers';
import { registerFusedLossKernels } from './fused-loss';
import { installFusedNormTraining } from './fused-norm';
import { registerLeanKernels } from './lean-kernels';
import { loadNativeKernels, threadCount } from './native';
import { registerNativeKernels } from './native-kernels';
import { registerNativeTraining } from './native-training';
import { installedTfjsVersions, tfjsVersionNotice } from './tfjs-version';
import { registerWasmGradKernels } from './wasm-grad-kernels';

type TF = typeof import('@tensorflow/tfjs-core');

let initPromise: Promise<{ tf: TF; info: BackendInfo }> | null = null;
let tfjsNode: { ok: true; version: string } | { ok: false; why: string } = { ok: false, why: 'tfjs-node was not tried' };
/** The wasm backend's info once it started (what a probe compares tfjs-node with). */
let wasmInfo: BackendInfo | null = null;

/**
 * Load the backends and make one active. When tfjs-node loads too, wasm stays the active one
 * until `chooseBackendFor` (compress/train/backend-probe.ts) has timed the run's model on both;
 * `POCKETBENCH_BACKEND=tensorflow` makes tfjs-node active at once, without a probe.
 */
export function initBackend(opts: { prefer?: 'tensorflow' | 'wasm' | 'cpu' } = {}): Promise<{ tf: TF; info: BackendInfo }> {
  initPromise ??= pick(opts.prefer ?? (process.env.POCKETBENCH_BACKEND as 'tensorflow' | 'wasm' | 'cpu' | undefined));
  return initPromise;
}

/** Whether tfjs-node loaded in this process (its version), or why not. */
export function tfjsNodeState(): typeof tfjsNode {
  return tfjsNode;
}

/** Make `name` the active backend ('tensorflow', 'wasm+native', 'wasm'); returns its info. */
export async function useBackend(name: string): Promise<BackendInfo> {
  const { tf } = await initBackend();
  if (name === 'tensorflow') {
    if (!tfjsNode.ok || !(await tf.setBackend('tensorflow'))) throw new Error('tfjs-node is not loaded in this process');
    return { name: 'tensorflow', threads: null };
  }
  if (!wasmInfo || !(await tf.setBackend('wasm'))) throw new Error('the wasm backend is not loaded in this process');
  return { ...wasmInfo };
}

async function pick(prefer?: 'tensorflow' | 'wasm' | 'cpu'): Promise<{ tf: TF; info: BackendInfo }> {
  const tf = await import('@tensorflow/tfjs-core');
  const notes: string[] = [];
  if (!prefer || prefer === 'tensorflow') {
    try {
      // The package name is built at run time so bundlers never try to resolve the optional module.
      const name = ['@tensorflow', 'tfjs-node'].join('/');
      const mod = (await import(/* @vite-ignore */ name)) as { version?: { 'tfjs-node'?: string } };
      tfjsNode = { ok: true, version: mod.version?.['tfjs-node'] ?? 'unknown' };
      if (prefer === 'tensorflow' && (await tf.setBackend('tensorflow'))) {
        return { tf, info: { name: 'tensorflow', threads: null, reason: 'POCKETBENCH_BACKEND=tensorflow chooses it' } };
      }
    } catch (err) {
      const missing = (err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' || /Cannot find (package|module)/.test(String(err));
      tfjsNode = { ok: false, why: missing ? 'tfjs-node is not installed' : `tfjs-node failed to load (${firstLine(err)})` };
      notes.push(
        missing
          ? 'tfjs-node is not installed (its install needs internet access to fetch libtensorflow); run `npm install @tensorflow/tfjs-node` online for native speed'
          : `tfjs-node failed to load (${firstLine(err)})`,
      );
    }
  }
  if (!prefer || prefer === 'wasm' || prefer === 'tensorflow') {
    try {
      await import('@tensorflow/tfjs-backend-wasm');
      if (await tf.setBackend('wasm')) {
        registerWasmGradKernels();
        // The kernels below patch tfjs internals of one exact release; another runs unpatched.
        const versionNotice = tfjsVersionNotice(await installedTfjsVersions());
        if (versionNotice) {
          notes.push(versionNotice);
          return { tf, info: { name: 'wasm', threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? null : 1, note: notes.join('; ') } };
        }
        await registerLeanKernels();
        const native = loadNativeKernels();
        registerFusedAdamKernel(native.kernels);
        installFusedLayerTraining();
        installFusedNormTraining();
        registerFusedLossKernels();
        const why = tfjsNode.ok ? 'tfjs-node is installed too: a short timed probe picks the faster one per model' : tfjsNode.why;
        if (native.kernels) {
          registerNativeKernels(native.kernels);
          registerNativeTraining(native.kernels);
          wasmInfo = { name: 'wasm+native', threads: threadCount(), note: notes.join('; ') || undefined, reason: why };
          return { tf, info: { ...wasmInfo } };
        }
        if (native.reason) notes.push(native.reason);
        const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? null : 1;
        wasmInfo = { name: 'wasm', threads, note: notes.join('; ') || undefined, reason: why };
        return { tf, info: { ...wasmInfo } };
      }
    } catch (err) {
      notes.push(`wasm backend failed to start (${firstLine(err)})`);
    }
  }
  if (tfjsNode.ok && (await tf.setBackend('tensorflow'))) {
    return { tf, info: { name: 'tensorflow', threads: null, note: notes.join('; ') || undefined, reason: 'the wasm backend did not start' } };
  }
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  return { tf, info: { name: 'cpu', threads: 1, note: notes.join('; ') || undefined, reason: prefer === 'cpu' ? 'POCKETBENCH_BACKEND=cpu chooses it' : 'no faster backend started' } };
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0].slice(0, 200);
}
