import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { blobs } from '../../../test/helpers/synthetic-data';
import { trainingView } from '../../data';
import { buildTemplate } from '../../models';
import { initBackend } from '../../tf';
import { createOptimizer, createTrainStep, evaluate, fit, gatherBatch, learningRateAt } from '.';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const ds = blobs({ classes: 3, features: 4, perClass: 40 });
const data = trainingView(ds);
const mlp = (seed = 1) => buildTemplate({ template: 'mlp', inputShape: [4], numClasses: 3, seed, hidden: [16] });
const weightsOf = (m: ReturnType<typeof mlp>) => m.getWeights().map((w) => Array.from(w.dataSync()));

describe('createTrainStep', () => {
  it('lowers the loss and leaves no tensors behind', () => {
    const model = mlp();
    const opt = createOptimizer('adam', 0.01);
    const step = createTrainStep(model, opt);
    const idx = Int32Array.from({ length: 32 }, (_, i) => i);
    const { xs, ys } = gatherBatch(data.train, idx);
    const first = step(xs, ys);
    step(xs, ys); // optimizer slots now exist
    const before = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 20; i++) last = step(xs, ys);
    expect(tf.memory().numTensors).toBe(before);
    expect(last).toBeLessThan(first);
    tf.dispose([xs, ys]);
    opt.dispose();
    model.dispose();
  });
});

describe('learningRateAt', () => {
  it('gives the schedule of the recipe per epoch', () => {
    expect([0, 3, 9].map((e) => learningRateAt({ kind: 'constant' }, 0.1, e, 10))).toEqual([0.1, 0.1, 0.1]);
    expect([0, 1, 2, 3, 4].map((e) => learningRateAt({ kind: 'step', everyEpochs: 2, gamma: 0.5 }, 0.1, e, 5))).toEqual([0.1, 0.1, 0.05, 0.05, 0.025]);
    const cos = [0, 2, 4].map((e) => learningRateAt({ kind: 'cosine', minFactor: 0 }, 1, e, 4));
    expect(cos[0]).toBeCloseTo(1, 12);
    expect(cos[1]).toBeCloseTo(0.5, 12);
    expect(cos[2]).toBeCloseTo(0, 12);
    expect(learningRateAt({ kind: 'cosine', minFactor: 0.1 }, 1, 2, 4)).toBeCloseTo(0.55, 12);
  });
});

