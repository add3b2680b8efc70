/**
 * The exported full-INT8 file, run by LiteRT, against the quantize stage's TF.js simulation of TFLite's
 * integer arithmetic (compress/quantize/simulate.ts) on 200 test images: the accuracy a user sees in
 * the app before export is the accuracy of the file that ships.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { calibrate } from '../src-main/compress/quantize/observers';
import { Int8Simulator } from '../src-main/compress/quantize/simulate';
import { readFashionMnist } from '../src-main/data';
import { buildTflite } from '../src-main/export/exporter';
import { loadTfliteModel } from '../src-main/export/litert-node';
import { buildTemplate, type TemplateSpec } from '../src-main/models';
import { initBackend } from '../src-main/tf';

const N = 200;
const PX = 784;
let x: Float32Array;
let cal: { x: Float32Array; n: number; sampleShape: number[] };

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
  const raw = readFashionMnist();
  x = Float32Array.from(raw.test.pixels.subarray(0, N * PX), (v) => v / 255);
  cal = { x: Float32Array.from(raw.train.pixels.subarray(0, 128 * PX), (v) => v / 255), n: 128, sampleShape: [28, 28, 1] };
});

const image = { inputShape: [28, 28, 1], numClasses: 10, seed: 7 };
const specs: (TemplateSpec & { observer: 'minmax' | 'percentile' })[] = [
  { template: 'mlp', ...image, width: 0.5, observer: 'minmax' },
  { template: 'lenet', ...image, width: 0.25, observer: 'percentile' },
  { template: 'mobilenet', ...image, width: 0.5, blocks: [{ filters: 64, stride: 2 }], observer: 'minmax' },
  { template: 'resnet', ...image, width: 0.5, stages: [16, 32], observer: 'percentile' },
];

describe.each(specs)('$template ($observer)', (spec) => {
  it('LiteRT on the INT8 file agrees with the simulated-quantization model on ≥ 99 % of top-1 decisions', async () => {
    const model = buildTemplate(spec);
    const { params } = calibrate(model, cal, { observer: spec.observer, percentile: 99.99 });
    const built = buildTflite(model, { precision: 'int8', quant: params });
    const sim = await Int8Simulator.create(model, params, {});
    const simulated = tf.tidy(() => sim.run(tf.tensor(x, [N, 28, 28, 1])).dataSync());
    sim.dispose();
    const m = await loadTfliteModel(built.bytes);
    let agree = 0;
    for (let i = 0; i < N; i++) {
      const [y] = await m.run([x.slice(i * PX, (i + 1) * PX)]);
      let a = 0;
      let b = 0;
      for (let j = 1; j < 10; j++) {
        if (y[j] > y[a]) a = j;
        if (simulated[i * 10 + j] > simulated[i * 10 + b]) b = j;
      }
      if (a === b) agree++;
    }
    m.close();
    expect(agree / N).toBeGreaterThanOrEqual(0.99);
  });
});
