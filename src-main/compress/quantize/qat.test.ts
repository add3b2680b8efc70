import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTemplate } from '../../models';
import { initBackend } from '../../tf';
import { fakeQuant, fakeQuantWeights } from './fake-quant';
import { validateQuantParams } from './params';
import { QatModel } from './qat';
import { Int8Simulator } from './simulate';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

describe('fake quantization with the straight-through estimator', () => {
  it('forward rounds to the grid; gradient is 1 inside the range and 0 outside', () => {
    const x = tf.tensor1d([-2, -0.26, 0.1, 0.74, 3]);
    // scale 0.5, zero point 0, int range −2…2 → representable [−1, 1]
    const y = fakeQuant(x, 0.5, 0, -2, 2);
    expect(Array.from(y.dataSync())).toEqual([-1, -0.5, 0, 0.5, 1]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(fakeQuant(t, 0.5, 0, -2, 2), tf.tensor1d([1, 2, 3, 4, 5]))))(x);
    expect(Array.from(g.dataSync())).toEqual([0, 2, 3, 4, 0]);
  });

  it('weights: symmetric per channel, gradient passes straight through', () => {
    const k = tf.tensor2d([[1, -0.02], [-0.5, 0.04], [0.25, 0.01]]); // 2 output channels
    const q = fakeQuantWeights(k, true).arraySync() as number[][];
    expect(q[0][0]).toBeCloseTo(1, 6);
    expect(q[1][1]).toBeCloseTo(0.04, 6); // channel 2 has its own scale 0.04/127
    expect(Math.abs(q[2][1] - 0.01)).toBeLessThanOrEqual(0.04 / 127 / 2 + 1e-9);
    const g = tf.grad((t: tf.Tensor) => tf.sum(fakeQuantWeights(t, true)))(k);
    expect(Array.from(g.dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
  });
});

describe('quantization-aware training', () => {
  it('fine-tunes the folded model with fake quantization; its QuantParams reproduce it in integer arithmetic', async () => {
    const model = buildTemplate({ template: 'mobilenet', inputShape: [8, 8, 1], numClasses: 3, width: 0.25, seed: 4, blocks: [{ filters: 16, stride: 2 }] });
    const n = 48;
    const x = tf.randomUniform([n, 8, 8, 1], 0, 1, 'float32', 5);
    // Labels from a fixed rule the model can learn: which third of the image is brightest.
    const y = tf.tidy(() => tf.oneHot(tf.argMax(tf.stack([tf.mean(tf.slice(x, [0, 0, 0, 0], [n, 8, 3, 1]), [1, 2, 3]), tf.mean(tf.slice(x, [0, 0, 3, 0], [n, 8, 2, 1]), [1, 2, 3]), tf.mean(tf.slice(x, [0, 0, 5, 0], [n, 8, 3, 1]), [1, 2, 3])], 1), 1), 3));
    const qat = await QatModel.create(model, { x: x.dataSync() as Float32Array, n, sampleShape: [8, 8, 1] });
    expect(qat.model.layers.some((l) => l.getClassName() === 'BatchNormalization')).toBe(false);
    const loss = () => tf.losses.softmaxCrossEntropy(y, qat.forward(x, true)) as tf.Scalar;
    const opt = tf.train.adam(0.01);
    const first = tf.tidy(() => loss().dataSync()[0]);
    for (let s = 0; s < 15; s++) opt.minimize(loss, false, qat.trainableWeights);
    const last = tf.tidy(() => loss().dataSync()[0]);
    expect(last).toBeLessThan(first);
    const params = validateQuantParams(qat.params());
    expect(params.calibration.observer).toBe('qat');
    expect(params.weights!.block1_pw.scales.length).toBe(4); // 16 × width 0.25, // per channel
    expect(params.weights!.logits.scales.length).toBe(1); // Dense per tensor
    const sim = await Int8Simulator.create(qat.model, params);
    const a = qat.forward(x, false).arraySync() as number[][];
    const b = sim.run(x).arraySync() as number[][];
    const spread = Math.max(...a.flat()) - Math.min(...a.flat());
    const err = Math.max(...a.flatMap((r, i) => r.map((v, j) => Math.abs(v - b[i][j]))));
    expect(err).toBeLessThan(0.1 * spread);
    sim.dispose();
  });
});
