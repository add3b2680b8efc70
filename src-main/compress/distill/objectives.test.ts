import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTemplate } from '../../models';
import { initBackend } from '../../tf';
import { auxHeadsObjective, defaultAuxHeads, featureObjective, liveTeacher } from './objectives';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const lenet = (width: number) => buildTemplate({ template: 'lenet', inputShape: [28, 28, 1], numClasses: 10, width, seed: 1 });

describe('distillation objectives', () => {
  it('puts default auxiliary heads at the ends of CNN stages, or after hidden dense layers', () => {
    expect(defaultAuxHeads(lenet(0.25))).toEqual(['pool1', 'pool2']);
    expect(defaultAuxHeads(buildTemplate({ template: 'mlp', inputShape: [20], numClasses: 3, hidden: [8, 4] }))).toEqual(['dense1', 'dense2']);
  });

  it('maps student features to the teacher with 1×1-conv and dense adapters, and trains them', () => {
    const teacher = lenet(1);
    const student = lenet(0.25);
    const obj = featureObjective(student, teacher, liveTeacher(teacher), { pairs: [{ teacher: 'conv2', student: 'conv2' }, { teacher: 'dense1', student: 'dense1' }], beta: 1, adapter: 'auto', phase: 'joint', hintEpochs: 1, temperature: 4, alpha: 0.7, seed: 0, firstEpoch: 0 });
    expect(obj.extraVariables.map((v) => v.shape)).toEqual([[16, 64], [64], [32, 128], [128]]);
    const xs = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 3);
    const ys = tf.tensor1d([0, 1, -1, 3], 'int32');
    const { value, grads } = tf.variableGrads(() => obj.loss(xs, ys, { indices: Int32Array.from([0, 1, 2, 3]), epoch: 0 }), [...obj.extraVariables]);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    expect(Object.keys(grads)).toHaveLength(4);
    obj.dispose();
  });

  it('explains feature pairs that cannot be matched', () => {
    const teacher = lenet(1);
    const student = lenet(0.25);
    const make = (pair: { teacher: string; student: string }, adapter: 'auto' | 'dense' = 'auto') =>
      featureObjective(student, teacher, liveTeacher(teacher), { pairs: [pair], beta: 1, adapter, phase: 'joint', hintEpochs: 1, temperature: 4, alpha: 0.7, seed: 0, firstEpoch: 0 });
    expect(() => make({ teacher: 'conv1', student: 'conv2' })).toThrow(/spatial sizes differ \(26×26 vs 11×11\)/);
    expect(() => make({ teacher: 'conv2', student: 'dense1' })).toThrow(/pair layers of the same kind/);
    expect(() => make({ teacher: 'conv2', student: 'conv2' }, 'dense')).toThrow(/Use the 1×1 convolution adapter/);
    expect(() => auxHeadsObjective(student, { heads: ['nope'], temperature: 2, alpha: 0.5, seed: 0, numClasses: 10 })).toThrow(/student has no layer named "nope"/);
  });
});
