import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTemplate } from '../../models';
import { initBackend } from '../../tf';
import { kdObjective, liveTeacher, type TeacherSource } from './objectives';

beforeAll(async () => {
  await import('@tensorflow/tfjs-layers');
  await initBackend();
});

describe('live teacher off the gradient tape', () => {
  it('gives the same loss and student gradients with fewer kernels and less memory than a taped teacher', async () => {
    const spec = { inputShape: [16, 16, 3], numClasses: 4, seed: 3 };
    const teacher = buildTemplate({ template: 'mobilenet', ...spec, width: 0.5 });
    const student = buildTemplate({ template: 'lenet', ...spec, width: 0.25 });
    const xs = tf.randomUniform([6, 16, 16, 3], 0, 1, 'float32', 4);
    const ys = tf.tensor1d([0, 1, 2, 3, 0, 1], 'int32');
    const info = { indices: new Int32Array(6), epoch: 0, batch: 0, step: 0 };
    const taped: TeacherSource = { logits: (x) => teacher.apply(x, { training: false }) as tf.Tensor2D };
    const run = async (source: TeacherSource) => {
      const loss = kdObjective(student, source, 4, 0.5).loss;
      let out: { value: number[]; grads: number[][] } | null = null;
      const profile = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => loss(xs, ys, info), student.trainableWeights.map((w) => w.read() as tf.Variable));
        out = { value: Array.from(value.dataSync()), grads: Object.values(grads).map((g) => Array.from(g.dataSync())) };
        tf.dispose([value, ...Object.values(grads)]);
      });
      return { ...out!, kernels: profile.kernels.length, peakBytes: profile.peakBytes };
    };
    const off = await run(liveTeacher(teacher));
    const on = await run(taped);
    expect(off.value).toEqual(on.value);
    expect(off.grads).toEqual(on.grads);
    expect(off.grads.flat().some((g) => g !== 0)).toBe(true);
    // The taped teacher records every kernel of its forward pass and keeps its activations alive.
    expect(off.kernels).toBeLessThan(on.kernels);
    expect(off.peakBytes).toBeLessThan(on.peakBytes);
    tf.dispose([xs, ys]);
    teacher.dispose();
    student.dispose();
  });
});
