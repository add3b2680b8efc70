import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTemplate, type TemplateSpec } from '../../models';
import { initBackend } from '../../tf';
import { planStructured, pruneStructured, type StructuredPlan } from './structured';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const base = { inputShape: [12, 12, 1], numClasses: 4, seed: 5 };
const specs: Record<string, TemplateSpec> = {
  mlp: { template: 'mlp', ...base, hidden: [16, 8] },
  lenet: { template: 'lenet', ...base, filters: [8, 12], dense: [16] },
  mobilenet: { template: 'mobilenet', ...base, stem: 8, blocks: [{ filters: 8, stride: 1 }, { filters: 16, stride: 2 }] },
  resnet: { template: 'resnet', ...base, stem: 8, stages: [8, 16] },
};

/**
 * Make the channels the plan drops dead in the original: zero kernel columns and bias entries of
 * their producers, and a very negative BatchNorm beta (so ReLU outputs exactly 0). Removing them
 * then must not change the model's output at all.
 */
function killDropped(model: tfl.LayersModel, plan: StructuredPlan): void {
  const dropped = new Map<string, number[]>();
  for (const g of plan.groups) {
    const drop = [...Array(g.channels).keys()].filter((c) => !g.keep.includes(c));
    for (const p of g.producers) dropped.set(p, drop);
  }
  const zeroAt = (t: tf.Tensor, idx: number[], value = 0) =>
    tf.tidy(() => {
      const n = t.shape[t.shape.length - 1];
      const m = tf.tensor1d([...Array(n).keys()].map((c) => (idx.includes(c) ? 0 : 1)));
      return tf.add(tf.mul(t, m), tf.mul(tf.sub(1, m), value));
    });
  // Follow each producer's group through BN layers (by walking outbound single-input BN chains).
  for (const layer of model.layers) {
    const drop = dropped.get(layer.name);
    if (drop?.length) layer.setWeights(layer.getWeights().map((w) => zeroAt(w, drop)));
  }
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    let src = layer.inboundNodes[0].inboundLayers[0];
    while (!dropped.has(src.name) && src.inboundNodes[0]?.inboundLayers.length) src = src.inboundNodes[0].inboundLayers[0];
    const drop = dropped.get(src.name);
    if (!drop?.length) continue;
    const [gamma, beta, mean, variance] = layer.getWeights();
    layer.setWeights([gamma, zeroAt(beta, drop, -50), zeroAt(mean, drop, 0), variance]);
  }
}

describe('structured pruning rebuilds a smaller model', () => {
  for (const [name, spec] of Object.entries(specs)) {
    it(`${name}: half the channels, same outputs when the dropped channels carried nothing, correct shapes`, async () => {
      const model = buildTemplate(spec);
      const plan = planStructured(model, { fraction: 0.5, norm: 'l1' });
      killDropped(model, plan);
      const { model: small, report } = await pruneStructured(model, { fraction: 0.5, norm: 'l1' });
      const x = tf.randomUniform([3, ...spec.inputShape], 0, 1, 'float32', 7);
      const a = (model.predict(x) as tf.Tensor).arraySync() as number[][];
      const b = (small.predict(x) as tf.Tensor).arraySync() as number[][];
      a.forEach((row, i) => row.forEach((v, j) => expect(b[i][j]).toBeCloseTo(v, 4)));
      // Every non-frozen group halved; the logits keep all classes.
      for (const g of report.groups) expect(g.after).toBe(g.frozen ? g.before : g.before - Math.round(g.before / 2));
      expect(report.groups.find((g) => g.producers.includes('logits'))?.frozen).toMatch(/model output/);
      expect(small.outputs[0].shape).toEqual([null, 4]);
      expect(report.after.params).toBeLessThan(report.before.params);
      expect(report.macsReduction).toBeGreaterThan(name === 'mlp' ? 1.3 : 1.8);
      tf.dispose(x);
    });
  }

  it('resnet: producers joined by a residual Add keep the same channels', () => {
    const model = buildTemplate(specs.resnet);
    const plan = planStructured(model, { fraction: 0.5, norm: 'l2' });
    const joined = plan.groups.find((g) => g.producers.includes('stem_conv'))!;
    expect(joined.producers).toEqual(expect.arrayContaining(['stem_conv', 'stage1_block1_conv2']));
    const proj = plan.groups.find((g) => g.producers.includes('stage2_block1_proj'))!;
    expect(proj.producers).toContain('stage2_block1_conv2');
  });

  it('the kept channels are those with the largest norms', () => {
    const model = buildTemplate(specs.lenet);
    const [k, bias] = model.getLayer('conv1').getWeights();
    const scale = tf.tensor1d([5, 0.1, 4, 0.1, 3, 0.1, 2, 0.1]);
    model.getLayer('conv1').setWeights([tf.mul(k, scale), bias]);
    const plan = planStructured(model, { fraction: 0.5, norm: 'l1' });
    expect(plan.groups.find((g) => g.producers[0] === 'conv1')!.keep).toEqual([0, 2, 4, 6]);
  });

  it('guard rails: an emptied layer is refused; skipped layers are left whole', () => {
    const tiny = buildTemplate({ template: 'mlp', inputShape: [4], numClasses: 2, hidden: [1], seed: 1 });
    expect(() => planStructured(tiny, { fraction: 0.6, norm: 'l1' })).toThrow(/"dense1" would leave no channel/);
    const plan = planStructured(buildTemplate(specs.lenet), { fraction: 0.5, norm: 'l1', skipLayers: ['conv2'] });
    expect(plan.groups.find((g) => g.producers[0] === 'conv2')!.frozen).toMatch(/skip/);
  });
});
