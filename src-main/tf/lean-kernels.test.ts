import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers'; // registers the gradients, as the app's training code does
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer, createTrainStep } from '../compress/train/step';
import { buildTemplate } from '../models';
import { FusedAdamOptimizer, registerFusedAdamKernel } from './fused-adam';
import { RELU_GRAD, registerLeanKernels, reluGradIsSimd, reluGradJs, unregisterLeanKernels } from './lean-kernels';
import { loadNativeKernels } from './native';
import { registerNativeKernels } from './native-kernels';
import { initTestBackends, onBackend, randomArray } from './test-helpers';

const native = loadNativeKernels(process.env);

// Plain wasm first; the native kernels, once registered, cannot be taken back, so they come last.
beforeAll(async () => {
  await initTestBackends(null);
  registerFusedAdamKernel(null);
  await registerLeanKernels({});
});

/** The float32 values' bit patterns, so that −0 ≠ +0 and every NaN is compared by its bits. */
const bits = (t: tf.Tensor | Float32Array) => Array.from(new Uint32Array(Float32Array.from(t instanceof tf.Tensor ? t.dataSync() : t).buffer));

/** Edge values for x and dy (zeros of both signs, infinities, NaN, denormals), then seeded ones. */
function reluInputs(n: number): { x: Float32Array; dy: Float32Array } {
  const edges = [0, -0, 1, -1, Infinity, -Infinity, NaN, 1e-45, -1e-45, 3.5, -2.25];
  const x = randomArray([n], 7);
  const dy = randomArray([n], 8);
  for (let i = 0; i < Math.min(n, edges.length * edges.length); i++) {
    x[i] = edges[i % edges.length];
    dy[i] = edges[Math.floor(i / edges.length) % edges.length];
  }
  return { x, dy };
}

/** tfjs' own Relu gradient formula on the active backend. */
function stockReluGrad(x: Float32Array, dy: Float32Array): Float32Array {
  return tf.tidy(() => tf.mul(tf.tensor(dy), tf.cast(tf.step(tf.tensor(x)), 'float32')).dataSync() as Float32Array);
}

describe('PocketBenchReluGrad', () => {
  it.each([1, 3, 4, 7, 121, 1000, 4099])('gives the bits of tfjs Relu gradient (Step, Cast, Multiply) on wasm, %i elements', (n) => {
    const { x, dy } = reluInputs(n);
    onBackend('wasm', () => {
      expect(reluGradIsSimd(tf.backend() as BackendWasm)).toBe(true);
      const want = stockReluGrad(x, dy);
      const got = tf.tidy(() => (tf.engine().runKernel(RELU_GRAD, { dy: tf.tensor(dy), x: tf.tensor(x) }) as tf.Tensor).dataSync() as Float32Array);
      expect(bits(got)).toEqual(bits(want));
      const js = new Float32Array(n);
      reluGradJs(dy, x, js);
      expect(bits(js)).toEqual(bits(want));
      if (n >= 121) {
        // The edge grid is all there: the comparison covered −0 and NaN results.
        expect(Array.from(want).some((v) => Object.is(v, -0))).toBe(true);
        expect(Array.from(want).some((v) => Number.isNaN(v))).toBe(true);
      }
    });
  });

  it('is what tf.grad of relu runs on wasm (one kernel), while cpu keeps the stock chain with the same values', async () => {
    const { x, dy } = reluInputs(500);
    const grad = (backend: string) =>
      onBackend(backend, () => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.relu(t))(tf.tensor(x), tf.tensor(dy)).dataSync() as Float32Array));
    expect(bits(grad('wasm'))).toEqual(bits(grad('cpu')));
    const kernelsOf = (backend: string) =>
      onBackend(backend, () => {
        const xt = tf.tensor(x);
        const dyt = tf.tensor(dy);
        return tf.profile(() => tf.grad((t: tf.Tensor) => tf.relu(t))(xt, dyt)).then((p) => {
          tf.dispose([xt, dyt]);
          return p.kernels.map((k) => k.name);
        });
      });
    const wasm = await kernelsOf('wasm');
    expect(wasm).toContain(RELU_GRAD);
    expect(wasm).not.toContain('Step');
    expect(await kernelsOf('cpu')).toEqual(expect.arrayContaining(['Step', 'Multiply']));
  });
});

