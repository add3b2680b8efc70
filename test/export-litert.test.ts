/**
 * Proof by the real runtime: every template exported at every precision loads in LiteRT and agrees
 * with TF.js (FP32 within 1e-4) and with an independent integer reference (full INT8).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { calibrateMinMax } from '../src-main/compress/quantize/minmax';
import type { QuantParams } from '../src-main/compress/quantize/params';
import { readFashionMnist } from '../src-main/data';
import { buildTflite } from '../src-main/export/exporter';
import { inspectTfliteBytes } from '../src-main/export/inspect';
import { loadTfliteModel } from '../src-main/export/litert-node';
import { buildTemplate, type TemplateSpec } from '../src-main/models';
import { initBackend } from '../src-main/tf';
import { TfliteReference } from './helpers/tflite-reference';

const N = 200;
const PX = 784;
let testX: Float32Array;
let calX: Float32Array;
const CAL = 128;

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
  const raw = readFashionMnist();
  testX = Float32Array.from(raw.test.pixels.subarray(0, N * PX), (v) => v / 255);
  calX = Float32Array.from(raw.train.pixels.subarray(0, CAL * PX), (v) => v / 255);
});

const argmax = (a: ArrayLike<number>, from: number, n: number) => {
  let best = 0;
  for (let j = 1; j < n; j++) if (a[from + j] > a[from + best]) best = j;
  return best;
};

async function runLiteRt(bytes: Uint8Array, x: Float32Array, n: number, per: number): Promise<Float32Array> {
  const m = await loadTfliteModel(bytes);
  const outs: number[] = [];
  for (let i = 0; i < n; i++) {
    const [y] = await m.run([x.slice(i * per, (i + 1) * per)]);
    outs.push(...y);
  }
  m.close();
  return Float32Array.from(outs);
}

const image = { inputShape: [28, 28, 1], numClasses: 10, seed: 7 };
const specs: TemplateSpec[] = [
  { template: 'mlp', ...image, width: 0.5 },
  { template: 'lenet', ...image, width: 0.25 },
  { template: 'mobilenet', ...image, width: 0.5, blocks: [{ filters: 64, stride: 2 }] },
  { template: 'resnet', ...image, width: 0.5, stages: [16, 32] },
];

describe.each(specs)('$template exports', (spec) => {
  let model: tfl.LayersModel;
  let expected: Float32Array;
  let quant: QuantParams;

  beforeAll(() => {
    model = buildTemplate(spec);
    expected = tf.tidy(() => (model.predict(tf.tensor(testX, [N, 28, 28, 1])) as tf.Tensor).dataSync() as Float32Array);
    quant = calibrateMinMax(model, { x: calX, n: CAL, sampleShape: [28, 28, 1] }).params;
  });

  it('FP32 equals TF.js within 1e-4 on 200 test images, with version-1 operators', async () => {
    const built = buildTflite(model, { precision: 'fp32' });
    expect(built.ops.every((o) => o.version === 1)).toBe(true);
    const got = await runLiteRt(built.bytes, testX, N, PX);
    let maxAbs = 0;
    for (let i = 0; i < got.length; i++) maxAbs = Math.max(maxAbs, Math.abs(got[i] - expected[i]));
    expect(maxAbs).toBeLessThanOrEqual(1e-4);
  });

  it.each(['fp16', 'int8-dynamic'] as const)('%s loads and keeps the FP32 decisions', async (precision) => {
    const built = buildTflite(model, { precision });
    const got = await runLiteRt(built.bytes, testX, 50, PX);
    let agree = 0;
    for (let i = 0; i < 50; i++) if (argmax(got, i * 10, 10) === argmax(expected, i * 10, 10)) agree++;
    expect(agree).toBeGreaterThanOrEqual(45);
    // Weight bytes: half for FP16; a quarter (plus float biases) for dynamic range.
    const fp32 = inspectTfliteBytes(buildTflite(model, { precision: 'fp32' }).bytes).weightBytes;
    const info = inspectTfliteBytes(built.bytes);
    expect(info.precision).toBe(precision);
    expect(info.weightBytes).toBeLessThanOrEqual(precision === 'fp16' ? 0.51 * fp32 : 0.3 * fp32);
  });

  it('full INT8 in LiteRT matches the integer reference (top-1 ≥ 99 %, ≥ 99 % within one step, none beyond two)', async () => {
    const built = buildTflite(model, { precision: 'int8', quant });
    const versions = Object.fromEntries(built.ops.map((o) => [o.op, o.version]));
    expect(versions).toMatchObject({ QUANTIZE: 1, DEQUANTIZE: 2 });
    for (const [op, v] of Object.entries(versions)) if (['CONV_2D', 'DEPTHWISE_CONV_2D'].includes(op)) expect(v).toBe(3);
    if (versions.FULLY_CONNECTED) expect(versions.FULLY_CONNECTED).toBe(4);
    const got = await runLiteRt(built.bytes, testX, N, PX);
    const ref = new TfliteReference(built.bytes);
    const step = ref.model.tensors[ref.model.operators.at(-1)!.inputs[0]].quant!.scale[0];
    let agree = 0;
    let within1 = 0;
    let beyond2 = 0;
    let agreeTfjs = 0;
    for (let i = 0; i < N; i++) {
      const r = ref.run(testX.slice(i * PX, (i + 1) * PX)) as Float32Array;
      for (let j = 0; j < 10; j++) {
        const d = Math.abs(r[j] - got[i * 10 + j]) / step;
        if (d <= 1.001) within1++;
        if (d > 2.001) beyond2++;
      }
      if (argmax(r, 0, 10) === argmax(got, i * 10, 10)) agree++;
      if (argmax(expected, i * 10, 10) === argmax(got, i * 10, 10)) agreeTfjs++;
    }
    expect(agree / N).toBeGreaterThanOrEqual(0.99);
    expect(within1 / (N * 10)).toBeGreaterThanOrEqual(0.99);
    expect(beyond2).toBe(0);
    expect(agreeTfjs / N).toBeGreaterThanOrEqual(0.9);
  });

  it('int8-input/output variant: the reference on int8 data agrees with its float-I/O twin in LiteRT', async () => {
    const int8io = buildTflite(model, { precision: 'int8', quant, io: 'int8' });
    const twin = buildTflite(model, { precision: 'int8', quant });
    const ref = new TfliteReference(int8io.bytes);
    expect(ref.inputTensor.type).toBe('INT8');
    expect(ref.outputTensor.type).toBe('INT8');
    const qi = ref.inputTensor.quant!;
    const qo = ref.outputTensor.quant!;
    const n = 50;
    const got = await runLiteRt(twin.bytes, testX, n, PX);
    let agree = 0;
    let beyond2 = 0;
    for (let i = 0; i < n; i++) {
      const x = Int8Array.from(testX.subarray(i * PX, (i + 1) * PX), (v) => Math.max(-128, Math.min(127, Math.round(v / qi.scale[0]) + qi.zeroPoint[0])));
      const r = ref.run(x) as Int8Array;
      const deq = Array.from(r, (q) => (q - qo.zeroPoint[0]) * qo.scale[0]);
      for (let j = 0; j < 10; j++) if (Math.abs(deq[j] - got[i * 10 + j]) / qo.scale[0] > 2.001) beyond2++;
      if (argmax(deq, 0, 10) === argmax(got, i * 10, 10)) agree++;
    }
    expect(beyond2).toBe(0);
    expect(agree / n).toBeGreaterThanOrEqual(0.98);
  });
});
