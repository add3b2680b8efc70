import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTemplate } from '../../models';
import { initBackend } from '../../tf';
import { applyMasks, computeMasks, disposeMasks, flooredLayers, sparsityOf, stripPruning } from './magnitude';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const mlp = () => buildTemplate({ template: 'mlp', inputShape: [12], numClasses: 3, hidden: [16, 8], seed: 3 });

/** A few Adam steps with the masks re-applied after each, as the fine-tuning hook does. */
function trainSteps(model: tfl.LayersModel, after: () => void, steps = 5): void {
  const opt = tf.train.adam(0.05);
  const x = tf.randomNormal([32, 12], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d([...Array(32).keys()].map((i) => i % 3), 'int32'), 3);
  for (let s = 0; s < steps; s++) {
    opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, false, model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val));
    after();
  }
  tf.dispose([x, y]);
  opt.dispose();
}

describe('magnitude pruning', () => {
  it('per-layer: every kernel at the target, smallest |w| removed, biases untouched', () => {
    const m = mlp();
    const before = m.getLayer('dense1').getWeights()[0].dataSync().slice();
    const masks = computeMasks(m, { sparsity: 0.75, scope: 'layer' });
    applyMasks(m, masks);
    const r = sparsityOf(m);
    for (const l of r.layers) expect(l.zeros).toBe(Math.round(0.75 * l.params));
    // The kept weights are exactly the largest in magnitude.
    const after = m.getLayer('dense1').getWeights()[0].dataSync();
    const kept = [...before].filter((_, i) => after[i] !== 0).map(Math.abs);
    const dropped = [...before].filter((_, i) => after[i] === 0).map(Math.abs);
    expect(Math.min(...kept)).toBeGreaterThanOrEqual(Math.max(...dropped));
    expect(m.getLayer('dense1').getWeights()[1].dataSync().every((b) => b === 0)).toBe(true); // zero-init bias, never masked
    disposeMasks(masks);
  });

  it('global: one threshold over all kernels, total share exact', () => {
    const m = mlp();
    const masks = computeMasks(m, { sparsity: 0.6, scope: 'global' });
    applyMasks(m, masks);
    const r = sparsityOf(m);
    expect(r.zeros).toBe(Math.round(0.6 * r.params));
    // Layers differ (glorot scales differ by fan-in/out).
    expect(new Set(r.layers.map((l) => l.sparsity.toFixed(3))).size).toBeGreaterThan(1);
    disposeMasks(masks);
  });

  it('pruned weights stay exactly zero through optimizer steps when masks are re-applied', () => {
    const m = mlp();
    const masks = computeMasks(m, { sparsity: 0.5, scope: 'layer' });
    applyMasks(m, masks);
    const zerosBefore = sparsityOf(m).zeros;
    const w0 = m.getLayer('dense2').getWeights()[0].dataSync().slice();
    trainSteps(m, () => applyMasks(m, masks));
    const w1 = m.getLayer('dense2').getWeights()[0].dataSync();
    expect(sparsityOf(m).zeros).toBe(zerosBefore);
    expect([...w1].some((v, i) => v !== w0[i] && v !== 0)).toBe(true); // kept weights did train
    // Without the hook, Adam moves them off zero.
    trainSteps(m, () => {});
    expect(sparsityOf(m).zeros).toBeLessThan(zerosBefore);
    disposeMasks(masks);
  });

  it('strip gives a plain model with the same outputs', async () => {
    const m = mlp();
    const masks = computeMasks(m, { sparsity: 0.8, scope: 'layer' });
    const plain = await stripPruning(m, masks);
    applyMasks(m, masks);
    const x = tf.randomNormal([4, 12], 0, 1, 'float32', 2);
    const a = (m.predict(x) as tf.Tensor).arraySync() as number[][];
    const b = (plain.predict(x) as tf.Tensor).arraySync() as number[][];
    a.forEach((row, i) => row.forEach((v, j) => expect(b[i][j]).toBeCloseTo(v, 5)));
    expect(plain.layers.map((l) => l.name)).toEqual(m.layers.map((l) => l.name));
    expect(sparsityOf(plain).global).toBeCloseTo(0.8, 2);
    disposeMasks(masks);
  });

  it('guard rail: a target that empties a layer is refused, naming it', () => {
    const tiny = buildTemplate({ template: 'mlp', inputShape: [4], numClasses: 2, hidden: [2], seed: 1 });
    // dense1 has 8 weights, logits 4: 0.9 of 4 rounds to 4.
    expect(() => computeMasks(tiny, { sparsity: 0.9, scope: 'layer' })).toThrow(/layer "logits" .*no weight at all.*skip/);
    expect(() => computeMasks(tiny, { sparsity: 0.9, scope: 'layer', skipLayers: ['nope'] })).toThrow(/not found.*nope/);
    // Global scope: a target that cannot keep the floor of every layer is refused.
    expect(() => computeMasks(mlp(), { sparsity: 0.9, scope: 'global', minKeep: 0.5 })).toThrow(/cannot keep 50 % of every layer.*Lower the target to at most \d/);
  });

  it('global floor: a layer the threshold would empty keeps its largest weights up to the floor, the others give up the difference', () => {
    // Shrink the logits' weights so one threshold would remove every one of them.
    const m = mlp();
    const logits = m.getLayer('logits').getWeights();
    m.getLayer('logits').setWeights([tf.mul(logits[0], 1e-6), logits[1]]);
    const before = m.getLayer('logits').getWeights()[0].dataSync().slice();
    const masks = computeMasks(m, { sparsity: 0.5, scope: 'global', minKeep: 0.25 });
    applyMasks(m, masks);
    const r = sparsityOf(m);
    expect(r.zeros).toBe(Math.round(0.5 * r.params)); // the global total is still exact
    const l = r.layers.find((x) => x.layer === 'logits')!;
    expect(l.params - l.zeros).toBe(Math.ceil(0.25 * l.params));
    expect(flooredLayers(r, 0.25)).toEqual(['logits']);
    // The kept ones are its largest.
    const after = m.getLayer('logits').getWeights()[0].dataSync();
    const kept = [...before].filter((_, i) => after[i] !== 0).map(Math.abs);
    const dropped = [...before].filter((_, i) => after[i] === 0).map(Math.abs);
    expect(Math.min(...kept)).toBeGreaterThanOrEqual(Math.max(...dropped));
    disposeMasks(masks);
  });
});
