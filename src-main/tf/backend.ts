/**
 * Picks the TensorFlow.js backend: tfjs-node (native libtensorflow) when it loads, otherwise the
 * wasm backend (SIMD), otherwise the pure-JS cpu backend. On wasm, the gradient kernels it lacks are
 * registered, and when the native kernel add-on is built (src-main/tf/native) its multithreaded
 * kernels replace wasm's heavy ones, and Adam's update runs as one fused kernel (fused-adam.ts);
 * on wasm, Conv2D and Dense layers with a ReLU train as one fused kernel each way (fused-layers.ts),
 * and so does the label cross-entropy (fused-loss.ts).
 * The backend is then reported as `wasm+native` with its threads. tfjs-node is an optional dependency:
 * its install downloads libtensorflow, which fails on machines without internet access.
 */
import type { BackendInfo } from '../../src-shared/types';
import { registerFusedAdamKernel } from './fused-adam';
import { installFusedLayerTraining } from './fused-layers';
import { registerFusedLossKernels } from './fused-loss';
import { registerLeanKernels } from './lean-kernels';
import { loadNativeKernels, threadCount } from './native';
import { registerNativeKernels } from './native-kernels';
import { installedTfjsVersions, tfjsVersionNotice } from './tfjs-version';
import { registerWasmGradKernels } from './wasm-grad-kernels';

type TF = typeof import('@tensorflow/tfjs-core');

let initPromise: Promise<{ tf: TF; info: BackendInfo }> | null = null;

export function initBackend(opts: { prefer?: 'tensorflow' | 'wasm' | 'cpu' } = {}): Promise<{ tf: TF; info: BackendInfo }> {
  initPromise ??= pick(opts.prefer ?? (process.env.POCKETBENCH_BACKEND as 'tensorflow' | 'wasm' | 'cpu' | undefined));
  return initPromise;
}

async function pick(prefer?: 'tensorflow' | 'wasm' | 'cpu'): Promise<{ tf: TF; info: BackendInfo }> {
  const tf = await import('@tensorflow/tfjs-core');
  const notes: string[] = [];
  if (!prefer || prefer === 'tensorflow') {
    try {
      // The package name is built at run time so bundlers never try to resolve the optional module.
      const name = ['@tensorflow', 'tfjs-node'].join('/');
      await import(/* @vite-ignore */ name);
      if (await tf.setBackend('tensorflow')) {
        return { tf, info: { name: 'tensorflow', threads: null } };
      }
    } catch (err) {
      const missing = (err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' || /Cannot find (package|module)/.test(String(err));
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
        registerFusedLossKernels();
        if (native.kernels) {
          registerNativeKernels(native.kernels);
          return { tf, info: { name: 'wasm+native', threads: threadCount(), note: notes.join('; ') || undefined } };
        }
        if (native.reason) notes.push(native.reason);
        const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? null : 1;
        return { tf, info: { name: 'wasm', threads, note: notes.join('; ') || undefined } };
      }
    } catch (err) {
      notes.push(`wasm backend failed to start (${firstLine(err)})`);
    }
  }
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  return { tf, info: { name: 'cpu', threads: 1, note: notes.join('; ') || undefined } };
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0].slice(0, 200);
}
