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

  it.each([
    ['axis -1', {}],
    // Keras configs (imported models, e.g. every Teachable Machine export) write the axis as a list.
    ['axis [3] as Keras writes it', { axis: [3] }],
  ])('the training path runs the native kernels, not tfjs moments and its op-by-op gradient (%s)', (_name, config) => {
    const names: string[] = [];
    onBackend('wasm', () => {
      const layer = tfl.layers.batchNormalization(config as never);
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

  // tfjs' cpu AvgPoolGrad divides every window by its full size, also where 'same' padding cut it
  // (its forward divides by the taps inside, as TensorFlow does both ways): the reference here is the
  // derivative of the forward itself, a depthwise box filter divided by the count of taps inside.
  it.each([
    ['2x2/2 valid, odd 7x9, 5 channels', [2, 7, 9, 5], 2, 2, 'valid'],
    ['3x3/2 same, batch 1, 13 channels', [1, 9, 8, 13], 3, 2, 'same'],
    ['3x3/1 same, 16 channels', [3, 6, 6, 16], 3, 1, 'same'],
  ] as const)('AvgPool and its gradient, %s', (_name, shape, size, stride, pad) => {
    const c = shape[3];
    const boxMean = (t: tf.Tensor4D) => {
      const box = tf.ones([size, size, c, 1]) as tf.Tensor4D;
      const counts = tf.depthwiseConv2d(tf.onesLike(t), box, stride, pad);
      return tf.div(tf.depthwiseConv2d(t, box, stride, pad), counts) as tf.Tensor4D;
    };
    const run = (backend: string, f: (t: tf.Tensor4D) => tf.Tensor4D) =>
      onBackend(backend, () => {
        const x = tf.tensor4d(randomArray(shape, 41), shape as unknown as [number, number, number, number]);
        const y = f(x);
        const dy = tf.tensor(randomArray(y.shape, 42), y.shape);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor4D), dy)))(x);
        const out = [y.dataSync() as Float32Array, dx.dataSync() as Float32Array];
        tf.dispose([x, y, dy, dx]);
        return out;
      });
    const [wy, wdx] = run('cpu', boxMean);
    const [gy, gdx] = run('wasm', (t) => tf.avgPool(t, size, stride, pad));
    expect(maxRelError(gy, wy)).toBeLessThanOrEqual(1e-5);
    expect(maxRelError(gdx, wdx)).toBeLessThanOrEqual(1e-5);
    // Forward: tfjs' cpu avgPool agrees.
    expect(maxRelError(gy, run('cpu', (t) => tf.avgPool(t, size, stride, pad))[0])).toBeLessThanOrEqual(1e-5);
  });

  it.each([
    ['ZeroPadding2D before a stride-2 depthwise (MobileNetV2: bottom and right)', [2, 7, 7, 13], [[0, 0], [0, 1], [0, 1], [0, 0]], 0],
    ['all four sides, batch 1, a constant', [1, 5, 6, 8], [[0, 0], [2, 1], [1, 3], [0, 0]], 0.5],
  ] as const)('PadV2 and its gradient, %s', (_name, shape, paddings, value) => {
    const run = (backend: string) =>
      onBackend(backend, () => {
        const x = tf.tensor(randomArray(shape, 43), shape as unknown as number[]);
        const f = (t: tf.Tensor) => tf.pad(t, paddings as unknown as [number, number][], value);
        const y = f(x);
        const dy = tf.tensor(randomArray(y.shape, 44), y.shape);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), dy)))(x);
        const out = [y.dataSync() as Float32Array, dx.dataSync() as Float32Array];
        tf.dispose([x, y, dy, dx]);
        return out;
      });
    const [wy, wdx] = run('cpu');
    const [gy, gdx] = run('wasm');
    expect(gy).toEqual(wy);
    expect(gdx).toEqual(wdx);
    expect((tf.getKernel('PadV2', 'wasm') as { native?: boolean }).native).toBe(true);
    // The gradient is a Slice (a crop): the native one.
    expect((tf.getKernel('Slice', 'wasm') as { native?: boolean }).native).toBe(true);
  });

  it.each([
    ['crop of H and W (ZeroPadding2D gradient), 13 channels', [2, 7, 8, 13], [0, 1, 2, 0], [2, 5, 5, 13]],
    ['batch rows (micro-batches), contiguous', [5, 3, 4, 6], [2, 0, 0, 0], [3, -1, -1, -1]],
    ['part of the channels, batch 1', [1, 4, 5, 11], [0, 1, 0, 3], [1, 2, 5, 7]],
    ['rank 2', [9, 10], [3, 2], [4, 5]],
    ['rank 1, empty', [9], [4], [0]],
  ] as const)('Slice, %s', (_name, shape, begin, size) => {
    const inputs = { x: { shape: shape as unknown as number[], data: randomArray(shape as unknown as number[], 45) } };
    const attrs = { begin: begin as unknown as number[], size: size as unknown as number[] };
    const want = runKernel('cpu', 'Slice', inputs, attrs);
    expect(runKernel('wasm', 'Slice', inputs, attrs)).toEqual(want);
  });

  it('residual Add of same shapes', () => {
    const shape = [3, 9, 9, 13];
    const inputs = { a: { shape, data: randomArray(shape, 1) }, b: { shape, data: randomArray(shape, 2) } };
    expect(runKernel('wasm', 'Add', inputs, {})).toEqual(runKernel('cpu', 'Add', inputs, {}));
  });

  it('gives bit-identical results with 1 and 2 threads for every family (reductions use fixed ranges)', () => {
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
        pool: new Float32Array(gy.length), avg: new Float32Array(gy.length), avgGrad: new Float32Array(xi.length),
        padded: new Float32Array(8 * 18 * 18 * 24), matmul: new Float32Array(512 * 72), matmulCols: new Float32Array(16 * 520),
        adamW: new Float32Array(100000), adamM: new Float32Array(100000), adamV: new Float32Array(100000),
        added: new Float32Array(R * C), relu6: new Float32Array(R * C), sliced: new Float32Array(8 * 15 * 16 * 24),
      };
      k.slice4d(xi, out.sliced, 8, 17, 17, 24, 0, 1, 0, 0, 8, 15, 16, 24);
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
      k.avgPool(xi, out.avg, ...g);
      k.avgPoolGrad(gy, out.avgGrad, ...g);
      k.pad2d(xi, out.padded, 8, 17, 17, 24, 0, 1, 0, 1, 0);
      k.matmul(x.subarray(0, 512 * 300), dy.subarray(0, 300 * 72), null, out.matmul, 0, 1, 512, 72, 300, 0, 0, 0, 0); // rows split
      k.matmul(x.subarray(0, 16 * 300), dy.subarray(0, 300 * 520), null, out.matmulCols, 0, 1, 16, 520, 300, 0, 0, 0, 0); // columns split
      out.adamW.set(x.subarray(0, 100000));
      k.adam(x.subarray(0, 100000), dy.subarray(0, 100000), out.adamM, out.adamV, Float32Array.of(0.9, 0.1, 0.999, 0.001, 0.1, 0.001, 1e-7, -1e-3), out.adamW);
      k.addSame(x, dy, out.added);
      k.relu6Grad(dy, x, out.relu6);
      return out;
    };
    const one = run(1);
    const two = run(2);
    k.setThreads(2);
    for (const key of Object.keys(one) as (keyof typeof one)[]) expect(two[key], key).toEqual(one[key]);
  });

  it('gives bit-identical convolutions with and without the AVX-512 micro-kernel (same products, same order)', () => {
    const k = native.kernels!;
    const wide = k.setWideVectors(true);
    if (!wide) console.warn('this CPU has no AVX-512: only the 8-float path runs');
    // B H W Ci OH OW Co FH FW SH SW DH DW PT PL: stride 2 'same' on an odd size; 40 output channels (a 16-wide
    // block, another, then an 8-wide one) and 24 (16 + 8); rows not a multiple of 12.
    const cases = [[3, 13, 11, 24, 7, 6, 40, 3, 3, 2, 2, 1, 1, 1, 1], [2, 9, 9, 40, 9, 9, 24, 3, 3, 1, 1, 1, 1, 1, 1], [2, 7, 7, 72, 7, 7, 40, 1, 1, 1, 1, 1, 1, 0, 0]];
    const run = () =>
      cases.map((g) => {
        const [B, H, W, Ci, OH, OW, Co, FH, FW] = g;
        const x = randomArray([B * H * W * Ci], 31), w = randomArray([FH * FW * Ci * Co], 32), dy = randomArray([B * OH * OW * Co], 33), bias = randomArray([Co], 34);
        const y = new Float32Array(B * OH * OW * Co), dw = new Float32Array(w.length), dx = new Float32Array(x.length);
        k.conv2d(x, w, bias, y, 2, ...g);
        k.conv2dBackpropFilter(x, dy, dw, ...g);
        k.conv2dBackpropInput(dy, w, dx, ...g);
        return [y, dw, dx];
      });
    const withWide = run();
    expect(k.setWideVectors(false)).toBe(false);
    const narrow = run();
    k.setWideVectors(true);
    expect(withWide).toEqual(narrow);
    expect(withWide[0][0].some((v) => v > 0 && v < 6)).toBe(true);
  });
});