describe('fit', () => {
  it('learns, reports per batch and epoch, keeps tensor count flat, and uses the scheduled LR', async () => {
    const model = mlp();
    const start = tf.memory().numTensors;
    const counts: number[] = [];
    const lrs: number[] = [];
    const batches: number[] = [];
    const res = await fit({
      model, data, epochs: 4, batchSize: 16, lr: 0.02, seed: 3, schedule: { kind: 'step', everyEpochs: 2, gamma: 0.5 },
      onBatch: (p) => {
        batches.push(p.batch);
        expect(p.etaMs).toBeGreaterThanOrEqual(0);
      },
      onEpoch: (p) => {
        counts.push(tf.memory().numTensors);
        lrs.push(p.lr);
        expect(p.metrics.val_accuracy).toBe(p.valAccuracy);
      },
    });
    expect(new Set(counts).size).toBe(1);
    expect(lrs).toEqual([0.02, 0.02, 0.01, 0.01]);
    expect(batches.length).toBe(4 * Math.ceil(120 / 16));
    expect(res.val!.accuracy).toBeGreaterThan(0.8);
    expect(res.curves.loss[3]).toBeLessThan(res.curves.loss[0]);
    expect(res.epochsRun).toBe(4);
    // The optimizer fit created is gone: only the model's weights remain.
    expect(tf.memory().numTensors).toBe(start);
    model.dispose();
  });

  it('repeats exactly with the same seed, differs with another', async () => {
    const run = async (seed: number) => {
      const m = mlp();
      await fit({ model: m, data, epochs: 2, batchSize: 16, seed });
      const w = weightsOf(m);
      m.dispose();
      return w;
    };
    const a = await run(7);
    expect(await run(7)).toEqual(a);
    expect(await run(8)).not.toEqual(a);
  });

  it('stops within a batch when cancelled', async () => {
    const model = mlp();
    const ctl = new AbortController();
    let seen = 0;
    const p = fit({ model, data, epochs: 3, batchSize: 8, signal: ctl.signal, onBatch: (b) => {
      seen++;
      if (b.batch === 3) ctl.abort();
    } });
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(seen).toBe(3);
    model.dispose();
  });

  it('stops early and restores the best epoch\'s weights', async () => {
    const model = mlp();
    let bestWeights: number[][] = [];
    // A learning rate this large makes validation accuracy fall after the first epochs.
    const res = await fit({
      model, data, epochs: 30, batchSize: 8, optimizer: 'sgd', lr: 0.5, seed: 1, earlyStopping: { patience: 2 },
      onEpoch: (p) => {
        if (p.isBest) bestWeights = weightsOf(model);
      },
    });
    expect(res.stoppedEarly).toBe(true);
    expect(res.epochsRun).toBe(res.bestEpoch + 2);
    expect(weightsOf(model)).toEqual(bestWeights);
    const best = Math.max(...res.history.map((h) => h.valAccuracy!));
    expect(res.val!.accuracy).toBe(best);
    model.dispose();
  });

  it('selects the best epoch only from selectFromEpoch on (earlier epochs are never restored)', async () => {
    // The same falling-accuracy setup: the best epoch overall is an early one.
    const run = async (selectFromEpoch?: number) => {
      const model = mlp();
      const byEpoch: number[][][] = [];
      const res = await fit({ model, data, epochs: 6, batchSize: 8, optimizer: 'sgd', lr: 0.5, seed: 1, selectFromEpoch, onEpoch: () => void byEpoch.push(weightsOf(model)) });
      return { model, res, byEpoch };
    };
    const free = await run();
    expect(free.res.bestEpoch).toBeLessThan(4); // the setup has its best epoch early
    const late = await run(4);
    const eligible = late.res.history.slice(3).map((h) => h.valAccuracy!);
    expect(late.res.bestEpoch).toBeGreaterThanOrEqual(4);
    expect(late.res.val!.accuracy).toBe(Math.max(...eligible));
    expect(weightsOf(late.model)).toEqual(late.byEpoch[late.res.bestEpoch - 1]);
    // None eligible: the last epoch's weights are kept.
    const none = await run(7);
    expect(none.res.bestEpoch).toBe(6);
    expect(weightsOf(none.model)).toEqual(none.byEpoch[5]);
    for (const r of [free, late, none]) r.model.dispose();
  });

  it('calls the per-step hook after every optimizer step and honours a loss override', async () => {
    const model = mlp();
    const w0 = model.trainableWeights[0].read();
    const mask = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform(w0.shape, 0, 1, 'float32', 3), 0.5), 'float32'));
    let steps = 0;
    let lossCalls = 0;
    await fit({
      model, data, epochs: 1, batchSize: 16,
      lossFn: (xs, ys) => {
        lossCalls++;
        const logits = model.apply(xs, { training: true }) as tf.Tensor;
        return tf.losses.softmaxCrossEntropy(tf.oneHot(ys, 3), logits) as tf.Scalar;
      },
      afterStep: () => {
        steps++;
        const v = model.trainableWeights[0].read() as tf.Variable;
        v.assign(tf.tidy(() => tf.mul(v, mask)));
      },
    });
    expect(steps).toBe(Math.ceil(120 / 16));
    expect(lossCalls).toBe(steps);
    const w = model.trainableWeights[0].read().dataSync();
    const m = mask.dataSync();
    for (let i = 0; i < m.length; i++) if (m[i] === 0) expect(Math.abs(w[i])).toBe(0);
    mask.dispose();
    model.dispose();
  });

  it('checkpoints every epoch and resumes to the same weights as an uninterrupted run', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-fit-'));
    try {
      const full = mlp();
      await fit({ model: full, data, epochs: 4, batchSize: 16, seed: 2 });
      const ctl = new AbortController();
      const a = mlp();
      await expect(fit({ model: a, data, epochs: 4, batchSize: 16, seed: 2, signal: ctl.signal, checkpoint: { dir }, onEpoch: (p) => {
        if (p.epoch === 2) ctl.abort();
      } })).rejects.toMatchObject({ code: 'CANCELLED' });
      const b = mlp(99); // different start: everything must come from the checkpoint
      const res = await fit({ model: b, data, epochs: 4, batchSize: 16, seed: 2, checkpoint: { dir, resume: true } });
      expect(res.resumedFromEpoch).toBe(2);
      expect(res.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
      const wb = weightsOf(b);
      weightsOf(full).forEach((w, i) => w.forEach((v, j) => expect(wb[i][j]).toBeCloseTo(v, 5)));
      // A checkpoint of another model is refused with a clear message.
      const other = buildTemplate({ template: 'mlp', inputShape: [4], numClasses: 3, seed: 1, hidden: [8] });
      await expect(fit({ model: other, data, epochs: 5, checkpoint: { dir, resume: true } })).rejects.toThrow(/different model|shape/);
      [full, a, b, other].forEach((m) => m.dispose());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a model whose outputs do not match the classes', async () => {
    const m = buildTemplate({ template: 'mlp', inputShape: [4], numClasses: 5, seed: 1 });
    await expect(fit({ model: m, data, epochs: 1 })).rejects.toThrow(/outputs 5 values but the dataset has 3 classes/);
    m.dispose();
  });
});

describe('evaluate', () => {
  it('scores a model on a split with every metric', () => {
    const m = mlp();
    const r = evaluate(m, ds.test, { k: 2 });
    expect(r.n).toBe(ds.test.n);
    expect(r.confusion.flat().reduce((a, b) => a + b, 0)).toBe(ds.test.n);
    expect(r.topK).toBeGreaterThanOrEqual(r.accuracy);
    expect(r.ece).toBeGreaterThanOrEqual(0);
    m.dispose();
  });
});

describe('augmentImages', () => {
  it('shifts and flips a batch without changing its shape, the same way for the same seed', async () => {
    const { augmentImages } = await import('.');
    const { createRng } = await import('../../data/rng');
    const xs = tf.tidy(() => tf.reshape(tf.range(0, 2 * 6 * 6, 1, 'float32'), [2, 6, 6, 1]));
    const a = augmentImages(xs, createRng(4));
    const b = augmentImages(xs, createRng(4));
    expect(a.shape).toEqual([2, 6, 6, 1]);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    // Every output value is an input value or padding (zero).
    const input = new Set(Array.from(xs.dataSync()));
    for (const v of a.dataSync()) expect(v === 0 || input.has(v)).toBe(true);
    tf.dispose([xs, a, b]);
  });
});
