import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../src-shared/errors';
import { buildTemplate, type TemplateSpec } from '../../models';
import { initBackend } from '../../tf';
import { kdObjective } from '../distill/objectives';
import { estimateStepMemory, planMicroBatches, stepMemoryBudget } from './memory';
import { createTrainStep, crossEntropyLoss, type LossFn, trainableVariables } from './step';

beforeAll(async () => {
  await import('@tensorflow/tfjs-layers');
  await initBackend();
});

const lenet: TemplateSpec = { template: 'lenet', inputShape: [12, 12, 1], numClasses: 5, width: 0.25, seed: 4 };

function batch(n: number, labels: (i: number) => number, seed = 1): { xs: tf.Tensor; ys: tf.Tensor1D } {
  return { xs: tf.randomUniform([n, 12, 12, 1], 0, 1, 'float32', seed), ys: tf.tensor1d(Array.from({ length: n }, (_, i) => labels(i)), 'int32') };
}

/** Weights after two SGD steps (linear in the gradient, so float differences are not amplified as in Adam's first step). */
function trained(spec: TemplateSpec, microBatch: number | undefined, data: { xs: tf.Tensor; ys: tf.Tensor1D }, loss?: (m: tfl.LayersModel) => LossFn): { weights: Float32Array[]; losses: number[] } {
  const info = { indices: Int32Array.from({ length: data.xs.shape[0] }, (_, i) => i), epoch: 0, batch: 0, step: 0 };
  const model = buildTemplate(spec);
  const opt = tf.train.sgd(0.5);
  const step = createTrainStep(model, opt, loss ? loss(model) : crossEntropyLoss(model), [], { microBatch });
  const losses = [step(data.xs, data.ys, info), step(data.xs, data.ys, info)];
  const weights = model.weights.map((w) => w.read().dataSync() as Float32Array);
  opt.dispose();
  model.dispose();
  return { weights, losses };
}

function expectClose(a: { weights: Float32Array[]; losses: number[] }, b: { weights: Float32Array[]; losses: number[] }): void {
  expect(a.losses[0]).toBeCloseTo(b.losses[0], 5);
  expect(a.losses[1]).toBeCloseTo(b.losses[1], 5);
  let moved = 0;
  a.weights.forEach((w, i) => {
    const v = b.weights[i];
    for (let j = 0; j < w.length; j++) {
      expect(Math.abs(w[j] - v[j])).toBeLessThan(1e-5 + 1e-5 * Math.abs(w[j]));
    }
    moved += w.length;
  });
  expect(moved).toBeGreaterThan(100);
}

describe('micro-batches with gradient accumulation', () => {
  it('give the full batch update (uneven split 4+4+2), loss and weights', () => {
    const data = batch(10, (i) => i % 5);
    const full = trained(lenet, undefined, data);
    const split = trained(lenet, 4, data);
    expectClose(split, full);
    // The full batch is deterministic: the tolerance above is the split's rounding, nothing else.
    const fullOnce = trained(lenet, undefined, data);
    expect(fullOnce.weights).toEqual(full.weights);
    tf.dispose([data.xs, data.ys]);
  });

  it('give the full batch update when some labels are hidden (mean over the labeled rows of the whole batch)', () => {
    const data = batch(10, (i) => (i % 3 === 0 ? -1 : i % 5), 2);
    expectClose(trained(lenet, 3, data), trained(lenet, undefined, data));
    // A micro-batch with no labeled row at all (rows 0-1 here: labels −1, −1).
    const sparse = batch(8, (i) => (i < 2 || i === 5 ? -1 : i % 5), 3);
    expectClose(trained(lenet, 2, sparse), trained(lenet, undefined, sparse));
    tf.dispose([data.xs, data.ys, sparse.xs, sparse.ys]);
  });

  it('give the full batch update for the distillation loss (teacher logits by sample index)', () => {
    const data = batch(9, (i) => (i === 4 ? -1 : i % 5), 5);
    const table = tf.randomNormal([9, 5], 0, 2, 'float32', 8);
    const kd = (m: tfl.LayersModel): LossFn => kdObjective(m, { logits: (_x, idx) => tf.gather(table, tf.tensor1d(idx, 'int32')) as tf.Tensor2D }, 4, 0.5).loss;
    expectClose(trained(lenet, 4, data, kd), trained(lenet, undefined, data, kd));
    tf.dispose([data.xs, data.ys, table]);
  });

  it('run a BatchNormalization model split in micro-batches and leave no tensor behind', () => {
    const model = buildTemplate({ template: 'mobilenet', inputShape: [12, 12, 3], numClasses: 4, width: 0.25, seed: 1 });
    const opt = tf.train.adam(1e-3);
    const plans: number[] = [];
    const step = createTrainStep(model, opt, crossEntropyLoss(model), [], { microBatch: 3, onPlan: (p) => plans.push(p.count) });
    const xs = tf.randomUniform([8, 12, 12, 3], 0, 1, 'float32', 3);
    const ys = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32');
    step(xs, ys);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) expect(Number.isFinite(step(xs, ys))).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    expect(plans).toEqual([3]);
    tf.dispose([xs, ys]);
    opt.dispose();
    model.dispose();
  });
});

