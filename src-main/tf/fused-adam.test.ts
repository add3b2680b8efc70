import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers'; // registers the gradients, as the app's training code does
import { beforeAll, describe, expect, it } from 'vitest';
import { createTrainStep, setLearningRate } from '../compress/train/step';
import { buildTemplate } from '../models';
import { FUSED_ADAM, FusedAdamOptimizer, registerFusedAdamKernel } from './fused-adam';
import { loadNativeKernels } from './native';
import { registerNativeKernels } from './native-kernels';
import { initTestBackends, onBackend, randomArray } from './test-helpers';

const native = loadNativeKernels(process.env);
if (!native.kernels) console.warn(`fused Adam: native arithmetic not tested (${native.reason}); the JavaScript one is`);

// Plain wasm first (its own XNNPACK kernels, which cache operators by filter data id); the native
// kernels, once registered, cannot be taken back, so the blocks that use them come after.
beforeAll(() => initTestBackends(null));

/** The arithmetic behind the fused kernel: the add-on's when it is built, and the JavaScript one. */
const variants: [string, () => void][] = [
  ...(native.kernels ? [['native', () => registerFusedAdamKernel(native.kernels)] as [string, () => void]] : []),
  ['javascript', () => registerFusedAdamKernel(null)],
];

const flat = (ts: tf.Tensor[]) => ts.map((t) => Array.from(t.dataSync()));

async function optimizerState(opt: tf.Optimizer): Promise<{ names: string[]; values: number[][] }> {
  const ws = await opt.getWeights();
  const out = { names: ws.map((w) => w.name.replace(/^.*?(\/[mv])?$/, 'slot$1')), values: flat(ws.map((w) => w.tensor)) };
  tf.dispose(ws.filter((w) => !(w.tensor instanceof tf.Variable)).map((w) => w.tensor));
  return out;
}

/**
 * Runs `steps` updates of `opt` on fresh variables with fixed pseudo-random gradients (the same on
 * every backend), changing the learning rate half-way; returns the variables and the optimizer state.
 */
async function runUpdates(backend: string, makeOpt: () => tf.Optimizer, shapes: number[][], steps: number) {
  const prev = tf.getBackend();
  await tf.setBackend(backend);
  try {
    const vars = shapes.map((s, i) => tf.tidy(() => tf.variable(tf.tensor(randomArray(s, 10 + i), s))));
    const opt = makeOpt();
    for (let t = 0; t < steps; t++) {
      if (t === Math.floor(steps / 2)) setLearningRate(opt, 0.003);
      const grads = Object.fromEntries(vars.map((v, i) => [v.name, tf.tensor(randomArray(v.shape, 100 * t + i), v.shape)]));
      opt.applyGradients(grads);
      tf.dispose(Object.values(grads));
    }
    const out = { weights: flat(vars), state: await optimizerState(opt) };
    opt.dispose();
    tf.dispose(vars);
    return out;
  } finally {
    await tf.setBackend(prev);
  }
}

describe('FusedAdamOptimizer: the update', () => {
  // Conv kernel, bias, dense kernel, and one large enough for the add-on to split it over threads.
  const shapes = [[3, 3, 2, 4], [4], [40, 8], [70_001]];

  it.each(variants)('gives bit for bit the weights and moments of tfjs Adam (%s arithmetic), LR change included', async (_name, register) => {
    register();
    const stock = await runUpdates('cpu', () => tf.train.adam(1e-3), shapes, 10);
    const fused = await runUpdates('wasm', () => new FusedAdamOptimizer(1e-3), shapes, 10);
    const stockWasm = await runUpdates('wasm', () => tf.train.adam(1e-3), shapes, 10);
    expect(fused.weights).toEqual(stock.weights);
    expect(fused.state).toEqual(stock.state);
    expect(stockWasm.weights).toEqual(stock.weights);
  });

  it('runs one kernel per step on wasm, and the stock chain on cpu', async () => {
    registerFusedAdamKernel(native.kernels);
    const kernelsOf = async (backend: string) =>
      onBackend(backend, () => {
        const v = tf.tidy(() => tf.variable(tf.tensor(randomArray([5, 3], 1), [5, 3])));
        const b = tf.tidy(() => tf.variable(tf.tensor(randomArray([3], 2), [3])));
        const opt = new FusedAdamOptimizer(0.01);
        const grads = { [v.name]: tf.onesLike(v), [b.name]: tf.onesLike(b) };
        opt.applyGradients(grads); // creates the moments
        const fused = opt.fused;
        return tf.profile(() => opt.applyGradients(grads)).then((p) => {
          tf.dispose([v, b, ...Object.values(grads)]);
          opt.dispose();
          return { fused, names: p.kernels.map((k) => k.name) };
        });
      });
    expect(await kernelsOf('wasm')).toEqual({ fused: true, names: [FUSED_ADAM] });
    const cpu = await kernelsOf('cpu');
    expect(cpu.fused).toBe(false);
    expect(cpu.names.length).toBeGreaterThan(20);
  });

  it('never writes into a buffer another tensor shares', () => {
    registerFusedAdamKernel(native.kernels);
    onBackend('wasm', () => {
      const kept = tf.tensor([1, 2, 3, 4]);
      const v = tf.tidy(() => tf.variable(tf.zeros([4])));
      v.assign(kept); // v and kept now share one buffer
      const opt = new FusedAdamOptimizer(0.1);
      const g = tf.ones([4]);
      opt.applyGradients({ [v.name]: g });
      expect(Array.from(kept.dataSync())).toEqual([1, 2, 3, 4]);
      expect(Array.from(v.dataSync()).every((x, i) => x < i + 1)).toBe(true);
      tf.dispose([kept, v, g]);
      opt.dispose();
    });
  });

  it('keeps the tensor count flat and frees its slots on dispose', () => {
    registerFusedAdamKernel(native.kernels);
    onBackend('wasm', () => {
      const start = tf.memory().numTensors;
      const v = tf.tidy(() => tf.variable(tf.tensor(randomArray([6, 2], 3), [6, 2])));
      const opt = new FusedAdamOptimizer(0.01);
      const g = tf.onesLike(v);
      opt.applyGradients({ [v.name]: g });
      const after1 = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) opt.applyGradients({ [v.name]: g });
      expect(tf.memory().numTensors).toBe(after1);
      opt.dispose();
      tf.dispose([v, g]);
      expect(tf.memory().numTensors).toBe(start);
    });
  });
});

