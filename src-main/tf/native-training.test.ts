/**
 * The native training kernels (native-training.ts) against tfjs' cpu backend, forward and backward:
 * BatchNormalization in training (through the patched layer: output, dx, dgamma, dbeta, moving
 * statistics) and in inference (FusedBatchNorm), ReLU6 (layer and op) and ClipByValue gradients,
 * global average pooling (Mean over H, W) and its gradient, residual Add; channels that are not a
 * multiple of 8, batch 1, odd sizes. And bit-identical results for 1 and 2 threads for each family.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNativeKernels } from './native';
import { BN_GRAD, BN_TRAIN, MEAN_GRAD, RELU6_GRAD, registerNativeTraining } from './native-training';
import { initTestBackends, maxRelError, onBackend, randomArray, runKernel } from './test-helpers';

const native = loadNativeKernels(process.env);
if (!native.kernels) console.warn(`native training kernel tests skipped: ${native.reason}`);

beforeAll(async () => {
  await initTestBackends(native.kernels);
  if (native.kernels) registerNativeTraining(native.kernels);
});

const shapes: [string, number[]][] = [
  ['5 channels, odd 5x7', [3, 5, 7, 5]],
  ['batch 1, 13 channels', [1, 3, 3, 13]],
  ['16 channels, 9x9 (several row chunks)', [4, 9, 9, 16]],
  ['rank 2 (dense features)', [6, 11]],
];

/** A BatchNormalization layer's forward and gradients on a backend, with the moving statistics after the step. */
function batchNormStep(backend: string, shape: number[], seed: number) {
  return onBackend(backend, () => {
    const before = tf.memory().numTensors;
    const c = shape[shape.length - 1];
    const layer = tfl.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3, name: `bn_${backend}_${seed}_${c}_${shape.length}` });
    const x = tf.tensor(randomArray(shape, seed).map((v, i) => v * 3 + (i % c) * 0.5), shape);
    layer.build(shape);
    const initial = [tf.tensor1d(randomArray([c], seed + 1).map((v) => v + 1.5)), tf.tensor1d(randomArray([c], seed + 2)), tf.zeros([c]), tf.ones([c])];
    layer.setWeights(initial);
    tf.dispose(initial);
    const dyData = tf.tensor(randomArray(shape, seed + 3), shape);
    const [gamma, beta] = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    let y: Float32Array = new Float32Array();
    const { grads, value } = tf.variableGrads(() => {
      const out = layer.apply(x, { training: true }) as tf.Tensor;
      y = out.dataSync() as Float32Array;
      return tf.sum(tf.mul(out, dyData));
    }, [gamma, beta]);
    const dx = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(layer.apply(input, { training: true }) as tf.Tensor, dyData)))(x);
    const result = {
      y,
      dx: dx.dataSync() as Float32Array,
      dgamma: grads[gamma.name].dataSync() as Float32Array,
      dbeta: grads[beta.name].dataSync() as Float32Array,
      moving: layer.getWeights().slice(2).map((w) => w.dataSync() as Float32Array),
    };
    tf.dispose([x, dyData, dx, value, ...Object.values(grads)]);
    layer.weights.forEach((w) => w.dispose());
    return { ...result, leaked: tf.memory().numTensors - before };
  });
}