describe('step memory plan', () => {
  const memory = { perSampleBytes: 100 * 2 ** 20, fixedBytes: 20 * 2 ** 20, heaviest: [{ name: 'block_1_expand', bytes: 40 * 2 ** 20 }] };

  it('keeps a batch whole when it fits and splits it into near-equal micro-batches when not', () => {
    expect(planMicroBatches(8, memory, 1024 * 2 ** 20)).toMatchObject({ microBatch: 8, count: 1 });
    // 1000 MiB of room → 10 samples fit → 32 = 4 micro-batches of 8.
    expect(planMicroBatches(32, memory, 1020 * 2 ** 20)).toMatchObject({ microBatch: 8, count: 4 });
    // A teacher's forward pass adds per sample: 1000 / 125 = 8 fit → 33 = 5 micro-batches of 7.
    expect(planMicroBatches(33, memory, 1020 * 2 ** 20, 25 * 2 ** 20)).toMatchObject({ microBatch: 7, count: 5 });
  });

  it('refuses with a message that says what to change when one sample does not fit', () => {
    let err: unknown;
    try {
      planMicroBatches(4, memory, 100 * 2 ** 20);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('OUT_OF_MEMORY');
    expect((err as AppError).message).toMatch(/smaller input resolution|narrower model/);
    expect((err as AppError).message).toMatch(/block_1_expand/);
  });

  it('reads the budget from POCKETBENCH_STEP_MEMORY_MB and refuses nonsense', () => {
    expect(stepMemoryBudget({})).toBe(1536 * 2 ** 20);
    expect(stepMemoryBudget({ POCKETBENCH_STEP_MEMORY_MB: '512' })).toBe(512 * 2 ** 20);
    expect(() => stepMemoryBudget({ POCKETBENCH_STEP_MEMORY_MB: 'lots' })).toThrow(/POCKETBENCH_STEP_MEMORY_MB/);
    expect(() => stepMemoryBudget({ POCKETBENCH_STEP_MEMORY_MB: '8000' })).toThrow(/3584/);
  });

  it.each<[string, TemplateSpec]>([
    ['mobilenet', { template: 'mobilenet', inputShape: [32, 32, 3], numClasses: 10, width: 0.25, seed: 1 }],
    ['resnet', { template: 'resnet', inputShape: [32, 32, 3], numClasses: 10, width: 0.5, seed: 1 }],
  ])('estimates a %s step above its measured peak and within 3× of it', async (_name, spec) => {
    const model = buildTemplate(spec);
    const loss = crossEntropyLoss(model);
    const peak = async (n: number) => {
      const xs = tf.randomUniform([n, 32, 32, 3], 0, 1, 'float32', 2);
      const ys = tf.tensor1d(Array.from({ length: n }, (_, i) => i % 10), 'int32');
      const p = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => loss(xs, ys, { indices: new Int32Array(0), epoch: 0, batch: 0, step: 0 }), trainableVariables(model));
        tf.dispose([value, ...Object.values(grads)]);
      });
      tf.dispose([xs, ys]);
      return p.peakBytes;
    };
    const perSample = ((await peak(12)) - (await peak(4))) / 8;
    const est = estimateStepMemory(model);
    expect(est.perSampleBytes).toBeGreaterThanOrEqual(perSample);
    expect(est.perSampleBytes).toBeLessThan(3 * perSample);
    model.dispose();
  });
});
