import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTrainStep, crossEntropyLoss } from '../compress/train/step';
import { buildTemplate } from '../models';
import { initBackend } from './backend';
import { setFusedLayerTraining } from './fused-layers';
import { relu6Training } from './fused-norm';

beforeAll(async () => {
  await import('@tensorflow/tfjs-layers');
  await initBackend();
});
afterEach(() => setFusedLayerTraining(true));

/** conv (linear, no bias) → BN → ReLU6 → GAP → dense: one block of the networks phones run. */
function block(seed: number): tfl.LayersModel {
  const input = tfl.input({ shape: [7, 9, 3] });
  let x = tfl.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tfl.initializers.glorotUniform({ seed }) }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3, gammaInitializer: tfl.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed }), betaInitializer: tfl.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: seed + 1 }) }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.reLU({ maxValue: 6 }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 4, kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 2 }) }).apply(x) as tfl.SymbolicTensor });
}

interface Run {
  loss: number;
  grads: Float32Array[];
  weights: Float32Array[];
}

function gradsOf(fused: boolean, scale = 3): Run {
  setFusedLayerTraining(fused);
  const model = block(4);
  const xs = tf.mul(tf.randomNormal([6, 7, 9, 3], 0, 1, 'float32', 9), scale);
  const ys = tf.tensor1d([0, 1, 2, 3, 1, 2], 'int32');
  const loss = crossEntropyLoss(model);
  const { value, grads } = tf.variableGrads(() => loss(xs, ys, { indices: new Int32Array(0), epoch: 0, batch: 0, step: 0 }), model.trainableWeights.map((w) => w.read() as tf.Variable));
  const out = { loss: value.dataSync()[0], grads: model.trainableWeights.map((w) => grads[(w.read() as tf.Variable).name].dataSync() as Float32Array), weights: model.weights.map((w) => w.read().dataSync() as Float32Array) };
  tf.dispose([xs, ys, value, ...Object.values(grads)]);
  model.dispose();
  return out;
}

describe('BatchNormalization and ReLU6 as one taped op each', () => {
  it('computes the loss, moving statistics and gradients of tfjs-layers to float rounding', () => {
    const fused = gradsOf(true);
    const plain = gradsOf(false);
    expect(Math.abs(fused.loss - plain.loss)).toBeLessThan(1e-6 * Math.abs(plain.loss));
    // Moving mean and variance after one training call (and the untouched weights).
    fused.weights.forEach((w, i) => w.forEach((v, j) => expect(Math.abs(v - plain.weights[i][j])).toBeLessThan(1e-6 + 1e-6 * Math.abs(v))));
    fused.grads.forEach((g, i) => {
      const p = plain.grads[i];
      const scale = Math.max(...p.map(Math.abs));
      expect(scale).toBeGreaterThan(0);
      for (let j = 0; j < g.length; j++) expect(Math.abs(g[j] - p[j])).toBeLessThan(1e-4 * scale + 1e-7);
    });
    // Some activations clip at 6 and some at 0 (scale 3 inputs): both sides of the ReLU6 gradient ran.
    expect(fused.grads.flat().length).toBeGreaterThan(0);
  });

  it('masks the ReLU6 gradient where the output is 0 or 6 and passes it strictly between', () => {
    const x = tf.tensor1d([-2, 0, 0.5, 5.99, 6, 7, NaN]);
    const dy = tf.tensor1d([1, 2, 3, 4, 5, 6, 7]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(relu6Training(t), dy)))(x);
    const got = Array.from(g.dataSync());
    expect(got.slice(0, 6)).toEqual([0, 0, 3, 4, 0, 0]);
    expect(Array.from(relu6Training(x).dataSync()).slice(0, 6)).toEqual([0, 0, 0.5, 5.99 as number, 6, 6].map((v) => Math.fround(v)));
    tf.dispose([x, dy, g]);
  });

  it('runs a MobileNet step with far fewer kernels and a lower memory peak, and trains the same way', async () => {
    const spec = { template: 'mobilenet' as const, inputShape: [16, 16, 3], numClasses: 4, width: 0.5, seed: 3 };
    const xs = tf.randomUniform([8, 16, 16, 3], 0, 1, 'float32', 2);
    const ys = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32');
    const measure = async (fused: boolean) => {
      setFusedLayerTraining(fused);
      const model = buildTemplate(spec);
      const opt = tf.train.sgd(0.1);
      const step = createTrainStep(model, opt);
      const p = await tf.profile(() => void step(xs, ys));
      for (let i = 0; i < 3; i++) step(xs, ys);
      const weights = model.weights.map((w) => w.read().dataSync() as Float32Array);
      opt.dispose();
      model.dispose();
      return { kernels: p.kernels.length, peak: p.peakBytes, weights };
    };
    const fused = await measure(true);
    const plain = await measure(false);
    expect(fused.kernels).toBeLessThan(plain.kernels * 0.7);
    expect(fused.peak).toBeLessThan(plain.peak * 0.7);
    fused.weights.forEach((w, i) => {
      for (let j = 0; j < w.length; j++) expect(Math.abs(w[j] - plain.weights[i][j])).toBeLessThan(1e-4 + 1e-4 * Math.abs(w[j]));
    });
    tf.dispose([xs, ys]);
  });
});
