import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../tf';
import { hintLoss, kdLoss, maskedCrossEntropy, progressiveSelfTargets, softTargetLoss } from './losses';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

/** Reference in float64 plain JS: the formula of the issue, written out. */
function refKd(t: number[][], s: number[][], labels: number[], T: number, alpha: number): number {
  const softmax = (z: number[], temp: number) => {
    const m = Math.max(...z.map((v) => v / temp));
    const e = z.map((v) => Math.exp(v / temp - m));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  };
  let kl = 0;
  let ce = 0;
  let labelled = 0;
  for (let i = 0; i < t.length; i++) {
    const p = softmax(t[i], T);
    const q = softmax(s[i], T);
    kl += p.reduce((acc, pi, k) => acc + pi * Math.log(pi / q[k]), 0);
    if (labels[i] >= 0) {
      ce -= Math.log(softmax(s[i], 1)[labels[i]]);
      labelled++;
    }
  }
  return alpha * T * T * (kl / t.length) + (1 - alpha) * (labelled ? ce / labelled : 0);
}

const t = [
  [2.0, -1.0, 0.5],
  [0.1, 0.3, -2.0],
  [-0.7, 1.9, 0.4],
];
const s = [
  [1.0, 0.2, -0.3],
  [-0.5, 0.8, 0.1],
  [0.3, 0.3, 1.1],
];

describe('distillation losses', () => {
  it('matches a value computed by hand', () => {
    // Teacher [0, ln 3] -> [1/4, 3/4]; student [0, 0] -> [1/2, 1/2]; label 1.
    // KL = 1/4·ln(1/2) + 3/4·ln(3/2) = 0.1308120; CE = ln 2 = 0.6931472; α = 0.5, T = 1.
    const loss = kdLoss({ teacherLogits: tf.tensor2d([[0, Math.log(3)]]), studentLogits: tf.tensor2d([[0, 0]]), labels: tf.tensor1d([1], 'int32'), temperature: 1, alpha: 0.5 });
    expect(loss.dataSync()[0]).toBeCloseTo(0.5 * 0.130812 + 0.5 * 0.6931472, 5);
    // T = 2: teacher [0, ln3/2] -> [1/(1+√3), √3/(1+√3)]; KL·T² = 4·0.0363369.
    const soft = softTargetLoss(tf.tensor2d([[0, Math.log(3)]]), tf.tensor2d([[0, 0]]), 2);
    const p0 = 1 / (1 + Math.sqrt(3));
    expect(soft.dataSync()[0]).toBeCloseTo(4 * (p0 * Math.log(2 * p0) + (1 - p0) * Math.log(2 * (1 - p0))), 5);
  });

  it('equals the written-out formula for several T, α and a hidden label', () => {
    const labels = [0, -1, 2];
    for (const T of [1, 2, 4, 8, 16]) {
      for (const alpha of [0, 0.3, 0.7, 1]) {
        const got = kdLoss({ teacherLogits: tf.tensor2d(t), studentLogits: tf.tensor2d(s), labels: tf.tensor1d(labels, 'int32'), temperature: T, alpha }).dataSync()[0];
        expect(got).toBeCloseTo(refKd(t, s, labels, T, alpha), 5);
      }
    }
  });

  it('has the gradient that finite differences give', () => {
    const labels = [1, 0, -1];
    const T = 4;
    const alpha = 0.7;
    const g = tf.grad((x: tf.Tensor) => kdLoss({ teacherLogits: tf.tensor2d(t), studentLogits: x as tf.Tensor2D, labels: tf.tensor1d(labels, 'int32'), temperature: T, alpha }))(tf.tensor2d(s));
    const grad = g.arraySync() as number[][];
    const h = 1e-5;
    for (let i = 0; i < s.length; i++) {
      for (let k = 0; k < s[i].length; k++) {
        const plus = s.map((r) => [...r]);
        const minus = s.map((r) => [...r]);
        plus[i][k] += h;
        minus[i][k] -= h;
        const fd = (refKd(t, plus, labels, T, alpha) - refKd(t, minus, labels, T, alpha)) / (2 * h);
        expect(Math.abs(grad[i][k] - fd)).toBeLessThan(1e-4 * Math.max(1, Math.abs(fd)));
      }
    }
  });

  it('ignores hidden labels in the label term and gives 0 when a batch has none', () => {
    const logits = tf.tensor2d(s);
    const all = maskedCrossEntropy(tf.tensor1d([0, -1, -1], 'int32'), logits).dataSync()[0];
    const one = maskedCrossEntropy(tf.tensor1d([0], 'int32'), tf.tensor2d([s[0]])).dataSync()[0];
    expect(all).toBeCloseTo(one, 6);
    expect(maskedCrossEntropy(tf.tensor1d([-1, -1, -1], 'int32'), logits).dataSync()[0]).toBe(0);
  });

  it('builds progressive self-distillation targets and the hint loss', () => {
    const prev = tf.tensor2d([
      [0.2, 0.8],
      [0.6, 0.4],
    ]);
    const targets = progressiveSelfTargets(tf.tensor1d([0, -1], 'int32'), prev, 0.25).arraySync();
    expect(targets[0][0]).toBeCloseTo(0.75 + 0.25 * 0.2, 6);
    expect(targets[0][1]).toBeCloseTo(0.25 * 0.8, 6);
    expect(targets[1]).toEqual([expect.closeTo(0.6, 6), expect.closeTo(0.4, 6)]);
    expect(hintLoss(tf.tensor([1, 2, 3, 4]), tf.tensor([1, 2, 3, 6])).dataSync()[0]).toBeCloseTo(1, 6);
  });

  it('leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const a = tf.tensor2d(t);
    const b = tf.tensor2d(s);
    const l = tf.tensor1d([0, 1, -1], 'int32');
    tf.dispose(kdLoss({ teacherLogits: a, studentLogits: b, labels: l, temperature: 4, alpha: 0.7 }));
    tf.dispose([a, b, l]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
