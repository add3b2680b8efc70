import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTestBackends, onBackend, randomArray } from '../../tf/test-helpers';
import { kdLoss, maskedCrossEntropy, softTargetLoss, type KdLossArgs } from './losses';

beforeAll(() => initTestBackends(null));

/** kdLoss written with tensor ops only, every step on the gradient tape (as tfjs derives it). */
function tapedKdLoss({ teacherLogits, studentLogits, labels, temperature, alpha }: KdLossArgs): tf.Scalar {
  return tf.tidy(() => {
    const soft = softTargetLoss(teacherLogits, studentLogits, temperature);
    const hard = maskedCrossEntropy(labels, studentLogits);
    return tf.add(tf.mul(soft, tf.scalar(alpha)), tf.mul(hard, tf.scalar(1 - alpha)));
  });
}

const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

/** The loss and its gradient with respect to the student's logits, as bit patterns. */
function lossAndGrad(loss: typeof kdLoss, temperature: number, alpha: number, scale: number): { value: number[]; grad: number[] } {
  const rows = 24;
  const teacherLogits = tf.tensor2d(randomArray([rows, 10], 1).map((v) => 4 * v), [rows, 10]);
  const student = tf.tensor2d(randomArray([rows, 10], 2).map((v) => 3 * v), [rows, 10]);
  const labels = tf.tensor1d(Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? -1 : i % 10)), 'int32');
  const f = (s: tf.Tensor) => tf.mul(loss({ teacherLogits, studentLogits: s as tf.Tensor2D, labels, temperature, alpha }), scale) as tf.Scalar;
  const { value, grad } = tf.valueAndGrad(f)(student);
  const out = { value: bits(value.dataSync()), grad: bits(grad.dataSync()) };
  tf.dispose([teacherLogits, student, labels, value, grad]);
  return out;
}

describe('kdLoss gradient', () => {
  it.each([
    [1, 0.9, 1],
    [4, 0.9, 1],
    [3, 0.5, 0.3],
    [8, 0.1, -2.5],
  ])('gives the bits of the taped formula, loss and student gradient, on wasm and cpu (T %d, α %d, scale %d)', (temperature, alpha, scale) => {
    for (const backend of ['wasm', 'cpu']) {
      onBackend(backend, () => {
        const got = lossAndGrad(kdLoss, temperature, alpha, scale);
        expect(got).toEqual(lossAndGrad(tapedKdLoss, temperature, alpha, scale));
        expect(got.grad.some((b) => (b & 0x7fffffff) !== 0)).toBe(true);
      });
    }
  });

  it('runs fewer kernels than the taped formula and leaks no tensor', async () => {
    const kernels = (loss: typeof kdLoss) =>
      onBackend('wasm', () => {
        const before = tf.memory().numTensors;
        const teacherLogits = tf.tensor2d(randomArray([8, 10], 3), [8, 10]);
        const student = tf.tensor2d(randomArray([8, 10], 4), [8, 10]);
        const labels = tf.tensor1d([0, 1, -1, 3, 4, 5, 6, 7], 'int32');
        const f = (s: tf.Tensor) => loss({ teacherLogits, studentLogits: s as tf.Tensor2D, labels, temperature: 4, alpha: 0.9 });
        return tf.profile(() => tf.grad(f)(student)).then((p) => {
          tf.dispose([teacherLogits, student, labels, p.result as tf.Tensor]);
          expect(tf.memory().numTensors).toBe(before);
          return p.kernels.length;
        });
      });
    expect(await kernels(kdLoss)).toBeLessThan((await kernels(tapedKdLoss)) - 15);
  });
});
