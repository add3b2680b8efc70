import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../tf';
import { SUPPORTED_LAYERS } from '../supported';
import { buildTemplate, type TemplateSpec } from '.';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const image = { inputShape: [28, 28, 1], numClasses: 10 };
const specs: TemplateSpec[] = [
  { template: 'mlp', ...image },
  { template: 'lenet', ...image },
  { template: 'mobilenet', ...image },
  { template: 'resnet', ...image },
];

describe('templates', () => {
  it.each(specs)('$template builds for 28×28×1 / 10 classes, runs, outputs logits, uses only exportable layers', (spec) => {
    const model = buildTemplate({ ...spec, width: 0.5, seed: 3 });
    const y = model.predict(tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 1)) as tf.Tensor;
    expect(y.shape).toEqual([2, 10]);
    // Logits, not probabilities: rows do not sum to 1 and values can be negative.
    const last = model.layers[model.layers.length - 1];
    expect(last.name).toBe('logits');
    expect((last.getConfig() as { activation: string }).activation).toBe('linear');
    for (const l of model.layers) expect(SUPPORTED_LAYERS).toContain(l.getClassName());
    y.dispose();
    model.dispose();
  });

  it('gives the same weights for the same seed and different ones for another seed', () => {
    for (const spec of specs) {
      const a = buildTemplate({ ...spec, width: 0.25, seed: 5 });
      const b = buildTemplate({ ...spec, width: 0.25, seed: 5 });
      const c = buildTemplate({ ...spec, width: 0.25, seed: 6 });
      const wa = a.getWeights()[0].dataSync();
      expect(Array.from(b.getWeights()[0].dataSync())).toEqual(Array.from(wa));
      expect(Array.from(c.getWeights()[0].dataSync())).not.toEqual(Array.from(wa));
      expect(JSON.stringify(a.toJSON(null, false))).toBe(JSON.stringify(b.toJSON(null, false)));
      [a, b, c].forEach((m) => m.dispose());
    }
  });

  it('expresses the reference teacher and student of issue 3', () => {
    const shapes = (w: number) => {
      const m = buildTemplate({ template: 'lenet', ...image, width: w });
      const out = m.layers.map((l) => `${l.name}:${(l.outputShape as number[]).slice(1).join('x')}`);
      m.dispose();
      return out;
    };
    expect(shapes(1)).toEqual(['input:28x28x1', 'conv1:26x26x32', 'pool1:13x13x32', 'conv2:11x11x64', 'pool2:5x5x64', 'flatten:1600', 'dense1:128', 'logits:10']);
    expect(shapes(0.25)).toEqual(['input:28x28x1', 'conv1:26x26x8', 'pool1:13x13x8', 'conv2:11x11x16', 'pool2:5x5x16', 'flatten:400', 'dense1:32', 'logits:10']);
  });

  it('mlp handles tabular input; the CNNs refuse it with a clear message', () => {
    const mlp = buildTemplate({ template: 'mlp', inputShape: [4], numClasses: 3, hidden: [16, 8] });
    expect((mlp.predict(tf.ones([5, 4])) as tf.Tensor).shape).toEqual([5, 3]);
    expect(mlp.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'Dense', 'Dense', 'Dense']);
    for (const template of ['lenet', 'mobilenet', 'resnet'] as const) {
      expect(() => buildTemplate({ template, inputShape: [4], numClasses: 3 })).toThrow(`The ${template} template needs image input shaped [height, width, channels]; got [4]`);
    }
  });

  it('rejects bad parameters', () => {
    expect(() => buildTemplate({ template: 'lenet', inputShape: [6, 6, 1], numClasses: 10 })).toThrow(/6×6 input is too small for 2 conv\+pool stages/);
    expect(() => buildTemplate({ template: 'mlp', inputShape: [4], numClasses: 1 })).toThrow(/at least 2 classes/);
    expect(() => buildTemplate({ template: 'mlp', inputShape: [4], numClasses: 3, width: 0 })).toThrow(/width multiplier/);
    expect(() => buildTemplate({ template: 'mlp', inputShape: [4], numClasses: 3, dropout: 1 })).toThrow(/Dropout/);
    expect(() => buildTemplate({ template: 'vgg', inputShape: [4], numClasses: 3 } as unknown as TemplateSpec)).toThrow(/Unknown template "vgg"/);
  });

  it('mobilenet is depthwise-separable with BatchNorm and ReLU6; resnet has residual Adds and 1×1 projections', () => {
    const mob = buildTemplate({ template: 'mobilenet', ...image, width: 0.25 });
    const types = mob.layers.map((l) => l.getClassName());
    expect(types.filter((t) => t === 'DepthwiseConv2D')).toHaveLength(5);
    expect(types).toContain('GlobalAveragePooling2D');
    expect(mob.layers.filter((l) => l.getClassName() === 'ReLU').every((l) => (l.getConfig() as { maxValue?: number }).maxValue === 6)).toBe(true);
    expect(mob.getLayer('block5_pw').outputShape).toEqual([null, 7, 7, 64]);

    const res = buildTemplate({ template: 'resnet', ...image, blocksPerStage: 2 });
    const names = res.layers.map((l) => l.name);
    expect(names.filter((n) => n.endsWith('_add'))).toHaveLength(6);
    // Projections where the shape changes (stage 2 and 3 first blocks), identity elsewhere.
    expect(names.filter((n) => n.endsWith('_proj'))).toEqual(['stage2_block1_proj', 'stage3_block1_proj']);
    expect(res.getLayer('stage3_block2_out').outputShape).toEqual([null, 7, 7, 64]);
    const all = buildTemplate({ template: 'resnet', ...image, projection: 'all' });
    expect(all.layers.filter((l) => l.name.endsWith('_proj'))).toHaveLength(3);
    [mob, res, all].forEach((m) => m.dispose());
  });
});
