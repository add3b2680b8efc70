/**
 * The add-on's entry points refuse a buffer whose length does not match the geometry they are given
 * (a JavaScript error, nothing written) and turn a failure inside a pool job into a JavaScript error,
 * with the pool still usable afterwards. Calls go straight to the add-on, without tfjs.
 */
import { describe, expect, it } from 'vitest';
import { loadNativeKernels } from './native';

const native = loadNativeKernels(process.env);
if (!native.kernels) console.warn(`native guard tests skipped: ${native.reason}`);
const k = native.kernels!;

const f32 = (n: number, fill = 0) => new Float32Array(n).fill(fill);
// geometry: B H W Ci OH OW Co FH FW SH SW DH DW padTop padLeft (a 3x3 'same' conv, 2 images of 5x5x3 → 4 channels)
const g = [2, 5, 5, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1];
const X = 2 * 5 * 5 * 3;
const Y = 2 * 5 * 5 * 4;
const WT = 3 * 3 * 3 * 4;

describe.skipIf(!native.kernels)('native add-on argument checks', () => {
  it('accepts exact lengths (the control case)', () => {
    const y = f32(Y, 7);
    k.conv2d(f32(X, 1), f32(WT, 1), null, y, 0, ...g);
    expect(y[0]).toBe(12); // corner pixel: 2x2 taps inside × 3 channels
  });

  it.each([
    ['conv2d: x one float short', () => k.conv2d(f32(X - 1), f32(WT), null, f32(Y), 0, ...g), /x has 149 floats; the geometry needs 150/],
    ['conv2d: y short', () => k.conv2d(f32(X), f32(WT), null, f32(Y - 4), 0, ...g), /y has/],
    ['conv2d: bias of the wrong width', () => k.conv2d(f32(X), f32(WT), f32(3), f32(Y), 0, ...g), /bias/],
    ['conv2d: filter short', () => k.conv2d(f32(X), f32(WT - 1), null, f32(Y), 0, ...g), /w has/],
    ['conv2dBackpropInput: dx short', () => k.conv2dBackpropInput(f32(Y), f32(WT), f32(1), ...g), /dx has 1 floats/],
    ['conv2dBackpropFilter: dw short', () => k.conv2dBackpropFilter(f32(X), f32(Y), f32(WT - 1), ...g), /dw/],
    ['depthwise: Co ≠ Ci·M', () => k.depthwise(f32(X), f32(27), null, f32(Y), 0, 1, ...g), /multiplier/],
    ['depthwiseBackpropInput: dy short', () => k.depthwiseBackpropInput(f32(10), f32(27), f32(X), 1, ...[2, 5, 5, 3, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1]), /dy has 10/],
    ['maxPool: y short', () => k.maxPool(f32(X), f32(2), ...[2, 5, 5, 3, 2, 2, 3, 2, 2, 2, 2, 1, 1, 0, 0]), /y has 2/],
    ['maxPoolGrad: x short', () => k.maxPoolGrad(f32(24), f32(3), f32(X), ...[2, 5, 5, 3, 2, 2, 3, 2, 2, 2, 2, 1, 1, 0, 0]), /x has 3/],
    ['matmul: b short', () => k.matmul(f32(6), f32(5), null, f32(4), 0, 1, 2, 2, 3, 0, 0, 0, 0), /b has 5 floats; the geometry needs 6/],
    ['matmul: c short for the batch', () => k.matmul(f32(12), f32(6), null, f32(4), 0, 2, 2, 2, 3, 0, 0, 6, 0), /c has 4/],
    ['sumRows: out short', () => k.sumRows(f32(12), f32(3), 3, 4), /out has 3/],
    ['addBias: x short', () => k.addBias(f32(11), f32(4), f32(12), 3, 4), /x has 11/],
    ['adam: m short', () => k.adam(f32(8), f32(8), f32(7), f32(8), f32(8), f32(8)), /m has 7/],
    ['adam: 7 constants', () => k.adam(f32(8), f32(8), f32(8), f32(8), f32(7), f32(8)), /constants/],
    ['batchNormTrain: variance short', () => k.batchNormTrain(f32(12), null, null, f32(12), f32(4), f32(3), 3, 4, 1e-3), /variance has 3/],
    ['batchNormGrad: dx short', () => k.batchNormGrad(f32(12), f32(12), f32(4), f32(4), null, f32(11), f32(4), f32(4), 3, 4, 1e-3), /dx has 11/],
    ['batchNorm: gamma of the wrong width', () => k.batchNorm(f32(12), f32(4), f32(4), f32(5), null, f32(12), 3, 4, 1e-3), /gamma has 5/],
    ['meanMiddle: out short', () => k.meanMiddle(f32(24), f32(5), 2, 3, 4), /out has 5/],
    ['meanMiddleGrad: dx short', () => k.meanMiddleGrad(f32(8), f32(23), 2, 3, 4), /dx has 23/],
    ['addSame: b short', () => k.addSame(f32(8), f32(7), f32(8)), /b has 7/],
    ['relu6Grad: dx short', () => k.relu6Grad(f32(8), f32(8), f32(7)), /dx has 7/],
    ['clipGrad: x short', () => k.clipGrad(f32(8), f32(6), f32(8), 0, 6), /x has 6/],
    ['avgPoolGrad: dx short', () => k.avgPoolGrad(f32(24), f32(3), ...[2, 5, 5, 3, 2, 2, 3, 2, 2, 2, 2, 1, 1, 0, 0]), /dx has 3/],
    ['pad2d: y short for the padding', () => k.pad2d(f32(X), f32(X), 2, 5, 5, 3, 0, 1, 0, 1, 0), /y has 150 floats; the geometry needs 216/],
    ['slice4d: y short for the size', () => k.slice4d(f32(X), f32(20), 2, 5, 5, 3, 0, 1, 1, 0, 2, 2, 3, 2), /y has 20 floats; the geometry needs 24/],
    ['slice4d: begin + size past the dimension', () => k.slice4d(f32(X), f32(24), 2, 5, 5, 3, 0, 4, 0, 0, 2, 2, 2, 3), /axis 1: begin 4 \+ size 2 is outside the dimension 5/],
    ['a negative geometry', () => k.conv2d(f32(X), f32(WT), null, f32(Y), 0, ...g.map((v, i) => (i === 1 ? -5 : v))), /out of range/],
    ['a huge geometry (overflow)', () => k.sumRows(f32(4), f32(4), 2 ** 40, 4), /out of range/],
  ])('%s → RangeError, nothing written', (_name, call, message) => {
    expect(call).toThrow(RangeError);
    expect(call).toThrow(message);
  });

  it('a buffer that is not a Float32Array or is missing → TypeError', () => {
    expect(() => k.conv2d(new Float64Array(X) as never, f32(WT), null, f32(Y), 0, ...g)).toThrow(TypeError);
    expect(() => k.conv2d(f32(X), null as never, null, f32(Y), 0, ...g)).toThrow(/w is missing/);
  });

  it('does not write the output when it refuses the call', () => {
    const y = f32(Y, 5);
    expect(() => k.conv2d(f32(X - 1), f32(WT), null, y, 0, ...g)).toThrow();
    expect(y.every((v) => v === 5)).toBe(true);
  });

  it('an exception inside a pool job reaches JavaScript, with 1 and 2 threads, and the pool keeps working', () => {
    for (const threads of [1, 2]) {
      k.setThreads(threads);
      expect(() => k.failInPool(64, 37)).toThrow(/deliberate failure in chunk 37/);
      expect(() => k.failInPool(64, -1)).not.toThrow();
      const out = f32(4);
      k.sumRows(f32(4096 * 4, 1), out, 4096, 4);
      expect([...out]).toEqual([4096, 4096, 4096, 4096]);
    }
  });
});
