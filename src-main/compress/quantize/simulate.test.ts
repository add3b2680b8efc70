import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTemplate } from '../../models';
import { initBackend } from '../../tf';
import { foldBatchNorm } from './fold';
import { calibrate } from './observers';
import { accuracyOf, Int8Simulator } from './simulate';
import type { QuantParams } from './params';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

// ---- A straightforward integer reference: plain loops, 64-bit BigInt requantization. ----
function qmul(x: number, real: number): number {
  // TFLite QuantizeMultiplier + MultiplyByQuantizedMultiplier, written with BigInt.
  let shift = Math.floor(Math.log2(real)) + 1;
  let q = real / 2 ** shift;
  if (q >= 1) (q /= 2), shift++;
  if (q < 0.5) (q *= 2), shift--;
  let m0 = Math.round(q * 2 ** 31);
  if (m0 === 2 ** 31) (m0 /= 2), shift++;
  const left = Math.max(shift, 0);
  const right = Math.max(-shift, 0);
  const ab = BigInt(x * 2 ** left) * BigInt(m0);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  const high = Number((ab + nudge) / (1n << 31n));
  if (!right) return high;
  const mask = (1 << right) - 1;
  const rem = high & mask;
  return (high >> right) + (rem > (mask >> 1) + (high < 0 ? 1 : 0) ? 1 : 0);
}
const rnd = (v: number) => (v < 0 ? -Math.round(-v) : Math.round(v));
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** conv3×3 same (relu) -> maxpool 2 -> flatten -> dense, in integers. */
function reference(model: tfl.LayersModel, p: QuantParams, x: number[], h: number, w: number): number[] {
  const aIn = p.activations.input;
  const aC = p.activations.conv;
  const aD = p.activations.dense;
  const qx = x.map((v) => clamp(rnd(v / Math.fround(aIn.scale)) + aIn.zeroPoint, -128, 127));
  const [k, b] = model.getLayer('conv').getWeights().map((t) => Array.from(t.dataSync()));
  const cout = b.length;
  const sw = Array.from({ length: cout }, (_, c) => Math.fround(Math.max(...k.filter((_, i) => i % cout === c).map(Math.abs)) / 127));
  const qk = k.map((v, i) => clamp(rnd(v / sw[i % cout]), -127, 127));
  const sIn = Math.fround(aIn.scale);
  const conv: number[] = [];
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++)
      for (let c = 0; c < cout; c++) {
        let acc = rnd(b[c] / (sIn * sw[c]));
        for (let di = -1; di <= 1; di++)
          for (let dj = -1; dj <= 1; dj++) {
            const y = i + di;
            const xx = j + dj;
            if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
            acc += (qx[y * w + xx] - aIn.zeroPoint) * qk[((di + 1) * 3 + (dj + 1)) * cout + c];
          }
        conv.push(clamp(qmul(acc, (sIn * sw[c]) / Math.fround(aC.scale)) + aC.zeroPoint, aC.zeroPoint, 127));
      }
  const pooled: number[] = [];
  for (let i = 0; i < h / 2; i++)
    for (let j = 0; j < w / 2; j++)
      for (let c = 0; c < cout; c++)
        pooled.push(Math.max(...[0, 1].flatMap((a) => [0, 1].map((bb) => conv[((2 * i + a) * w + 2 * j + bb) * cout + c]))));
  const [dk, db] = model.getLayer('dense').getWeights().map((t) => Array.from(t.dataSync()));
  const units = db.length;
  const sd = Math.fround(Math.max(...dk.map(Math.abs)) / 127);
  const sC = Math.fround(aC.scale);
  return Array.from({ length: units }, (_, u) => {
    let acc = rnd(db[u] / Math.fround(sC * sd));
    pooled.forEach((v, r) => (acc += (v - aC.zeroPoint) * clamp(rnd(dk[r * units + u] / sd), -127, 127)));
    const q = clamp(qmul(acc, Math.fround(sC * sd) / Math.fround(aD.scale)) + aD.zeroPoint, -128, 127);
    return (q - aD.zeroPoint) * Math.fround(aD.scale);
  });
}

