import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNativeKernels } from './native';
import { initTestBackends, type KernelInputs, maxRelError, onBackend, randomArray, runKernel } from './test-helpers';
import { depthwiseConv2dNativeBackpropFilter, depthwiseConv2dNativeBackpropInput } from './wasm-grad-kernels';

// `npm run test:unit` builds the add-on first (build:native); without a C++ compiler there is
// nothing to test here, and the fallback is covered by native.test.ts.
const native = loadNativeKernels(process.env);
if (!native.kernels) console.warn(`native kernel tests skipped: ${native.reason}`);

beforeAll(() => initTestBackends(native.kernels));

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface ConvCase {
  name: string;
  x: Shape4;
  filter: Shape4;
  strides: number;
  pad: Pad;
  dilations?: number;
}

const explicit: Pad = [[0, 0], [2, 1], [1, 2], [0, 0]];
const convCases: ConvCase[] = [
  { name: 'SAME stride 1', x: [3, 9, 9, 5], filter: [3, 3, 5, 7], strides: 1, pad: 'same' },
  { name: 'SAME stride 2, odd size', x: [2, 11, 8, 3], filter: [3, 3, 3, 33], strides: 2, pad: 'same' },
  { name: 'VALID stride 1', x: [2, 8, 7, 4], filter: [3, 2, 4, 6], strides: 1, pad: 'valid' },
  { name: 'VALID stride 2, leftover rows', x: [3, 10, 9, 2], filter: [3, 3, 2, 8], strides: 2, pad: 'valid' },
  { name: 'explicit padding', x: [1, 8, 8, 3], filter: [5, 5, 3, 4], strides: 2, pad: explicit },
  { name: '1x1', x: [2, 5, 5, 16], filter: [1, 1, 16, 8], strides: 1, pad: 'valid' },
  // Pointwise shapes on each side of the packed-GEMM / direct routing (convolution.cc).
  { name: '1x1, 40 → 24 (direct input gradient)', x: [3, 7, 5, 40], filter: [1, 1, 40, 24], strides: 1, pad: 'valid' },
  { name: '1x1, 72 → 8 (direct forward, packed filter gradient)', x: [2, 6, 7, 72], filter: [1, 1, 72, 8], strides: 1, pad: 'valid' },
  { name: '1x1, 8 → 72 (direct filter gradient and input gradient)', x: [2, 9, 11, 8], filter: [1, 1, 8, 72], strides: 1, pad: 'valid' },
  { name: '1x1 over few pixels, 112 → 40 (filter gradient split over K)', x: [1, 3, 3, 112], filter: [1, 1, 112, 40], strides: 1, pad: 'valid' },
  { name: 'first layer, one channel (Ci 1 → Co 8: 8 x 8 blocks)', x: [3, 10, 10, 1], filter: [3, 3, 1, 8], strides: 1, pad: 'same' },
  { name: 'Co 12 (6 x 16 blocks, partial columns)', x: [2, 9, 9, 8], filter: [3, 3, 8, 12], strides: 1, pad: 'valid' },
  { name: 'teacher conv2 (K = 288, spans GEMM blocks)', x: [2, 8, 8, 32], filter: [3, 3, 32, 64], strides: 1, pad: 'same' },
  // Batches large enough for several tasks, reduction parts and pixel chunks in the direct kernels.
  { name: 'student conv1 (Ci 1 → Co 8), 5 images', x: [5, 28, 28, 1], filter: [3, 3, 1, 8], strides: 1, pad: 'valid' },
  { name: 'student conv2 (Ci 8 → Co 16), 6 images', x: [6, 13, 13, 8], filter: [3, 3, 8, 16], strides: 1, pad: 'valid' },
  { name: 'Co 24 (a 16- then an 8-wide block), SAME', x: [4, 12, 12, 8], filter: [3, 3, 8, 24], strides: 1, pad: 'same' },
  { name: 'stride 2, 8 channels in (vector col2im)', x: [3, 9, 10, 8], filter: [3, 3, 8, 16], strides: 2, pad: 'same' },
  { name: '1x1 stride 2 (a ResNet shortcut)', x: [2, 9, 9, 8], filter: [1, 1, 8, 16], strides: 2, pad: 'valid' },
];
const dilatedConv: ConvCase = { name: 'SAME dilation 2', x: [2, 9, 9, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same', dilations: 2 };

function shapeOut(c: ConvCase, depthwise: boolean): Shape4 {
  return tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, c.dilations ?? 1, c.pad, undefined, depthwise).outShape;
}

/** Same kernel, same data: the cpu backend's result against wasm's (native kernels in front). */
function compare(kernel: string, inputs: KernelInputs, attrs: object, reference = 'cpu'): number {
  const want = runKernel(reference, kernel, inputs, attrs);
  const got = runKernel('wasm', kernel, inputs, attrs);
  expect(got.length).toBe(want.length);
  return maxRelError(got, want);
}

describe.skipIf(!native.kernels)('native kernels over wasm match the cpu backend', () => {
  it('are the kernels registered for wasm', () => {
    expect((tf.getKernel('Conv2D', 'wasm') as { native?: boolean }).native).toBe(true);
    expect((tf.getKernel('_FusedMatMul', 'wasm') as { native?: boolean }).native).toBe(true);
  });

  it.each([...convCases, dilatedConv])('Conv2D: $name', (c) => {
    const inputs = { x: { shape: c.x, data: randomArray(c.x, 1) }, filter: { shape: c.filter, data: randomArray(c.filter, 2) } };
    expect(compare('Conv2D', inputs, { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: c.dilations ?? 1 })).toBeLessThanOrEqual(1e-4);
  });

  it.each([['relu'], ['relu6'], ['linear']])('FusedConv2D with bias and %s', (activation) => {
    const c = convCases[1];
    const co = c.filter[3];
    const inputs = {
      x: { shape: c.x, data: randomArray(c.x, 3) },
      filter: { shape: c.filter, data: randomArray(c.filter, 4).map((v) => v * 3) },
      bias: { shape: [co], data: randomArray([co], 5) },
    };
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: 1, activation };
    expect(compare('FusedConv2D', inputs, attrs)).toBeLessThanOrEqual(1e-4);
  });

  it.each(convCases)('Conv2DBackpropInput: $name', (c) => {
    const dy = shapeOut(c, false);
    const inputs = { dy: { shape: dy, data: randomArray(dy, 6) }, filter: { shape: c.filter, data: randomArray(c.filter, 7) } };
    expect(compare('Conv2DBackpropInput', inputs, { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x })).toBeLessThanOrEqual(1e-4);
  });

  it.each(convCases)('Conv2DBackpropFilter: $name', (c) => {
    const dy = shapeOut(c, false);
    const inputs = { x: { shape: c.x, data: randomArray(c.x, 8) }, dy: { shape: dy, data: randomArray(dy, 9) } };
    expect(compare('Conv2DBackpropFilter', inputs, { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter })).toBeLessThanOrEqual(1e-4);
  });

  const dwCases: ConvCase[] = [
    { name: 'SAME stride 1', x: [2, 7, 7, 8], filter: [3, 3, 8, 1], strides: 1, pad: 'same' },
    { name: 'SAME stride 2, multiplier 2', x: [3, 9, 8, 3], filter: [3, 3, 3, 2], strides: 2, pad: 'same' },
    { name: 'VALID stride 2, leftover rows', x: [2, 10, 9, 4], filter: [3, 3, 4, 1], strides: 2, pad: 'valid' },
    { name: 'explicit padding, multiplier 3', x: [1, 8, 8, 2], filter: [5, 5, 2, 3], strides: 2, pad: explicit },
    // Multiplier 1 (the vector paths): channels a vector and a tail, stride 2 with odd sizes, batch 1.
    { name: 'SAME stride 2, odd 11x9, 13 channels', x: [2, 11, 9, 13], filter: [3, 3, 13, 1], strides: 2, pad: 'same' },
    { name: 'SAME stride 2, batch 1, 24 channels (MobileNetV2 α 0.35)', x: [1, 15, 15, 24], filter: [3, 3, 24, 1], strides: 2, pad: 'same' },
    { name: 'SAME stride 1, 5 channels, 5x5 filter', x: [3, 6, 7, 5], filter: [5, 5, 5, 1], strides: 1, pad: 'same' },
    { name: 'explicit padding, multiplier 1', x: [2, 8, 8, 16], filter: [3, 3, 16, 1], strides: 2, pad: explicit },
    // Interior runs (groups of 4 pixels and a remainder) next to border pixels on wide rows.
    { name: 'VALID stride 2 on an odd padded size (MobileNetV2 after ZeroPadding2D), 20 channels', x: [2, 23, 21, 20], filter: [3, 3, 20, 1], strides: 2, pad: 'valid' },
    { name: 'SAME stride 1, wide rows, 16 channels, batch 1', x: [1, 5, 27, 16], filter: [3, 3, 16, 1], strides: 1, pad: 'same' },
    { name: 'SAME stride 2, even 18x18, 8 channels', x: [2, 18, 18, 8], filter: [3, 3, 8, 1], strides: 2, pad: 'same' },
    { name: '1x1 filter, stride 2', x: [2, 7, 9, 11], filter: [1, 1, 11, 1], strides: 2, pad: 'same' },
    { name: 'VALID stride 3, 2x3 filter, 9 channels', x: [2, 14, 17, 9], filter: [2, 3, 9, 1], strides: 3, pad: 'valid' },
  ];
  const dilatedDw: ConvCase = { name: 'SAME dilation 2, multiplier 2', x: [2, 9, 9, 3], filter: [3, 3, 3, 2], strides: 1, pad: 'same', dilations: 2 };
  const dilatedDw1: ConvCase = { name: 'SAME dilation 2, multiplier 1, 12 channels', x: [2, 11, 13, 12], filter: [3, 3, 12, 1], strides: 1, pad: 'same', dilations: 2 };

  it.each([...dwCases, dilatedDw, dilatedDw1])('DepthwiseConv2dNative: $name', (c) => {
    const inputs = { x: { shape: c.x, data: randomArray(c.x, 10) }, filter: { shape: c.filter, data: randomArray(c.filter, 11) } };
    expect(compare('DepthwiseConv2dNative', inputs, { strides: c.strides, pad: c.pad, dilations: c.dilations ?? 1 })).toBeLessThanOrEqual(1e-4);
  });

  it('FusedDepthwiseConv2D with bias and relu', () => {
    const c = dwCases[1];
    const co = c.filter[2] * c.filter[3];
    const inputs = {
      x: { shape: c.x, data: randomArray(c.x, 12) },
      filter: { shape: c.filter, data: randomArray(c.filter, 13) },
      bias: { shape: [co], data: randomArray([co], 14) },
    };
    expect(compare('FusedDepthwiseConv2D', inputs, { strides: c.strides, pad: c.pad, dilations: 1, activation: 'relu' })).toBeLessThanOrEqual(1e-4);
  });

  it.each(dwCases)('depthwise gradients: $name', (c) => {
    const dy = shapeOut(c, true);
    const attrs = { strides: c.strides, pad: c.pad, dilations: 1 };
    const dInput = { dy: { shape: dy, data: randomArray(dy, 15) }, filter: { shape: c.filter, data: randomArray(c.filter, 16) } };
    expect(compare('DepthwiseConv2dNativeBackpropInput', dInput, { ...attrs, inputShape: c.x })).toBeLessThanOrEqual(1e-4);
    const dFilter = { x: { shape: c.x, data: randomArray(c.x, 17) }, dy: { shape: dy, data: randomArray(dy, 18) } };
    expect(compare('DepthwiseConv2dNativeBackpropFilter', dFilter, { ...attrs, filterShape: c.filter })).toBeLessThanOrEqual(1e-4);
  });

  // The cpu backend's depthwise gradients ignore dilation: the reference here is the composite wasm
  // kernel, itself checked against finite differences in wasm-grad-kernels.test.ts.
  it.each([dilatedDw, dilatedDw1])('dilated depthwise gradients match the finite-difference-checked composite kernels: $name', (c) => {
    const dyShape = shapeOut(c, true);
    const attrs = { strides: 1, pad: c.pad, dilations: 2 };
    onBackend('wasm', () => {
      const backend = tf.backend();
      const dy = tf.tensor4d(randomArray(dyShape, 19), dyShape);
      const f = tf.tensor4d(randomArray(c.filter, 20), c.filter);
      const x = tf.tensor4d(randomArray(c.x, 21), c.x);
      const pairs: [tf.TensorInfo, tf.Tensor][] = [
        [depthwiseConv2dNativeBackpropInput({ inputs: { dy, filter: f } as never, backend, attrs: { ...attrs, inputShape: c.x } }),
          tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: f }, { ...attrs, inputShape: c.x }) as tf.Tensor],
        [depthwiseConv2dNativeBackpropFilter({ inputs: { x, dy } as never, backend, attrs: { ...attrs, filterShape: c.filter } }),
          tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: c.filter }) as tf.Tensor],
      ];
      for (const [info, got] of pairs) {
        const want = tf.engine().makeTensorFromTensorInfo(info);
        expect(maxRelError(got.dataSync(), want.dataSync())).toBeLessThanOrEqual(1e-4);
        tf.dispose([want, got]);
      }
      tf.dispose([dy, f, x]);
    });
  });

  const poolCases = [
    { name: '2x2 stride 2 VALID, odd size', x: [3, 13, 11, 5], filterSize: 2, strides: 2, pad: 'valid' },
    { name: '3x3 stride 2 SAME', x: [2, 9, 8, 4], filterSize: 3, strides: 2, pad: 'same' },
    { name: '3x3 stride 1 SAME', x: [2, 6, 7, 3], filterSize: 3, strides: 1, pad: 'same' },
    // Channels a multiple of 8: the vector paths (tiled gradient when stride = window).
    { name: '2x2 stride 2 VALID, 16 channels, odd sizes (uncovered edges)', x: [3, 11, 13, 16], filterSize: 2, strides: 2, pad: 'valid' },
    { name: '3x3 stride 2 VALID, 8 channels (overlapping windows)', x: [2, 9, 10, 8], filterSize: 3, strides: 2, pad: 'valid' },
    { name: '3x3 stride 3 VALID, 8 channels', x: [2, 10, 9, 8], filterSize: 3, strides: 3, pad: 'valid' },
  ] as const;
  it.each(poolCases)('MaxPool and MaxPoolGrad: $name', (c) => {
    const attrs = { filterSize: c.filterSize, strides: c.strides, pad: c.pad, dimRoundingMode: undefined };
    const x = { shape: [...c.x], data: randomArray(c.x, 36) };
    expect(compare('MaxPool', { x }, attrs)).toBe(0);
    const y = runKernel('cpu', 'MaxPool', { x }, attrs);
    const yShape = tf.backend_util.computePool2DInfo([...c.x] as Shape4, c.filterSize, c.strides, 1, c.pad).outShape;
    const grad = { dy: { shape: yShape, data: randomArray(yShape, 37) }, input: x, output: { shape: yShape, data: y } };
    expect(compare('MaxPoolGrad', grad, attrs)).toBeLessThanOrEqual(1e-6);
  });

  it.each([1, 8])("MaxPoolGrad sends each window's gradient to its first maximum on ties, as cpu does (%i channels)", (ch) => {
    // Ties everywhere, and in the second channel a later tap holding a strictly greater value.
    const data = new Float32Array(16 * ch).fill(1);
    if (ch > 1) data[(1 * 4 + 1) * ch + 1] = 2;
    const x = { shape: [1, 4, 4, ch], data };
    const attrs = { filterSize: 2, strides: 2, pad: 'valid', dimRoundingMode: undefined };
    const dy = Float32Array.from({ length: 4 * ch }, (_, i) => i + 1);
    const grad = { dy: { shape: [1, 2, 2, ch], data: dy }, input: x, output: { shape: [1, 2, 2, ch], data: new Float32Array(4 * ch).fill(1) } };
    expect(compare('MaxPoolGrad', grad, attrs)).toBe(0);
  });

  it.each([
    { name: 'bias gradient (all but channels)', shape: [4, 5, 6, 7], axis: [0, 1, 2], keepDims: false },
    { name: 'first axis, keepDims', shape: [300, 9], axis: 0, keepDims: true },
    { name: 'bias gradient, 16 channels (vector path)', shape: [9, 11, 13, 16], axis: [0, 1, 2], keepDims: false },
    { name: 'last axis (falls back)', shape: [5, 8], axis: -1, keepDims: false },
    { name: 'every axis (falls back)', shape: [5, 8], axis: [0, 1], keepDims: false },
  ])('Sum: $name', (c) => {
    expect(compare('Sum', { x: { shape: c.shape, data: randomArray(c.shape, 38) } }, { axis: c.axis, keepDims: c.keepDims })).toBeLessThanOrEqual(1e-5);
  });

  it.each([
    { name: 'bias over channels', a: [4, 5, 6, 7], b: [7] },
    { name: 'bias over 16 channels (vector path, several tasks)', a: [20, 26, 26, 16], b: [16] },
    { name: 'bias first', a: [7], b: [4, 5, 6, 7] },
    { name: 'scalar', a: [30, 4], b: [] },
    { name: 'same shapes', a: [3, 70_000], b: [3, 70_000] },
    { name: 'trailing block with leading ones', a: [1, 1, 3, 7], b: [5, 3, 7] },
    { name: 'inner broadcast (falls back)', a: [4, 3], b: [4, 1] },
  ])('Add: $name gives cpu’s values and shape exactly', (c) => {
    const add = (backend: string) =>
      onBackend(backend, () => {
        const [a, b] = [tf.tensor(randomArray(c.a, 41), c.a), tf.tensor(randomArray(c.b, 42), c.b)];
        const out = tf.add(a, b);
        const got = { shape: out.shape, data: Array.from(out.dataSync()) };
        tf.dispose([a, b, out]);
        return got;
      });
    expect(add('wasm')).toEqual(add('cpu'));
  });

  const matCases: { name: string; a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
    { name: 'plain', a: [1, 5, 7], b: [1, 7, 33], ta: false, tb: false },
    { name: 'transposeA', a: [1, 300, 70], b: [1, 300, 40], ta: true, tb: false },
    { name: 'transposeB (few rows: split by columns)', a: [1, 3, 300], b: [1, 100, 300], ta: false, tb: true },
    { name: 'both transposed', a: [1, 9, 6], b: [1, 13, 9], ta: true, tb: true },
    { name: 'batched', a: [3, 6, 10], b: [3, 10, 4], ta: false, tb: false },
    { name: 'batch broadcast', a: [4, 6, 10], b: [1, 10, 5], ta: false, tb: false },
    { name: 'dense layer backward (64 x 3136 x 128)', a: [1, 64, 3136], b: [1, 64, 128], ta: true, tb: false },
  ];
  it.each(matCases)('BatchMatMul: $name', (c) => {
    const inputs = { a: { shape: c.a, data: randomArray(c.a, 22) }, b: { shape: c.b, data: randomArray(c.b, 23) } };
    expect(compare('BatchMatMul', inputs, { transposeA: c.ta, transposeB: c.tb })).toBeLessThanOrEqual(1e-4);
  });

  it('_FusedMatMul with bias and relu', () => {
    const inputs = { a: { shape: [1, 17, 40], data: randomArray([1, 17, 40], 24) }, b: { shape: [1, 40, 12], data: randomArray([1, 40, 12], 25) }, bias: { shape: [12], data: randomArray([12], 26) } };
    expect(compare('_FusedMatMul', inputs, { transposeA: false, transposeB: false, activation: 'relu' })).toBeLessThanOrEqual(1e-4);
  });

  it('falls back to the previous kernel for what it does not handle (sigmoid, prelu)', () => {
    const x = [1, 6, 6, 3];
    const f: Shape4 = [3, 3, 3, 2];
    const sigmoid = { x: { shape: x, data: randomArray(x, 27) }, filter: { shape: f, data: randomArray(f, 28) } };
    expect(compare('FusedConv2D', sigmoid, { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'sigmoid' })).toBeLessThanOrEqual(1e-4);
    const prelu = {
      a: { shape: [1, 4, 5], data: randomArray([1, 4, 5], 29) },
      b: { shape: [1, 5, 3], data: randomArray([1, 5, 3], 30) },
      preluActivationWeights: { shape: [3], data: randomArray([3], 31) },
    };
    expect(compare('_FusedMatMul', prelu, { transposeA: false, transposeB: false, activation: 'prelu' })).toBeLessThanOrEqual(1e-4);
  });

  it('gives bit-identical results with 1 and 2 threads (seeded training stays reproducible)', () => {
    const c = convCases[6];
    const dy = shapeOut(c, false);
    const inputs = { x: { shape: c.x, data: randomArray(c.x, 40) }, dy: { shape: dy, data: randomArray(dy, 41) } };
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter };
    const sumAttrs = { axis: [0, 1, 2], keepDims: false };
    const run = (threads: number) => {
      native.kernels!.setThreads(threads);
      return [runKernel('wasm', 'Conv2DBackpropFilter', inputs, attrs), runKernel('wasm', 'Sum', { x: inputs.x }, sumAttrs)];
    };
    const one = run(1);
    const two = run(2);
    expect(two[0]).toEqual(one[0]);
    expect(two[1]).toEqual(one[1]);
  });

  it('gives the same training gradients as cpu for a small CNN, without leaking tensors', () => {
    const xs = randomArray([8, 12, 12, 1], 32);
    const w1 = randomArray([3, 3, 1, 8], 33);
    const w2 = randomArray([3, 3, 8, 4], 34);
    const w3 = randomArray([4, 10], 35);
    const grads = (backend: string) =>
      onBackend(backend, () => {
        const before = tf.memory().numTensors;
        const vars = [tf.tensor4d(w1, [3, 3, 1, 8]), tf.tensor4d(w2, [3, 3, 8, 4]), tf.tensor2d(w3, [4, 10])];
        const x = tf.tensor4d(xs, [8, 12, 12, 1]);
        const g = tf.grads((a, b, c) => {
          const h1 = tf.maxPool(tf.relu(tf.conv2d(x, a as tf.Tensor4D, 1, 'same')), 2, 2, 'valid');
          const h2 = tf.maxPool(tf.relu(tf.conv2d(h1, b as tf.Tensor4D, 2, 'same')), 2, 2, 'valid');
          return tf.sum(tf.square(tf.matMul(tf.reshape(h2, [8, 4]), c as tf.Tensor2D)));
        })(vars);
        const out = g.map((t) => t.dataSync() as Float32Array);
        tf.dispose([...g, ...vars, x]);
        expect(tf.memory().numTensors).toBe(before);
        return out;
      });
    const want = grads('cpu');
    const got = grads('wasm');
    got.forEach((g, i) => expect(maxRelError(g, want[i])).toBeLessThanOrEqual(1e-4));
  });
});