type ModelSpec = Parameters<typeof buildTemplate>[0];
const mlpSpec: ModelSpec = { template: 'mlp', inputShape: [6], numClasses: 3, seed: 4, hidden: [16, 8] };
const cnnSpec: ModelSpec = { template: 'lenet', inputShape: [12, 12, 1], numClasses: 4, seed: 5, width: 0.25 };

/** Steps `from` … `to − 1` on seeded batches of 8 (batch i is the same on every backend). */
function trainSteps(step: ReturnType<typeof createTrainStep>, spec: ModelSpec, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const xs = tf.tensor(randomArray([8, ...spec.inputShape], i), [8, ...spec.inputShape]);
    const ys = tf.tensor1d(Array.from({ length: 8 }, (_, j) => (i + j) % spec.numClasses), 'int32');
    step(xs, ys);
    tf.dispose([xs, ys]);
  }
}

/** Trains a fresh model `steps` steps through createTrainStep; returns its weights. */
function train(backend: string, spec: ModelSpec, makeOpt: () => tf.Optimizer, steps: number): number[][] {
  return onBackend(backend, () => {
    const model = buildTemplate(spec);
    const opt = makeOpt();
    trainSteps(createTrainStep(model, opt), spec, 0, steps);
    const weights = flat(model.getWeights());
    opt.dispose();
    model.dispose();
    return weights;
  });
}

const maxAbsDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((w, i) => w.map((x, j) => Math.abs(x - b[i][j]))));

const models = [['MLP', mlpSpec], ['CNN', cnnSpec]] as const;

function trainsLikeStock(spec: ModelSpec): void {
  const reference = train('cpu', spec, () => tf.train.adam(1e-3), 10);
  const fused = train('wasm', spec, () => new FusedAdamOptimizer(1e-3), 10);
  const stockWasm = train('wasm', spec, () => tf.train.adam(1e-3), 10);
  expect(maxAbsDiff(fused, reference)).toBeLessThanOrEqual(1e-5);
  expect(fused).toEqual(stockWasm);
  // It did train: the weights moved.
  const initial = onBackend('wasm', () => { const m = buildTemplate(spec); const w = flat(m.getWeights()); m.dispose(); return w; });
  expect(maxAbsDiff(fused, initial)).toBeGreaterThan(1e-4);
}

describe('FusedAdamOptimizer on plain wasm (XNNPACK conv and matmul, JavaScript arithmetic)', () => {
  it.each(models)('%s: 10 steps match tfjs Adam on cpu within 1e-5, and on wasm exactly', (_name, spec) => {
    registerFusedAdamKernel(null);
    trainsLikeStock(spec);
  });
});

describe.skipIf(!native.kernels)('FusedAdamOptimizer with the native kernels: training', () => {
  beforeAll(() => {
    if (native.kernels) registerNativeKernels(native.kernels);
  });

  it.each(models)('%s: 10 steps on wasm match tfjs Adam on cpu within 1e-5, and on wasm exactly', (_name, spec) => {
    registerFusedAdamKernel(native.kernels);
    trainsLikeStock(spec);
  });

  it('resumes from its own checkpoint and from one of tfjs Adam with the same continuation', async () => {
    registerFusedAdamKernel(native.kernels);
    const prev = tf.getBackend();
    await tf.setBackend('wasm');
    try {
      /** 4 steps, save the optimizer, load it into `resumed()` (or keep it when null), 4 more steps. */
      const run = async (first: () => tf.Optimizer, resumed: (() => tf.Optimizer) | null) => {
        const model = buildTemplate(cnnSpec);
        let opt = first();
        let step = createTrainStep(model, opt);
        trainSteps(step, cnnSpec, 0, 4);
        if (resumed) {
          // Save and load through plain arrays, as the checkpoint file does.
          const saved = (await opt.getWeights()).map((w) => ({ name: w.name, shape: w.tensor.shape, values: Float32Array.from(w.tensor.dataSync()) }));
          opt.dispose();
          opt = resumed();
          const tensors = saved.map((s) => ({ name: s.name, tensor: tf.tensor(s.values, s.shape) }));
          await opt.setWeights(tensors);
          tf.dispose(tensors.map((t) => t.tensor));
          step = createTrainStep(model, opt);
        }
        trainSteps(step, cnnSpec, 4, 8);
        const weights = flat(model.getWeights());
        opt.dispose();
        model.dispose();
        return weights;
      };
      const fused = () => new FusedAdamOptimizer(1e-3);
      const stock = () => tf.train.adam(1e-3);
      const straight = await run(stock, null);
      expect(await run(fused, null)).toEqual(straight);
      expect(await run(stock, stock)).toEqual(straight);
      expect(await run(fused, fused)).toEqual(straight);
      expect(await run(stock, fused)).toEqual(straight);
      expect(await run(fused, stock)).toEqual(straight);
    } finally {
      await tf.setBackend(prev);
    }
  });
});
