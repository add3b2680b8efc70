import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers'; // registers the gradients
import { beforeAll, describe, expect, it } from 'vitest';
import { initTestBackends, onBackend, randomArray } from '../../tf/test-helpers';
import { labelLoss } from './step';

beforeAll(() => initTestBackends(null));

/** The label loss as it was written with tensor ops only (the labeled count on the tape too). */
function tensorLabelLoss(logits: tf.Tensor, ys: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const onehot = tf.oneHot(ys, logits.shape[logits.shape.length - 1]!);
    const labeled = tf.cast(tf.greaterEqual(ys, 0), 'float32');
    const perSample = tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits as tf.Tensor2D)), -1));
    return tf.div(tf.sum(perSample), tf.maximum(tf.sum(labeled), 1)) as tf.Scalar;
  });
}

const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

/** The loss and its gradient with respect to the logits, as bit patterns. */
function lossAndGrad(loss: typeof labelLoss, labels: number[], seed: number, scale = 1): { value: number[]; grad: number[] } {
  const logits = tf.tensor2d(randomArray([labels.length, 10], seed), [labels.length, 10]);
  const ys = tf.tensor1d(labels, 'int32');
  // A scale other than 1 makes the incoming gradient dy ≠ 1, as inside a weighted sum of losses.
  const { value, grad } = tf.valueAndGrad((l: tf.Tensor) => (scale === 1 ? loss(l, ys) : tf.mul(loss(l, ys), scale)) as tf.Scalar)(logits);
  const out = { value: bits(value.dataSync()), grad: bits(grad.dataSync()) };
  tf.dispose([logits, ys, value, grad]);
  return out;
}

describe('labelLoss', () => {
  const cases: [string, number[]][] = [
    ['all labeled', Array.from({ length: 64 }, (_, i) => i % 10)],
    ['some hidden', Array.from({ length: 64 }, (_, i) => (i % 3 === 0 ? -1 : i % 10))],
    ['none labeled', Array.from({ length: 8 }, () => -1)],
  ];

  it.each(cases)('gives the bits of the all-tensor formula, loss and gradient, on wasm and cpu (%s)', (_name, labels) => {
    for (const backend of ['wasm', 'cpu']) {
      onBackend(backend, () => {
        for (const scale of [1, 0.3, -7.25]) {
          const got = lossAndGrad(labelLoss, labels, 3, scale);
          expect(got).toEqual(lossAndGrad(tensorLabelLoss, labels, 3, scale));
          expect(got.grad.some((b) => (b & 0x7fffffff) !== 0)).toBe(labels.some((y) => y >= 0));
        }
      });
    }
  });

  it('runs fewer kernels than the tensor formula, forward and backward', async () => {
    const kernels = (loss: typeof labelLoss) =>
      onBackend('wasm', () => {
        const logits = tf.tensor2d(randomArray([16, 10], 5), [16, 10]);
        const ys = tf.tensor1d(Array.from({ length: 16 }, (_, i) => (i % 4 === 0 ? -1 : i % 10)), 'int32');
        return tf.profile(() => tf.grad((l: tf.Tensor) => loss(l, ys))(logits)).then((p) => {
          tf.dispose([logits, ys]);
          return p.kernels.length;
        });
      });
    const lean = await kernels(labelLoss);
    const plain = await kernels(tensorLabelLoss);
    expect(lean).toBeLessThan(plain - 10);
  });

  it('averages over the labeled rows only and leaks no tensor', () => {
    onBackend('wasm', () => {
      const before = tf.memory().numTensors;
      const logits = tf.tensor2d([[0, 0], [5, -5], [1, 2]]);
      const ys = tf.tensor1d([0, -1, 1], 'int32');
      const loss = labelLoss(logits, ys);
      expect(loss.dataSync()[0]).toBeCloseTo((Math.log(2) + Math.log(1 + Math.exp(-1))) / 2, 6);
      tf.dispose([logits, ys, loss]);
      expect(tf.memory().numTensors).toBe(before);
    });
  });
});
