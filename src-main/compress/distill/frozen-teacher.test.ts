import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTemplate, toLogitsModel } from '../../models';
import { importModel } from '../../models/import';
import { initBackend } from '../../tf';
import { leanTeacher } from './frozen-teacher';

beforeAll(async () => {
  await import('@tensorflow/tfjs-layers');
  await initBackend();
});

const TM = '/work/shared/real-models/tm-keras-rps';

/** Trained-looking BatchNorm statistics (an untrained template's logits are ~1e-5 and prove nothing). */
function trainedLooking(model: tfl.LayersModel, seed: number): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const n = layer.getWeights()[0].shape[0];
    const s = seed++;
    layer.setWeights([
      tf.randomUniform([n], 0.5, 1.5, 'float32', s), // gamma
      tf.randomUniform([n], -0.2, 0.2, 'float32', s + 1000), // beta
      tf.randomUniform([n], -0.05, 0.05, 'float32', s + 2000), // moving mean
      tf.randomUniform([n], 0.05, 0.5, 'float32', s + 3000), // moving variance
    ]);
  }
}

async function compare(model: tfl.LayersModel, shape: number[], kernelShare: number): Promise<void> {
  const lean = await leanTeacher(model);
  const xs = tf.randomUniform([3, ...shape], -1, 1, 'float32', 5);
  const count = async (m: tfl.LayersModel) => (await tf.profile(() => tf.dispose(m.predict(xs) as tf.Tensor))).kernels.length;
  const a = (model.predict(xs) as tf.Tensor).arraySync() as number[][];
  const b = (lean.model.predict(xs) as tf.Tensor).arraySync() as number[][];
  const scale = Math.max(...a.flat().map(Math.abs));
  expect(scale).toBeGreaterThan(0.1);
  // Outputs differ across the images (not a flat untrained answer).
  expect(Math.abs(a[0][0] - a[1][0]) + Math.abs(a[0][1] - a[2][1])).toBeGreaterThan(1e-3 * scale);
  a.flat().forEach((v, i) => expect(Math.abs(v - b.flat()[i])).toBeLessThan(1e-4 * Math.max(1, scale)));
  const before = await count(model);
  const after = await count(lean.model);
  expect(lean.folded.length).toBeGreaterThan(0);
  expect(lean.merged.length).toBeGreaterThan(0);
  expect(after).toBeLessThan(before * kernelShare);
  expect(lean.model.layers.length).toBe(model.layers.length - lean.folded.length - lean.merged.length);
  tf.dispose(xs);
  lean.model.dispose();
}

describe('leanTeacher (BatchNorm folded, ReLU6 merged) for a frozen teacher', () => {
  it('gives the same outputs within 1e-4 with fewer than half the kernels (MobileNet template)', async () => {
    const model = buildTemplate({ template: 'mobilenet', inputShape: [24, 24, 3], numClasses: 5, width: 0.5, seed: 2 });
    trainedLooking(model, 7);
    await compare(model, [24, 24, 3], 0.5);
    model.dispose();
  });

  it('folds a ResNet (shortcut projections too) with fewer kernels and the same outputs', async () => {
    const model = buildTemplate({ template: 'resnet', inputShape: [16, 16, 3], numClasses: 4, width: 0.5, seed: 2 });
    trainedLooking(model, 11);
    await compare(model, [16, 16, 3], 0.7);
    model.dispose();
  });

  it.skipIf(!fs.existsSync(TM))('does the same on the Teachable Machine MobileNetV2 α 0.35 export', async () => {
    const model = await toLogitsModel((await importModel(TM)).model);
    await compare(model, [224, 224, 3], 0.5);
    model.dispose();
  });
});
