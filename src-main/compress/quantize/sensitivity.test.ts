import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTemplate } from '../../models';
import { initBackend } from '../../tf';
import { calibrate } from './observers';
import { fromHalfBits, sizesAt, toHalfBits, withPrecision } from './precision';
import { layerSensitivity } from './sensitivity';
import { evaluateInt8 } from './simulate';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

function data(n: number, seed: number) {
  const x = tf.randomNormal([n, 10], 0, 1, 'float32', seed);
  return { x: x.dataSync() as Float32Array, n, sampleShape: [10], y: new Int32Array(n) };
}

describe('per-layer sensitivity', () => {
  it('ranks first the layer whose quantization hurts most', async () => {
    const model = buildTemplate({ template: 'mlp', inputShape: [10], numClasses: 4, hidden: [32, 32], seed: 6 });
    // dense1's unit 0 is dead (zero weights, bias −1: ReLU gives 0), and dense2 reads it with weights
    // of 500: the float outputs do not change, but per-tensor int8 then rounds every other dense2
    // weight to zero. Activation ranges are untouched, so only dense2's own quantization hurts.
    const [k1, b1] = model.getLayer('dense1').getWeights();
    const dead = tf.tidy(() => tf.reshape(tf.oneHot(tf.tensor1d([0], 'int32'), 32), [32]));
    model.getLayer('dense1').setWeights([tf.mul(k1, tf.sub(1, dead)), tf.sub(b1, dead)]);
    const [k, b] = model.getLayer('dense2').getWeights();
    const row0 = tf.tidy(() => tf.concat([tf.fill([1, 32], 500), tf.zeros([31, 32])], 0));
    model.getLayer('dense2').setWeights([tf.add(k, row0), b]);
    const s = data(200, 1);
    // Labels: the float model's own predictions, so float accuracy is 1.
    s.y = Int32Array.from(tf.tidy(() => tf.argMax(model.predict(tf.tensor(s.x, [200, 10])) as tf.Tensor, -1).dataSync()));
    const { params } = calibrate(model, s, { observer: 'minmax' });
    const r = await layerSensitivity(model, params, s);
    expect(r.floatAccuracy).toBe(1);
    expect(r.layers.map((l) => l.layer)).toEqual(expect.arrayContaining(['dense1', 'dense2', 'logits']));
    expect(r.layers[0].layer).toBe('dense2');
    expect(r.layers[0].drop).toBeGreaterThan(0.2);
    expect(r.layers[r.layers.length - 1].drop).toBeLessThan(0.1);
    // Keeping it in float recovers most of the full INT8 accuracy.
    const all = await evaluateInt8(model, params, s);
    const kept = await evaluateInt8(model, { ...params, floatLayers: ['dense2'] }, s);
    expect(kept.accuracy).toBeGreaterThan(all.accuracy + 0.2);
  });
});

describe('other precisions and sizes', () => {
  it('half-precision rounding', () => {
    for (const v of [0, 1, -2.5, 65504, 1 / 3, 6.1e-5, 1e-7]) expect(fromHalfBits(toHalfBits(v))).toBeCloseTo(v, v < 1e-4 ? 7 : 3);
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(-2)).toBe(0xc000);
    expect(fromHalfBits(toHalfBits(1e6))).toBe(Infinity);
  });

  it('fp16 and dynamic-range copies stay close to the float model; sizes shrink with precision and sparsity', async () => {
    const model = buildTemplate({ template: 'lenet', inputShape: [12, 12, 1], numClasses: 3, filters: [4, 8], dense: [16], seed: 2 });
    const x = tf.randomUniform([4, 12, 12, 1], 0, 1, 'float32', 3);
    const ref = (model.predict(x) as tf.Tensor).arraySync() as number[][];
    for (const p of ['fp16', 'dynamic'] as const) {
      const m = await withPrecision(model, p);
      const got = (m.predict(x) as tf.Tensor).arraySync() as number[][];
      ref.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(got[i][j] - v)).toBeLessThan(p === 'fp16' ? 1e-3 : 0.05)));
    }
    const fp32 = sizesAt(model, 'fp32');
    const fp16 = sizesAt(model, 'fp16');
    const int8 = sizesAt(model, 'int8');
    expect(fp32.bytes).toBe(fp32.params * 4);
    expect(fp16.bytes).toBe(fp32.params * 2);
    expect(int8.bytes).toBeLessThan(fp32.bytes / 2); // kernels 1 byte, biases stay 4
    // Zero out 90 % of every kernel: gzip notices.
    for (const l of model.layers) {
      const w = l.getWeights();
      if (!w.length) continue;
      const mask = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform(w[0].shape, 0, 1, 'float32', 8), 0.9), 'float32'));
      l.setWeights([tf.mul(w[0], mask), ...w.slice(1)]);
    }
    const sparse = sizesAt(model, 'fp32');
    expect(sparse.nonzeroParams).toBeLessThan(fp32.nonzeroParams);
    expect(sparse.gzipBytes).toBeLessThan(0.6 * fp32.gzipBytes);
  });
});
