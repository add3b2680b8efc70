import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../tf';
import { summarizeModel } from './summary';
import { buildTemplate } from './templates';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const byName = (s: ReturnType<typeof summarizeModel>) => Object.fromEntries(s.layers.map((l) => [l.name, l]));

describe('summaries of the reference CNNs (hand-computed)', () => {
  it('teacher conv3×3(32)-pool-conv3×3(64)-pool-dense(128)-dense(10) on 28×28×1', () => {
    const s = summarizeModel(buildTemplate({ template: 'lenet', inputShape: [28, 28, 1], numClasses: 10 }));
    const l = byName(s);
    // conv1: 26·26 outputs × 32 filters × 3·3·1 taps; params 3·3·1·32 + 32.
    expect([l.conv1.macs, l.conv1.params]).toEqual([26 * 26 * 32 * 9, 320]);
    // conv2: 11·11 × 64 × 3·3·32; params 3·3·32·64 + 64.
    expect([l.conv2.macs, l.conv2.params]).toEqual([11 * 11 * 64 * 9 * 32, 18496]);
    expect([l.dense1.macs, l.dense1.params]).toEqual([1600 * 128, 1600 * 128 + 128]);
    expect([l.logits.macs, l.logits.params]).toEqual([1280, 1290]);
    expect(l.pool1.macs).toBe(0);
    expect(l.pool1.note).toMatch(/comparisons only/);
    expect(l.flatten.outputShape).toEqual([1600]);
    expect(s.totals.params).toBe(225034);
    expect(s.totals.macs).toBe(194688 + 2230272 + 204800 + 1280);
    expect(s.totals.macsDeployed).toBe(s.totals.macs);
    expect(s.totals.bytes).toBe(225034 * 4);
    expect(s.inputShape).toEqual([28, 28, 1]);
    expect(s.outputShape).toEqual([10]);
    expect(s.output).toBe('logits');
  });

  it('student 8/16/32', () => {
    const s = summarizeModel(buildTemplate({ template: 'lenet', inputShape: [28, 28, 1], numClasses: 10, width: 0.25 }));
    expect(s.layers.map((l) => l.macs)).toEqual([0, 26 * 26 * 8 * 9, 0, 11 * 11 * 16 * 9 * 8, 0, 0, 400 * 32, 320]);
    expect(s.totals.params).toBe(80 + (144 * 8 + 16) + (400 * 32 + 32) + 330);
  });
});

describe('MAC rules', () => {
  it('Conv2D stride and padding, DepthwiseConv2D, BatchNorm (folded at export), Add, pooling', () => {
    const input = tfl.input({ shape: [28, 28, 3] });
    const same = tfl.layers.conv2d({ name: 'same_s2', filters: 16, kernelSize: 3, strides: 2, padding: 'same', useBias: false }).apply(input) as tfl.SymbolicTensor;
    const bn = tfl.layers.batchNormalization({ name: 'bn' }).apply(same) as tfl.SymbolicTensor;
    const dw = tfl.layers.depthwiseConv2d({ name: 'dw', kernelSize: 3, padding: 'same', depthMultiplier: 2 }).apply(bn) as tfl.SymbolicTensor;
    const valid = tfl.layers.conv2d({ name: 'valid_s2', filters: 16, kernelSize: 3, strides: 2, padding: 'valid' }).apply(input) as tfl.SymbolicTensor;
    const pad = tfl.layers.zeroPadding2d({ name: 'pad', padding: [[1, 0], [1, 0]] }).apply(valid) as tfl.SymbolicTensor;
    const pw = tfl.layers.conv2d({ name: 'pw', filters: 32, kernelSize: 1 }).apply(pad) as tfl.SymbolicTensor;
    const sum = tfl.layers.add({ name: 'sum' }).apply([dw, pw]) as tfl.SymbolicTensor;
    const gap = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(sum) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ name: 'out', units: 5 }).apply(gap) as tfl.SymbolicTensor;
    const s = summarizeModel(tfl.model({ inputs: input, outputs: out }));
    const l = byName(s);
    expect(l.same_s2.outputShape).toEqual([14, 14, 16]);
    expect(l.same_s2.macs).toBe(14 * 14 * 16 * 3 * 3 * 3);
    expect(l.valid_s2.outputShape).toEqual([13, 13, 16]);
    expect(l.valid_s2.macs).toBe(13 * 13 * 16 * 3 * 3 * 3);
    expect(l.bn.macs).toBe(14 * 14 * 16);
    expect(l.dw.outputShape).toEqual([14, 14, 32]);
    expect(l.dw.macs).toBe(14 * 14 * 32 * 3 * 3);
    expect(l.dw.params).toBe(3 * 3 * 16 * 2 + 32);
    expect(l.pw.macs).toBe(14 * 14 * 32 * 16);
    expect(l.sum.macs).toBe(0);
    expect(l.sum.note).toBe(`${14 * 14 * 32} element-wise additions, no multiplications`);
    expect(l.gap.macs).toBe(0);
    expect(l.out.macs).toBe(32 * 5);
    expect(l.bn.params).toBe(64);
    expect(l.bn.trainableParams).toBe(32);
    expect(s.totals.macs - s.totals.macsDeployed).toBe(l.bn.macs);
  });

  it('BatchNorm after a fused non-linear activation does not fold', () => {
    const input = tfl.input({ shape: [4, 4, 1] });
    const c = tfl.layers.conv2d({ filters: 2, kernelSize: 1, activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
    const bn = tfl.layers.batchNormalization({ name: 'bn_after_relu' }).apply(c) as tfl.SymbolicTensor;
    const s = summarizeModel(tfl.model({ inputs: input, outputs: bn }));
    expect(s.totals.macsDeployed).toBe(s.totals.macs);
  });

  it('Dense on a rank-3 input multiplies by the leading dimensions', () => {
    const input = tfl.input({ shape: [6, 4] });
    const d = tfl.layers.dense({ name: 'd', units: 3 }).apply(input) as tfl.SymbolicTensor;
    expect(byName(summarizeModel(tfl.model({ inputs: input, outputs: d }))).d.macs).toBe(6 * 4 * 3);
  });
});

describe('non-zero parameters', () => {
  it('counts zeros written into the weights (pruning) and reports sparsity', () => {
    const m = buildTemplate({ template: 'mlp', inputShape: [10], numClasses: 2, hidden: [8] });
    const before = summarizeModel(m);
    // Biases start at zero.
    expect(before.totals.nonZeroParams).toBe(10 * 8 + 8 * 2);
    const dense1 = m.getLayer('dense1');
    const [k, b] = dense1.getWeights();
    const mask = tf.tensor2d(Array.from({ length: 80 }, (_, i) => (i < 20 ? 0 : 1)), [10, 8]);
    dense1.setWeights([tf.mul(k, mask), b]);
    const after = summarizeModel(m);
    expect(after.totals.nonZeroParams).toBe(before.totals.nonZeroParams - 20);
    expect(after.totals.params).toBe(before.totals.params);
    expect(after.totals.sparsity).toBeCloseTo(1 - after.totals.nonZeroParams / after.totals.params, 10);
    expect(summarizeModel(m, { nonZero: false }).totals.nonZeroParams).toBe(after.totals.params);
  });

  it('flags models that end in a softmax', () => {
    const input = tfl.input({ shape: [3] });
    const out = tfl.layers.dense({ units: 2, activation: 'softmax' }).apply(input) as tfl.SymbolicTensor;
    expect(summarizeModel(tfl.model({ inputs: input, outputs: out })).output).toBe('probabilities');
  });
});
