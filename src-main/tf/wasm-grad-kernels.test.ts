import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmGradKernels } from './wasm-grad-kernels';
import { maxRelError, onBackend, randomArray, runKernel } from './test-helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.setBackend('wasm');
  registerWasmGradKernels();
});

type Shape4 = [number, number, number, number];
interface Case {
  name: string;
  x: Shape4;
  filter: Shape4;
  strides: number;
  pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
  dilations?: number;
}

function outShape(c: Case, depthwise: boolean): Shape4 {
  const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, c.dilations ?? 1, c.pad, undefined, depthwise);
  return info.outShape;
}

const conv2dCases: Case[] = [
  { name: 'SAME stride 1', x: [2, 7, 7, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { name: 'SAME stride 2 odd size', x: [2, 9, 7, 3], filter: [3, 3, 3, 5], strides: 2, pad: 'same' },
  { name: 'VALID stride 1', x: [3, 8, 6, 2], filter: [3, 2, 2, 4], strides: 1, pad: 'valid' },
  { name: 'VALID stride 2 with leftover rows', x: [2, 10, 9, 4], filter: [3, 3, 4, 3], strides: 2, pad: 'valid' },
  { name: 'explicit padding stride 2', x: [1, 8, 8, 2], filter: [5, 5, 2, 3], strides: 2, pad: [[0, 0], [2, 1], [1, 2], [0, 0]] },
  { name: '1x1 filter', x: [2, 5, 5, 6], filter: [1, 1, 6, 4], strides: 1, pad: 'valid' },
];

describe('Conv2DBackpropFilter on wasm', () => {
  it.each(conv2dCases)('matches cpu: $name', (c) => {
    const inputs = { x: { shape: c.x, data: randomArray(c.x, 1) }, dy: { shape: outShape(c, false), data: randomArray(outShape(c, false), 2) } };
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: c.filter };
    const want = runKernel('cpu', 'Conv2DBackpropFilter', inputs, attrs);
    const got = runKernel('wasm', 'Conv2DBackpropFilter', inputs, attrs);
    expect(got.length).toBe(want.length);
    expect(maxRelError(got, want)).toBeLessThanOrEqual(1e-4);
  });

  it('gives the gradient of a training step through tf.grad, same as cpu', () => {
    const xs = randomArray([4, 12, 12, 1], 3);
    const ws = randomArray([3, 3, 1, 8], 4);
    const grad = (backend: string) =>
      onBackend(backend, () => {
        const x = tf.tensor4d(xs, [4, 12, 12, 1]);
        const g = tf.grad((w) => tf.sum(tf.square(tf.conv2d(x, w as tf.Tensor4D, 2, 'same'))))(tf.tensor4d(ws, [3, 3, 1, 8]));
        return g.dataSync() as Float32Array;
      });
    expect(maxRelError(grad('wasm'), grad('cpu'))).toBeLessThanOrEqual(1e-4);
  });
});

const depthwiseCases: Case[] = [
  { name: 'SAME stride 1', x: [2, 7, 7, 3], filter: [3, 3, 3, 1], strides: 1, pad: 'same' },
  { name: 'SAME stride 2, multiplier 2', x: [2, 9, 8, 3], filter: [3, 3, 3, 2], strides: 2, pad: 'same' },
  { name: 'VALID stride 1, multiplier 3', x: [2, 6, 7, 2], filter: [3, 2, 2, 3], strides: 1, pad: 'valid' },
  { name: 'VALID stride 2 with leftover rows', x: [1, 10, 9, 4], filter: [3, 3, 4, 1], strides: 2, pad: 'valid' },
  { name: 'explicit padding stride 2', x: [1, 8, 8, 2], filter: [5, 5, 2, 2], strides: 2, pad: [[0, 0], [2, 1], [1, 2], [0, 0]] },
];

describe('depthwise backprop on wasm', () => {
  it.each(depthwiseCases)('filter gradient matches cpu: $name', (c) => {
    const dyShape = outShape(c, true);
    const inputs = { x: { shape: c.x, data: randomArray(c.x, 5) }, dy: { shape: dyShape, data: randomArray(dyShape, 6) } };
    const attrs = { strides: c.strides, dilations: 1, pad: c.pad, dimRoundingMode: undefined, filterShape: c.filter };
    const want = runKernel('cpu', 'DepthwiseConv2dNativeBackpropFilter', inputs, attrs);
    expect(maxRelError(runKernel('wasm', 'DepthwiseConv2dNativeBackpropFilter', inputs, attrs), want)).toBeLessThanOrEqual(1e-4);
  });

  it.each(depthwiseCases)('input gradient matches cpu: $name', (c) => {
    const dyShape = outShape(c, true);
    const inputs = { dy: { shape: dyShape, data: randomArray(dyShape, 7) }, filter: { shape: c.filter, data: randomArray(c.filter, 8) } };
    const attrs = { strides: c.strides, dilations: 1, pad: c.pad, dimRoundingMode: undefined, inputShape: c.x };
    const want = runKernel('cpu', 'DepthwiseConv2dNativeBackpropInput', inputs, attrs);
    expect(maxRelError(runKernel('wasm', 'DepthwiseConv2dNativeBackpropInput', inputs, attrs), want)).toBeLessThanOrEqual(1e-4);
  });

  // The cpu backend's depthwise backprop ignores dilation, so dilated cases are checked against
  // finite differences of L = Σ depthwiseConv2d(x, f) · dy. L is linear in x and in f, so a central
  // difference with a unit step is exact up to rounding; sums are taken in float64.
  const dilated: Case[] = [
    { name: 'SAME dilation 2', x: [1, 9, 9, 2], filter: [3, 3, 2, 2], strides: 1, pad: 'same', dilations: 2 },
    { name: 'VALID dilation 2', x: [2, 10, 8, 2], filter: [3, 2, 2, 1], strides: 1, pad: 'valid', dilations: 2 },
  ];
  it.each(dilated)('gradients match finite differences: $name', (c) => {
    const dyShape = outShape(c, true);
    const x = randomArray(c.x, 9);
    const f = randomArray(c.filter, 10);
    const dy = randomArray(dyShape, 11);
    const loss = (xv: Float32Array, fv: Float32Array) =>
      onBackend('cpu', () => {
        const y = tf.depthwiseConv2d(tf.tensor4d(xv, c.x), tf.tensor4d(fv, c.filter), 1, c.pad as 'same', 'NHWC', c.dilations as number);
        const yv = y.dataSync();
        let s = 0;
        for (let i = 0; i < yv.length; i++) s += yv[i] * dy[i];
        return s;
      });
    const attrs = { strides: 1, dilations: c.dilations, pad: c.pad, dimRoundingMode: undefined };
    const gx = runKernel('wasm', 'DepthwiseConv2dNativeBackpropInput', { dy: { shape: dyShape, data: dy }, filter: { shape: c.filter, data: f } }, { ...attrs, inputShape: c.x });
    const gf = runKernel('wasm', 'DepthwiseConv2dNativeBackpropFilter', { x: { shape: c.x, data: x }, dy: { shape: dyShape, data: dy } }, { ...attrs, filterShape: c.filter });
    const diff = (arr: Float32Array, k: number, eval_: (a: Float32Array) => number) => {
      const plus = arr.slice();
      const minus = arr.slice();
      plus[k] += 1;
      minus[k] -= 1;
      return (eval_(plus) - eval_(minus)) / 2;
    };
    const fdX = Float32Array.from({ length: 12 }, (_, i) => diff(x, (i * 37) % x.length, (a) => loss(a, f)));
    const fdF = Float32Array.from(f, (_, k) => diff(f, k, (a) => loss(x, a)));
    expect(maxRelError(Float32Array.from({ length: 12 }, (_, i) => gx[(i * 37) % x.length]), fdX)).toBeLessThanOrEqual(1e-4);
    expect(maxRelError(gf, fdF)).toBeLessThanOrEqual(1e-4);
  });

  it('leaves no tensors behind and keeps its inputs alive', () => {
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([2, 6, 6, 3]) as tf.Tensor4D;
    const f = tf.randomNormal([3, 3, 3, 1]) as tf.Tensor4D;
    const g = tf.grads((a, b) => tf.sum(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')))([x, f]);
    expect(g[0].shape).toEqual(x.shape);
    expect(g[1].shape).toEqual(f.shape);
    expect(x.dataSync().length).toBe(x.size);
    tf.dispose([x, f, ...g]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