describe('Identity and same-dtype Cast share the buffer on wasm', () => {
  const refCount = (t: tf.Tensor) => (tf.backend() as BackendWasm).refCount(t.dataId);

  it('tf.clone and a float32 → float32 cast share; other casts and string clones still convert and copy', () => {
    onBackend('wasm', () => {
      const a = tf.tensor([1.5, -2, 3]);
      const c = tf.clone(a);
      const f = tf.cast(a, 'float32');
      expect(c.dataId).toBe(a.dataId);
      expect(f.dataId).toBe(a.dataId);
      expect(refCount(a)).toBe(3);
      const i = tf.cast(a, 'int32');
      expect(i.dataId).not.toBe(a.dataId);
      expect(Array.from(i.dataSync())).toEqual([1, -2, 3]);
      const n = tf.tensor([7, -1], undefined, 'int32');
      const nf = tf.cast(n, 'float32');
      expect(nf.dataId).not.toBe(n.dataId);
      expect(nf.dtype).toBe('float32');
      expect(Array.from(nf.dataSync())).toEqual([7, -1]);
      tf.dispose([n, nf]);
      const s = tf.tensor(['a', 'bc']);
      expect(tf.clone(s).dataSync()).toEqual(s.dataSync());
      tf.dispose([a, f, i, s]);
      // The clone outlives its source with its values.
      expect(Array.from(c.dataSync())).toEqual([1.5, -2, 3]);
      expect(refCount(c)).toBe(1);
      c.dispose();
    });
  });

  it('a clone of a variable keeps its values when the variable is assigned or updated by Adam', () => {
    onBackend('wasm', () => {
      const v = tf.variable(tf.tensor([1, 2, 3, 4]));
      const before = tf.clone(v);
      v.assign(tf.tensor([5, 6, 7, 8]));
      expect(Array.from(before.dataSync())).toEqual([1, 2, 3, 4]);
      const kept = tf.clone(v);
      const opt = new FusedAdamOptimizer(0.1);
      const g = tf.ones([4]);
      opt.applyGradients({ [v.name]: g });
      expect(Array.from(kept.dataSync())).toEqual([5, 6, 7, 8]);
      expect(Array.from(v.dataSync()).every((x, i) => x < i + 5)).toBe(true);
      tf.dispose([v, before, kept, g]);
      opt.dispose();
    });
  });

  it('a clone of an Adam moment is not changed by the next step (the moments are updated in place)', async () => {
    const prev = tf.getBackend();
    await tf.setBackend('wasm');
    try {
      const v = tf.variable(tf.tensor(randomArray([6], 1)));
      const opt = new FusedAdamOptimizer(0.01);
      const g = tf.tensor(randomArray([6], 2));
      opt.applyGradients({ [v.name]: g });
      const moment = (await opt.getWeights()).find((w) => w.name.endsWith('/m'))!.tensor as tf.Variable;
      const clone = tf.clone(moment);
      expect(clone.dataId).toBe(moment.dataId);
      const was = bits(clone);
      opt.applyGradients({ [v.name]: g });
      expect(bits(clone)).toEqual(was);
      const now = (await opt.getWeights()).find((w) => w.name.endsWith('/m'))!.tensor;
      expect(bits(now)).not.toEqual(was);
      tf.dispose([v, g, clone]);
      opt.dispose();
    } finally {
      await tf.setBackend(prev);
    }
  });
});

type ModelSpec = Parameters<typeof buildTemplate>[0];
const cnnSpec: ModelSpec = { template: 'lenet', inputShape: [12, 12, 1], numClasses: 4, seed: 5, width: 0.25 };
const mlpSpec: ModelSpec = { template: 'mlp', inputShape: [6], numClasses: 3, seed: 4, hidden: [16, 8] };

/** Trains a fresh seeded model `steps` Adam steps on seeded batches of 8; returns the weights' bits. */
function train(spec: ModelSpec, steps: number, onStep?: (i: number) => void): number[][] {
  return onBackend('wasm', () => {
    const model = buildTemplate(spec);
    const opt = createOptimizer('adam', 1e-3);
    const step = createTrainStep(model, opt);
    for (let i = 0; i < steps; i++) {
      const xs = tf.tensor(randomArray([8, ...spec.inputShape], i), [8, ...spec.inputShape]);
      const ys = tf.tensor1d(Array.from({ length: 8 }, (_, j) => (i + j) % spec.numClasses), 'int32');
      step(xs, ys);
      tf.dispose([xs, ys]);
      onStep?.(i);
    }
    const weights = model.getWeights().map((w) => bits(w));
    opt.dispose();
    model.dispose();
    return weights;
  });
}

async function trainsLikeStock(spec: ModelSpec): Promise<void> {
  const lean = train(spec, 10);
  unregisterLeanKernels();
  try {
    expect(tf.getKernel(RELU_GRAD, 'wasm')).toBeUndefined();
    const stock = train(spec, 10);
    expect(lean).toEqual(stock);
    const initial = onBackend('wasm', () => {
      const m = buildTemplate(spec);
      const w = m.getWeights().map((t) => bits(t));
      m.dispose();
      return w;
    });
    expect(lean).not.toEqual(initial);
  } finally {
    await registerLeanKernels({});
  }
}

describe('training with the lean kernels', () => {
  it.each([['CNN', cnnSpec], ['MLP', mlpSpec]] as const)('%s: weights after 10 Adam steps are bit-identical to the stock kernels on plain wasm', async (_n, spec) => {
    await trainsLikeStock(spec);
  });

  it('leaks no tensor and no byte over 20 steps', () => {
    let after1: { numTensors: number; numBytes: number; numDataBuffers: number } | null = null;
    const counts: string[] = [];
    train(cnnSpec, 20, (i) => {
      const m = tf.memory() as tf.MemoryInfo & { numDataBuffers: number };
      const now = { numTensors: m.numTensors, numBytes: m.numBytes, numDataBuffers: m.numDataBuffers };
      if (i === 0) after1 = now;
      else counts.push(JSON.stringify(now));
    });
    expect(new Set(counts)).toEqual(new Set([JSON.stringify(after1)]));
  });

  it('POCKETBENCH_LEAN_KERNELS=off registers nothing', async () => {
    unregisterLeanKernels();
    try {
      expect(await registerLeanKernels({ POCKETBENCH_LEAN_KERNELS: 'off' })).toBe(false);
      expect(tf.getKernel(RELU_GRAD, 'wasm')).toBeUndefined();
    } finally {
      expect(await registerLeanKernels({})).toBe(true);
    }
  });

  describe.skipIf(!native.kernels)('with the native kernels', () => {
    beforeAll(() => {
      if (native.kernels) {
        registerNativeKernels(native.kernels);
        registerFusedAdamKernel(native.kernels);
      }
    });
    it.each([['CNN', cnnSpec], ['MLP', mlpSpec]] as const)('%s: weights after 10 Adam steps are bit-identical to the stock kernels', async (_n, spec) => {
      await trainsLikeStock(spec);
    });
  });
});