describe('INT8 simulation', () => {
  it('matches a straightforward integer reference exactly', async () => {
    const input = tfl.input({ shape: [6, 6, 1], name: 'input' });
    let y = tfl.layers.conv2d({ name: 'conv', filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', biasInitializer: tfl.initializers.randomNormal({ seed: 2, stddev: 0.3 }), kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tfl.SymbolicTensor;
    y = tfl.layers.maxPooling2d({ name: 'pool', poolSize: 2 }).apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.flatten({ name: 'flat' }).apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.dense({ name: 'dense', units: 4, biasInitializer: tfl.initializers.randomNormal({ seed: 3, stddev: 0.3 }), kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }).apply(y) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: y });
    const n = 8;
    const xs = tf.randomUniform([n, 6, 6, 1], 0, 1, 'float32', 9);
    const { params } = calibrate(model, { x: xs.dataSync() as Float32Array, n, sampleShape: [6, 6, 1] }, { observer: 'minmax' });
    const sim = await Int8Simulator.create(model, params);
    const got = sim.run(xs).arraySync() as number[][];
    const data = Array.from(xs.dataSync());
    for (let i = 0; i < n; i++) {
      const want = reference(model, params, data.slice(i * 36, (i + 1) * 36), 6, 6);
      expect(got[i]).toEqual(want.map((v) => Math.fround(v)));
    }
    // And close to the float model.
    const float = (model.predict(xs) as tf.Tensor).arraySync() as number[][];
    float.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(got[i][j] - v)).toBeLessThan(0.1)));
    sim.dispose();
  });

  for (const template of ['mobilenet', 'resnet'] as const) {
    it(`${template}: BN folds exactly; INT8 output tracks the float model; keeping layers in float works`, async () => {
      const model = buildTemplate({ template, inputShape: [8, 8, 1], numClasses: 3, width: 0.25, seed: 2 });
      const x = tf.randomUniform([16, 8, 8, 1], 0, 1, 'float32', 3);
      // Put the model in inference mode with non-trivial BN statistics.
      for (const l of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
        const [g, b, m, v] = l.getWeights();
        l.setWeights([tf.add(g, 0.3), tf.add(b, 0.1), tf.add(m, 0.05), tf.add(v, 0.5)]);
      }
      const { model: folded, folded: names } = await foldBatchNorm(model);
      expect(names.length).toBeGreaterThan(0);
      expect(folded.layers.some((l) => l.getClassName() === 'BatchNormalization')).toBe(false);
      const f = (model.predict(x) as tf.Tensor).arraySync() as number[][];
      const g = (folded.predict(x) as tf.Tensor).arraySync() as number[][];
      f.forEach((row, i) => row.forEach((v, j) => expect(g[i][j]).toBeCloseTo(v, 4)));

      const { params } = calibrate(model, { x: x.dataSync() as Float32Array, n: 16, sampleShape: [8, 8, 1] }, { observer: 'minmax' });
      const sim = await Int8Simulator.create(model, params);
      const q = sim.run(x).arraySync() as number[][];
      const spread = Math.max(...f.flat()) - Math.min(...f.flat());
      const err = Math.max(...f.flatMap((row, i) => row.map((v, j) => Math.abs(v - q[i][j]))));
      expect(err).toBeLessThan(0.15 * spread);
      expect(sim.maxAccumulator).toBeLessThan(2 ** 24);
      // All ops in float = the float model.
      const allFloat = await Int8Simulator.create(model, params, { only: [] });
      const fl = allFloat.run(x).arraySync() as number[][];
      f.forEach((row, i) => row.forEach((v, j) => expect(fl[i][j]).toBeCloseTo(v, 4)));
      expect(sim.quantizableOps.length).toBeGreaterThan(3);
      sim.dispose();
      allFloat.dispose();
    });
  }

  it('accuracyOf counts top-1 hits', () => {
    const acc = accuracyOf((x) => tf.tidy(() => tf.oneHot(tf.cast(tf.reshape(x, [-1]), 'int32'), 3)), { x: Float32Array.from([0, 1, 2, 1]), y: Int32Array.from([0, 1, 1, 1]), n: 4, sampleShape: [1] }, 3);
    expect(acc).toBe(0.75);
  });
});