describe.skipIf(!native.kernels)('native training kernels match the cpu backend', () => {
  it('registers its kernels for wasm', () => {
    for (const name of [BN_TRAIN, BN_GRAD, RELU6_GRAD, MEAN_GRAD]) expect(tf.getKernel(name, 'wasm')).toBeDefined();
  });

  it.each(shapes)('BatchNormalization in training, %s: output, dx, dgamma, dbeta, moving statistics', (_name, shape) => {
    const want = batchNormStep('cpu', shape, 7);
    const got = batchNormStep('wasm', shape, 7);
    expect(maxRelError(got.y, want.y)).toBeLessThanOrEqual(1e-5);
    expect(maxRelError(got.dx, want.dx)).toBeLessThanOrEqual(1e-4);
    expect(maxRelError(got.dgamma, want.dgamma)).toBeLessThanOrEqual(1e-4);
    expect(maxRelError(got.dbeta, want.dbeta)).toBeLessThanOrEqual(1e-5);
    got.moving.forEach((m, i) => expect(maxRelError(m, want.moving[i])).toBeLessThanOrEqual(1e-5));
    // The moving statistics moved (a test that cannot fail on them otherwise).
    expect(Math.abs(got.moving[0][1])).toBeGreaterThan(0.01);
    expect(want.leaked).toBe(0);
    expect(got.leaked).toBeLessThanOrEqual(2); // at most one node's unused gradients stay until the next BN gradient
  });

  it('batch statistics stay accurate when a channel mean is large against its spread', () => {
    const R = 3000;
    const C = 11;
    const x = randomArray([R, C], 9).map((v, i) => 500 + (i % C) * 100 + v * 0.01);
    const [mean, variance] = [new Float32Array(C), new Float32Array(C)];
    native.kernels!.batchNormTrain(x, null, null, new Float32Array(R * C), mean, variance, R, C, 1e-3);
    for (let c = 0; c < C; c++) {
      let m = 0;
      for (let r = 0; r < R; r++) m += x[r * C + c];
      m /= R;
      let v = 0;
      for (let r = 0; r < R; r++) v += (x[r * C + c] - m) ** 2;
      v /= R;
      expect(Math.abs(mean[c] - m)).toBeLessThanOrEqual(Math.abs(m) * 1e-7);
      expect(Math.abs(variance[c] - v) / v).toBeLessThanOrEqual(1e-4); // v ≈ 3e-5: a naive float E[x²] − E[x]² would be all noise
    }
  });

  it('the training path runs the native kernels, not tfjs moments and its op-by-op gradient', () => {
    const names: string[] = [];
    onBackend('wasm', () => {
      const layer = tfl.layers.batchNormalization({});
      const x = tf.randomNormal([2, 4, 4, 6]);
      const wrap = (name: string) => {
        const k = tf.getKernel(name, 'wasm')!;
        tf.unregisterKernel(name, 'wasm');
        tf.registerKernel({ ...k, kernelFunc: ((a: never) => (names.push(name), k.kernelFunc(a))) as never });
        return () => (tf.unregisterKernel(name, 'wasm'), tf.registerKernel(k));
      };
      const restore = [BN_TRAIN, BN_GRAD, 'Mean', 'Tile'].map(wrap);
      const g = tf.grad((t: tf.Tensor) => tf.sum(layer.apply(t, { training: true }) as tf.Tensor))(x);
      restore.forEach((r) => r());
      tf.dispose([g, x]);
      layer.weights.forEach((w) => w.dispose());
    });
    expect(names.sort()).toEqual([BN_GRAD, BN_TRAIN]);
  });

  it.each(shapes.slice(0, 3))('FusedBatchNorm (inference), %s', (_name, shape) => {
    const c = shape[shape.length - 1];
    const inputs = {
      x: { shape, data: randomArray(shape, 11) },
      mean: { shape: [c], data: randomArray([c], 12) },
      variance: { shape: [c], data: randomArray([c], 13).map((v) => v + 1.2) },
      offset: { shape: [c], data: randomArray([c], 14) },
      scale: { shape: [c], data: randomArray([c], 15) },
    };
    const want = runKernel('cpu', 'FusedBatchNorm', inputs, { varianceEpsilon: 1e-3 });
    expect(maxRelError(runKernel('wasm', 'FusedBatchNorm', inputs, { varianceEpsilon: 1e-3 }), want)).toBeLessThanOrEqual(1e-5);
  });

  /** Forward and input gradient of f on a backend, for x with values in [-9, 9] (past both ReLU6 edges) and exact 0 and 6. */
  function forwardAndGrad(backend: string, shape: number[], f: (x: tf.Tensor) => tf.Tensor): [Float32Array, Float32Array] {
    return onBackend(backend, () => {
      const data = randomArray(shape, 21).map((v) => v * 9);
      data[0] = 0;
      data[1] = 6;
      data[2] = NaN;
      const x = tf.tensor(data, shape);
      const dy = tf.tensor(randomArray(shape, 22), shape);
      const y = f(x);
      const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), dy)))(x);
      const out: [Float32Array, Float32Array] = [y.dataSync() as Float32Array, dx.dataSync() as Float32Array];
      tf.dispose([x, dy, y, dx]);
      return out;
    });
  }

  it.each(shapes)('ReLU6 layer, relu6 and clipByValue, forward and gradient, %s', (_name, shape) => {
    const relu6Layer = tfl.layers.reLU({ maxValue: 6 });
    for (const f of [(x: tf.Tensor) => relu6Layer.apply(x) as tf.Tensor, (x: tf.Tensor) => tf.relu6(x), (x: tf.Tensor) => tf.clipByValue(x, -2, 3.5)]) {
      const [wy, wdx] = forwardAndGrad('cpu', shape, f);
      const [gy, gdx] = forwardAndGrad('wasm', shape, f);
      expect(gy).toEqual(wy); // NaN at [2] compares equal to NaN here
      // The layer's relu6 gives −0 where tfjs' relu-then-clip chain gives +0 (x > 6, dy < 0): same update.
      expect(Array.from(gdx, (v) => v || 0)).toEqual(Array.from(wdx, (v) => v || 0));
    }
  });

  it.each(shapes.slice(0, 3))('global average pooling (Mean over H, W) and its gradient, %s', (_name, shape) => {
    const gap = tfl.layers.globalAveragePooling2d({});
    const run = (backend: string) =>
      onBackend(backend, () => {
        const x = tf.tensor(randomArray(shape, 31), shape);
        const dy = tf.tensor(randomArray([shape[0], shape[3]], 32), [shape[0], shape[3]]);
        const y = gap.apply(x) as tf.Tensor;
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gap.apply(t) as tf.Tensor, dy)))(x);
        const out = [y.dataSync() as Float32Array, dx.dataSync() as Float32Array];
        tf.dispose([x, dy, y, dx]);
        return out;
      });
    const [wy, wdx] = run('cpu');
    const [gy, gdx] = run('wasm');
    expect(maxRelError(gy, wy)).toBeLessThanOrEqual(1e-5);
    expect(gdx).toEqual(wdx);
    const input = { x: { shape, data: randomArray(shape, 3) } };
    const attrs = { axis: [1, 2], keepDims: true };
    expect(maxRelError(runKernel('wasm', 'Mean', input, attrs), runKernel('cpu', 'Mean', input, attrs))).toBeLessThanOrEqual(1e-5);
  });

  it('residual Add of same shapes', () => {
    const shape = [3, 9, 9, 13];
    const inputs = { a: { shape, data: randomArray(shape, 1) }, b: { shape, data: randomArray(shape, 2) } };
    expect(runKernel('wasm', 'Add', inputs, {})).toEqual(runKernel('cpu', 'Add', inputs, {}));
  });

  it('gives bit-identical results with 1 and 2 threads for every family', () => {
    const k = native.kernels!;
    const R = 64 * 17 * 17;
    const C = 24;
    const x = randomArray([R, C], 1);
    const dy = randomArray([R, C], 2);
    const gamma = randomArray([C], 3);
    const beta = randomArray([C], 4);
    // conv geometry: B H W Ci OH OW Co FH FW SH SW DH DW PT PL (stride 2 'same', odd size)
    const g = [8, 17, 17, 24, 9, 9, 24, 3, 3, 2, 2, 1, 1, 1, 1];
    const xi = randomArray([8 * 17 * 17 * 24], 5);
    const gy = randomArray([8 * 9 * 9 * 24], 6);
    const w = randomArray([3 * 3 * 24 * 24], 7);
    const run = (threads: number) => {
      k.setThreads(threads);
      const out = {
        y: new Float32Array(R * C), mean: new Float32Array(C), variance: new Float32Array(C),
        dx: new Float32Array(R * C), dgamma: new Float32Array(C), dbeta: new Float32Array(C),
        gap: new Float32Array(64 * C), sum: new Float32Array(C),
        convDw: new Float32Array(w.length), convDx: new Float32Array(xi.length), conv: new Float32Array(gy.length),
        dwDw: new Float32Array(9 * 24), dwDx: new Float32Array(xi.length), dw: new Float32Array(gy.length),
        pool: new Float32Array(gy.length),
      };
      k.batchNormTrain(x, gamma, beta, out.y, out.mean, out.variance, R, C, 1e-3);
      k.batchNormGrad(dy, x, out.mean, out.variance, gamma, out.dx, out.dgamma, out.dbeta, R, C, 1e-3);
      k.meanMiddle(x, out.gap, 64, 17 * 17, C);
      k.sumRows(x, out.sum, R, C);
      k.conv2d(xi, w, null, out.conv, 0, ...g);
      k.conv2dBackpropFilter(xi, gy, out.convDw, ...g);
      k.conv2dBackpropInput(gy, w, out.convDx, ...g);
      k.depthwise(xi, w.subarray(0, 9 * 24), null, out.dw, 0, 1, ...g);
      k.depthwiseBackpropFilter(xi, gy, out.dwDw, 1, ...g);
      k.depthwiseBackpropInput(gy, w.subarray(0, 9 * 24), out.dwDx, 1, ...g);
      k.maxPool(xi, out.pool, ...g);
      return out;
    };
    const one = run(1);
    const two = run(2);
    k.setThreads(2);
    for (const key of Object.keys(one) as (keyof typeof one)[]) expect(two[key], key).toEqual(one[key]);
  });
});
