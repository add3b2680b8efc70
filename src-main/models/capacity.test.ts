import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../tf';
import { compareCapacity, suggestWidths } from './capacity';
import { outputsProbabilities, toLogitsModel } from './logits';
import { summarizeModel } from './summary';
import { buildTemplate } from './templates';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const lenet = { template: 'lenet' as const, inputShape: [28, 28, 1], numClasses: 10 };

describe('capacity', () => {
  it('compares the reference student with its teacher', () => {
    const teacher = summarizeModel(buildTemplate(lenet), { nonZero: false });
    const student = summarizeModel(buildTemplate({ ...lenet, width: 0.25 }), { nonZero: false });
    const c = compareCapacity(student, teacher);
    expect(c.teacher).toEqual({ params: 225034, macs: 2631040 });
    expect(c.paramsRatio).toBeCloseTo(student.totals.params / 225034, 12);
    expect(c.macsRatio).toBeCloseTo(student.totals.macs / 2631040, 12);
    expect(c.paramsRatio).toBeLessThan(0.1);
  });

  it('suggests widths near 1/4, 1/8 and 1/16 of the teacher, for the same or another template', () => {
    const teacher = summarizeModel(buildTemplate(lenet), { nonZero: false });
    const same = suggestWidths(lenet, teacher);
    expect(same.map((s) => s.target)).toEqual([1 / 4, 1 / 8, 1 / 16]);
    for (const s of same) {
      // The closest candidate width lands within a factor of 1.5 of the asked-for size.
      expect(s.paramsRatio / s.target).toBeGreaterThan(1 / 1.5);
      expect(s.paramsRatio / s.target).toBeLessThan(1.5);
      expect(s.params).toBe(summarizeModel(buildTemplate({ ...lenet, width: s.width }), { nonZero: false }).totals.params);
    }
    expect(same[0].width).toBeGreaterThan(same[1].width);
    expect(same[1].width).toBeGreaterThan(same[2].width);
    const mob = suggestWidths({ template: 'mobilenet', inputShape: [28, 28, 1], numClasses: 10 }, teacher, [0.1]);
    expect(mob[0].macsRatio).toBeGreaterThan(0);
    expect(mob[0].paramsRatio / 0.1).toBeLessThan(1.6);
  });
});

describe('logits from imported softmax models', () => {
  it('drops a trailing softmax, fused or as its own layer, keeping the weights', async () => {
    const x = tf.tensor2d([[0.5, -1, 2]]);
    const input = tfl.input({ shape: [3] });
    const fused = tfl.model({ inputs: input, outputs: tfl.layers.dense({ name: 'head', units: 4, activation: 'softmax' }).apply(input) as tfl.SymbolicTensor });
    const h = tfl.layers.dense({ name: 'h', units: 4 }).apply(input) as tfl.SymbolicTensor;
    const separate = tfl.model({ inputs: input, outputs: tfl.layers.activation({ name: 'sm', activation: 'softmax' }).apply(h) as tfl.SymbolicTensor });
    for (const m of [fused, separate]) {
      expect(outputsProbabilities(m)).toBe(true);
      const logits = await toLogitsModel(m);
      expect(outputsProbabilities(logits)).toBe(false);
      const p = (m.predict(x) as tf.Tensor).dataSync();
      const q = tf.softmax(logits.predict(x) as tf.Tensor).dataSync();
      for (let i = 0; i < 4; i++) expect(q[i]).toBeCloseTo(p[i], 6);
    }
    const plain = buildTemplate({ template: 'mlp', inputShape: [3], numClasses: 2 });
    expect(await toLogitsModel(plain)).toBe(plain);
  });
});
