import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../src-shared/errors';
import { normalizedRange, type ImageInputConvention } from '../../../src-shared/model-io';
import { seeded, seededValues } from '../../../test/helpers/seeded';
import { TfliteGraph } from '../../../test/helpers/tflite-builder';
import { buildTflite, toFloat16Bits } from '../../export/exporter';
import { loadTfliteModel } from '../../export/litert-node';
import { BuiltinOptions, F } from '../../export/tflite/schema';
import { options } from '../../export/tflite/write';
import { initBackend } from '../../tf';
import { buildTemplate } from '../templates';
import { importTflite, parseLabels } from './tflite';

const REAL = process.env.POCKETBENCH_REAL_MODELS ?? '/work/shared/real-models';
const CATDOG = join(REAL, 'tm-tflite-catdog', 'model_unquant.tflite');
const INT8 = join(REAL, 'tm-tflite-int8', 'model.tflite');
const haveReal = existsSync(CATDOG) && existsSync(INT8);
if (!haveReal) console.warn(`[skipped] the Teachable Machine .tflite tests: ${REAL} is missing (set POCKETBENCH_REAL_MODELS).`);

let dir: string;
beforeAll(async () => {
  await initBackend();
  dir = mkdtempSync(join(tmpdir(), 'pb-tflite-import-'));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type S = tfl.SymbolicTensor;
const apply = (layer: tfl.layers.Layer, x: S | S[]) => layer.apply(x) as S;

let fileCount = 0;
/** Writes a model into a folder of its own (a labels.txt beside one file must not reach another test). */
function write(bytes: Uint8Array, name = 'model.tflite', sub = `d${fileCount++}`): string {
  const d = join(dir, sub);
  mkdirSync(d, { recursive: true });
  const p = join(d, name);
  writeFileSync(p, bytes);
  return p;
}

/**
 * `n` images as raw 0–255 pixels (a random colour ramp per image plus noise, so the classifier's
 * outputs vary), normalized with the model's convention: the values the model was trained on.
 */
function images(n: number, [h, w, c]: number[], norm: { mean: number[]; std: number[] }, seed: number): Float32Array {
  const out = new Float32Array(n * h * w * c);
  const r = seededValues(n * 8 + out.length, seed, 0, 1);
  let k = n * 8;
  for (let i = 0; i < n; i++) {
    const [a, b, d, e, f, g] = r.subarray(i * 8, i * 8 + 6);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let ch = 0; ch < c; ch++) {
          const raw = Math.min(255, Math.max(0, 255 * (0.5 * (ch % 2 ? a : b) + 0.3 * (y / h) * d + 0.3 * (x / w) * e * (ch === 2 ? f : 1)) + 60 * (r[k++] - 0.5) * g));
          const idx = ((i * h + y) * w + x) * c + ch;
          out[idx] = (raw - norm.mean[Math.min(ch, norm.mean.length - 1)]) / norm.std[Math.min(ch, norm.std.length - 1)];
        }
  }
  return out;
}

/** Rebuilt TF.js model vs LiteRT on the file: max |Δ| over every output of every input, and the outputs. */
async function agreement(model: tfl.LayersModel, file: string | Uint8Array, x: Float32Array, sampleShape: number[]): Promise<{ maxDiff: number; ours: Float32Array; theirs: Float32Array }> {
  const per = sampleShape.reduce((a, b) => a * b, 1);
  const n = x.length / per;
  const parts: Float32Array[] = [];
  for (let s = 0; s < n; s += 10) {
    const m = Math.min(10, n - s);
    parts.push(tf.tidy(() => (model.predict(tf.tensor(x.subarray(s * per, (s + m) * per), [m, ...sampleShape])) as tf.Tensor).dataSync() as Float32Array));
  }
  const ours = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((at, p) => (ours.set(p, at), at + p.length), 0);
  const lite = await loadTfliteModel(file);
  const theirs = new Float32Array(ours.length);
  const classes = ours.length / n;
  try {
    for (let i = 0; i < n; i++) {
      const [y] = await lite.run([x.slice(i * per, (i + 1) * per)]);
      theirs.set(y as Float32Array, i * classes);
    }
  } finally {
    lite.close();
  }
  let maxDiff = 0;
  for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i] - theirs[i]));
  return { maxDiff, ours, theirs };
}

/** Largest spread of one class's probability over the inputs: the outputs must vary for a comparison to mean anything. */
function spread(probs: Float32Array, classes: number): number {
  let widest = 0;
  for (let c = 0; c < classes; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = c; i < probs.length; i += classes) [lo, hi] = [Math.min(lo, probs[i]), Math.max(hi, probs[i])];
    widest = Math.max(widest, hi - lo);
  }
  return widest;
}

async function expectAppError(p: Promise<unknown>, code: string, message?: RegExp): Promise<AppError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, 'an AppError').toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
  if (message) expect((err as AppError).message).toMatch(message);
  return err as AppError;
}

/**
 * A MobileNetV2-style classifier: ZeroPadding + valid stride-2 conv, BN with non-trivial statistics,
 * ReLU6, an inverted residual block (expand, depthwise, project, residual ADD), a depthwise conv with
 * depth multiplier 2, both poolings, a concatenation, global pooling, a dense ReLU and a softmax head
 * whose logits are spread (so the softmax is far from uniform).
 */
function mobilenetV2ish(seed: number): tfl.LayersModel {
  return seeded(seed, () => {
    const bn = (name: string) =>
      tfl.layers.batchNormalization({ name, movingMeanInitializer: tfl.initializers.randomNormal({ stddev: 0.2 }), movingVarianceInitializer: tfl.initializers.randomUniform({ minval: 0.5, maxval: 2 }), gammaInitializer: tfl.initializers.randomUniform({ minval: 0.5, maxval: 1.5 }), betaInitializer: tfl.initializers.randomNormal({ stddev: 0.1 }) });
    const input = tfl.input({ shape: [24, 24, 3], name: 'input' });
    let x = apply(tfl.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: 'stem_pad' }), input);
    x = apply(tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, name: 'stem_conv' }), x);
    x = apply(tfl.layers.reLU({ maxValue: 6, name: 'stem_relu' }), apply(bn('stem_bn'), x));
    const shortcut = x;
    let y = apply(tfl.layers.conv2d({ filters: 24, kernelSize: 1, useBias: false, name: 'expand' }), x);
    y = apply(tfl.layers.reLU({ maxValue: 6, name: 'expand_relu' }), apply(bn('expand_bn'), y));
    y = apply(tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, name: 'dw' }), y);
    y = apply(tfl.layers.reLU({ maxValue: 6, name: 'dw_relu' }), apply(bn('dw_bn'), y));
    y = apply(tfl.layers.conv2d({ filters: 8, kernelSize: 1, useBias: false, name: 'project' }), y);
    y = apply(bn('project_bn'), y);
    x = apply(tfl.layers.add({ name: 'residual' }), [shortcut, y]);
    x = apply(tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, depthMultiplier: 2, padding: 'same', name: 'dw2', activation: 'relu', biasInitializer: 'randomNormal' }), x);
    const avg = apply(tfl.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: 'avg' }), x);
    const max = apply(tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'valid', name: 'max' }), x);
    const avgDown = apply(tfl.layers.conv2d({ filters: 16, kernelSize: 2, strides: 2, padding: 'valid', name: 'avg_down' }), avg);
    x = apply(tfl.layers.concatenate({ name: 'cat' }), [avgDown, max]);
    x = apply(tfl.layers.globalAveragePooling2d({ name: 'gap' }), x);
    x = apply(tfl.layers.dense({ units: 12, activation: 'relu', name: 'fc' }), x);
    const out = apply(tfl.layers.dense({ units: 5, activation: 'softmax', name: 'probs', kernelInitializer: tfl.initializers.randomNormal({ stddev: 8 }) }), x);
    return tfl.model({ inputs: input, outputs: out, name: 'mnv2ish' });
  });
}

/**
 * A template as a trained classifier looks to the exporter: each BatchNormalization's statistics are
 * those of its input on sample images (as after training; an untrained template's activations
 * shrink to ~1e-5 by the logits), with random scale and offset; logits standardized over the samples
 * and spread (z' = 2 (z − mean) / std), and a softmax.
 */
function trainedLooking(m: tfl.LayersModel, seed: number): tfl.LayersModel {
  const shape = m.inputs[0].shape.slice(1) as number[];
  const x = tf.tensor(images(20, shape, UNIT, seed), [20, ...shape]);
  let k = seed;
  for (const layer of m.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const probe = tfl.model({ inputs: m.inputs, outputs: layer.inboundNodes[0].inputTensors[0] as S });
    const { mean, variance } = tf.tidy(() => {
      const h = probe.predict(x) as tf.Tensor;
      return tf.moments(h, h.shape.map((_, i) => i).slice(0, -1));
    });
    const c = mean.shape[0];
    layer.setWeights([tf.tensor(seededValues(c, k++, 0.5, 1.5)), tf.tensor(seededValues(c, k++, -0.2, 0.2)), mean, variance]);
  }
  const z = m.predict(x) as tf.Tensor2D;
  const { mean, variance } = tf.moments(z, 0);
  const gain = tf.div(2, tf.sqrt(tf.add(variance, 1e-12)));
  const last = m.outputs[0].sourceLayer;
  // getWeights gives the variables' own tensors: never dispose them.
  const [kernel, bias] = last.getWeights();
  last.setWeights([tf.mul(kernel, gain), tf.mul(tf.sub(bias, mean), gain)]);
  tf.dispose([x, z, mean, variance, gain]);
  const out = apply(tfl.layers.activation({ activation: 'softmax', name: 'softmax_head' }), m.outputs[0]);
  return tfl.model({ inputs: m.inputs, outputs: out, name: m.name });
}

const UNIT = { mean: [0], std: [255] };

describe('parseLabels', () => {
  it("drops Teachable Machine's indexes, keeps plain lines, ignores a BOM, CRLF and trailing blank lines", () => {
    expect(parseLabels('0 cat\n1 dog\n')).toEqual(['cat', 'dog']);
    expect(parseLabels('\uFEFF0 Rock\r\n1 Paper\r\n2 Scissors\r\n3 Nothing\r\n\r\n')).toEqual(['Rock', 'Paper', 'Scissors', 'Nothing']);
    expect(parseLabels('0 空\n1 少し\n2 満杯')).toEqual(['空', '少し', '満杯']);
    expect(parseLabels('cat\ndog\n')).toEqual(['cat', 'dog']);
    // Not every line is "INDEX NAME" in order: the lines are labels as they are.
    expect(parseLabels('0 cat\n2 dog\n')).toEqual(['0 cat', '2 dog']);
    expect(parseLabels('3 little pigs\n1 big wolf')).toEqual(['3 little pigs', '1 big wolf']);
  });
});

describe.skipIf(!haveReal)('importTflite: Teachable Machine exports (shared real models)', () => {
  it('rebuilds tm-tflite-catdog: labels, convention, and the same softmax as LiteRT on 50 inputs (max |Δ| ≤ 1e-4), also after export to FP32', async () => {
    const { model, meta, warnings } = await importTflite(CATDOG);
    try {
      expect(meta.labels).toEqual(['cat', 'dog']);
      expect(meta.output).toBe('probabilities');
      const input = meta.input as ImageInputConvention;
      expect(input).toMatchObject({ kind: 'image', size: [224, 224], channels: 3, dtype: 'float32', normalization: { mean: [127.5], std: [127.5] } });
      expect(normalizedRange(input.normalization)).toEqual([-1, 1]);
      expect(meta.importedFrom).toMatchObject({ format: 'tflite', file: CATDOG });
      expect(meta.importedFrom!.contentHash).toMatch(/^[0-9a-f]{64}$/);
      expect(warnings.join(' ')).toMatch(/Teachable Machine export .*serving_default_sequential_5_input.*model_unquant\.tflite.*mean 127\.5, std 127\.5/);
      // 71 operators: 5 PAD, 35 CONV_2D, 17 DEPTHWISE_CONV_2D, 10 ADD, MEAN, 2 FULLY_CONNECTED, SOFTMAX (one layer each, plus the input).
      const counts: Record<string, number> = {};
      for (const l of model.layers) counts[l.getClassName()] = (counts[l.getClassName()] ?? 0) + 1;
      expect(counts).toEqual({ InputLayer: 1, ZeroPadding2D: 5, Conv2D: 35, DepthwiseConv2D: 17, Add: 10, GlobalAveragePooling2D: 1, Dense: 2, Activation: 1 });
      expect(model.trainableWeights.length).toBeGreaterThan(100);

      const x = images(50, [224, 224, 3], input.normalization, 7);
      const { maxDiff, ours } = await agreement(model, CATDOG, x, [224, 224, 3]);
      expect(spread(ours, 2), 'the outputs vary across the inputs').toBeGreaterThan(0.05);
      expect(maxDiff).toBeLessThanOrEqual(1e-4);

      // Round trip: the rebuilt model exported to FP32 computes what the original file computes.
      const exported = buildTflite(model, { precision: 'fp32' });
      const a = await agreement(model, exported.bytes, x, [224, 224, 3]);
      const b = await agreement(model, CATDOG, x, [224, 224, 3]);
      let fileDiff = 0;
      for (let i = 0; i < a.theirs.length; i++) fileDiff = Math.max(fileDiff, Math.abs(a.theirs[i] - b.theirs[i]));
      expect(fileDiff).toBeLessThanOrEqual(1e-4);
    } finally {
      model.dispose();
    }
  }, 600_000);

  it('refuses the quantized export as a teacher, offering to profile it', async () => {
    const err = await expectAppError(importTflite(INT8), 'QUANTIZED_TEACHER', /quantized \.tflite \(uint8 input, uint8 output\).*cannot be rebuilt as a trainable teacher.*model_unquant\.tflite.*profiled/);
    expect(err.details).toMatchObject({ path: INT8, profile: true });
  });

  it('checks labels.txt beside the file against the outputs, and names classes when there are none', async () => {
    const bytes = new Uint8Array(readFileSync(CATDOG));
    const p = write(bytes, 'model_unquant.tflite');
    writeFileSync(join(p, '..', 'labels.txt'), '0 cat\n1 dog\n2 bird\n');
    await expectAppError(importTflite(p), 'LABELS_MISMATCH', /lists 3 labels but the model gives 2 outputs/);
    rmSync(join(p, '..', 'labels.txt'));
    const { model, meta, warnings } = await importTflite(p, { normalization: { mean: [0], std: [255] } });
    model.dispose();
    expect(meta.labels).toEqual(['class 0', 'class 1']);
    expect(warnings.join(' ')).toMatch(/No labels were found/);
    // The caller's normalization wins over the Teachable Machine guess.
    expect((meta.input as ImageInputConvention).normalization).toEqual({ mean: [0], std: [255] });
    await expectAppError(importTflite(p, { normalization: { mean: [0, 0], std: [1, 1] } }), 'INVALID_ARGS', /2 mean and 2 std values for 3 channels/);
  }, 120_000);

  it('gives a clear error, never a crash, for the real file cut short anywhere', async () => {
    const bytes = new Uint8Array(readFileSync(CATDOG));
    for (const frac of [0.001, 0.01, 0.1, 0.3, 0.5, 0.8, 0.95, 0.999]) {
      const p = write(bytes.subarray(0, Math.floor(bytes.length * frac)));
      await expectAppError(importTflite(p), 'INVALID_FILE', /not a readable \.tflite model|not a consistent \.tflite model/);
    }
  });
});

describe('importTflite: files PocketBench exports', () => {
  const cases: { name: string; build: () => tfl.LayersModel; shape: number[] }[] = [
    { name: 'a MobileNetV2-style model (BN, depthwise ×1 and ×2, residual ADD, pads, pools, concat)', build: () => mobilenetV2ish(11), shape: [24, 24, 3] },
    { name: 'the MobileNet template', build: () => trainedLooking(buildTemplate({ template: 'mobilenet', inputShape: [16, 16, 3], numClasses: 4, width: 0.25, seed: 3 }), 30), shape: [16, 16, 3] },
    { name: 'the ResNet template (residual ADD)', build: () => trainedLooking(buildTemplate({ template: 'resnet', inputShape: [16, 16, 1], numClasses: 3, width: 0.25, seed: 5 }), 60), shape: [16, 16, 1] },
  ];
  for (const c of cases) {
    for (const precision of ['fp32', 'fp16'] as const) {
      it(`${c.name}, ${precision}: the rebuilt model matches LiteRT on the file (50 inputs, max |Δ| ≤ 1e-4), and so does its FP32 re-export`, async () => {
        const original = c.build();
        const labels = Array.from({ length: original.outputs[0].shape[1] as number }, (_, i) => `label ${i}`);
        const built = buildTflite(original, { precision, metadata: { labels } });
        original.dispose();
        const file = write(built.bytes);
        const { model, meta } = await importTflite(file);
        try {
          // Labels and the input convention come from the file's own metadata (no labels.txt beside it).
          expect(meta.labels).toEqual(labels);
          expect((meta.input as ImageInputConvention).normalization).toEqual(UNIT);
          const x = images(50, c.shape, UNIT, 21);
          const { maxDiff, ours } = await agreement(model, file, x, c.shape);
          expect(spread(ours, labels.length), 'the outputs vary across the inputs').toBeGreaterThan(0.05);
          expect(maxDiff).toBeLessThanOrEqual(1e-4);
          const again = buildTflite(model, { precision: 'fp32' });
          const a = await agreement(model, again.bytes, x, c.shape);
          expect(a.maxDiff).toBeLessThanOrEqual(1e-4);
        } finally {
          model.dispose();
        }
      }, 300_000);
    }
  }

  it('a feature-vector model with a standalone BatchNormalization (MUL + ADD by constants → ScaleShift) round-trips', async () => {
    const original = seeded(9, () => {
      const input = tfl.input({ shape: [6], name: 'features' });
      let x = apply(tfl.layers.dense({ units: 10, activation: 'relu', name: 'h' }), input);
      x = apply(tfl.layers.batchNormalization({ name: 'bn', movingMeanInitializer: 'randomNormal', movingVarianceInitializer: tfl.initializers.randomUniform({ minval: 0.5, maxval: 2 }), gammaInitializer: 'randomUniform' }), x);
      x = apply(tfl.layers.reLU({ name: 'r' }), x);
      return tfl.model({ inputs: input, outputs: apply(tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out', kernelInitializer: tfl.initializers.randomNormal({ stddev: 3 }) }), x) });
    });
    const built = buildTflite(original, { precision: 'fp32' });
    expect(built.ops.map((o) => o.op)).toEqual(['FULLY_CONNECTED', 'MUL', 'ADD', 'RELU', 'FULLY_CONNECTED', 'SOFTMAX']);
    const file = write(built.bytes);
    const { model, meta } = await importTflite(file);
    try {
      expect(meta.input).toEqual({ kind: 'features', features: 6 });
      expect(model.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'Dense', 'ScaleShift', 'ReLU', 'Dense', 'Activation']);
      const x = seededValues(50 * 6, 4, -2, 2);
      const { maxDiff } = await agreement(model, file, x, [6]);
      expect(maxDiff).toBeLessThanOrEqual(1e-4);
      expect((await agreement(model, buildTflite(model, { precision: 'fp32' }).bytes, x, [6])).maxDiff).toBeLessThanOrEqual(1e-4);
    } finally {
      model.dispose();
      original.dispose();
    }
  }, 120_000);
});

/** Options tables the exporter has no helper for. */
const squeezeOptions = (dims: number[]) => ({
  type: BuiltinOptions.SqueezeOptions,
  write: (b: import('flatbuffers').Builder) => {
    b.startVector(4, dims.length, 4);
    for (let i = dims.length - 1; i >= 0; i--) b.addInt32(dims[i]);
    const v = b.endVector();
    b.startObject(1);
    b.addFieldOffset(F.SqueezeOptions.squeeze_dims, v, 0);
    return b.endObject();
  },
});
const conv = (o: Partial<{ padding: 'same' | 'valid'; stride: number; activation: 'NONE' | 'RELU' | 'RELU6' }> = {}) =>
  options.conv2d({ padding: o.padding ?? 'same', strideH: o.stride ?? 1, strideW: o.stride ?? 1, dilationH: 1, dilationW: 1, activation: o.activation ?? 'NONE' });

/**
 * A MobileNetV3 / EfficientNet-style graph, operator by operator: a Rescaling at the input (MUL, ADD
 * by scalars), PADV2, HARD_SWISH, a squeeze-and-excite block (MEAN keeping dims, 1×1 convs, a hard
 * sigmoid as ADD 3 → RELU6 → MUL 1/6, a broadcast MUL), SUB and DIV by per-channel constants,
 * LOGISTIC, both poolings, a CONCATENATION and a RELU, a FULLY_CONNECTED with float16 weights
 * (DEQUANTIZE) and no bias on a rank-4 input, SQUEEZE and SOFTMAX.
 */
function mobilenetV3ish(): Uint8Array {
  const g = new TfliteGraph();
  const r = (n: number, seed: number, lo = -1, hi = 1) => seededValues(n, seed, lo, hi);
  const input = g.value('image', [1, 16, 16, 3]);
  const scaled = g.value('rescale_mul', [1, 16, 16, 3]);
  g.op('MUL', [input, g.constant('1/127.5', [], Float32Array.of(1 / 127.5))], [scaled], options.mul({}));
  const rescaled = g.value('rescale_add', [1, 16, 16, 3]);
  g.op('ADD', [scaled, g.constant('-1', [1], Float32Array.of(-1))], [rescaled], options.add({}));
  const padded = g.value('pad', [1, 17, 17, 3]);
  g.op('PADV2', [rescaled, g.constant('paddings', [4, 2], Int32Array.of(0, 0, 0, 1, 0, 1, 0, 0)), g.constant('zero', [], Float32Array.of(0))], [padded], options.empty(BuiltinOptions.PadV2Options));
  const stem = g.value('stem', [1, 8, 8, 8]);
  g.op('CONV_2D', [padded, g.constant('stem_w', [8, 3, 3, 3], r(216, 1, -0.5, 0.5)), g.constant('stem_b', [8], r(8, 2, -0.5, 0.5))], [stem], conv({ padding: 'valid', stride: 2 }));
  const hs = g.value('hswish', [1, 8, 8, 8]);
  g.op('HARD_SWISH', [stem], [hs], options.empty(BuiltinOptions.HardSwishOptions));
  const dw = g.value('dw', [1, 8, 8, 8]);
  g.op('DEPTHWISE_CONV_2D', [hs, g.constant('dw_w', [1, 3, 3, 8], r(72, 3, -0.6, 0.6)), g.constant('dw_b', [8], r(8, 4, -0.2, 0.2))], [dw], options.depthwiseConv2d({ padding: 'same', strideH: 1, strideW: 1, depthMultiplier: 1, dilationH: 1, dilationW: 1, activation: 'RELU6' }));
  // Squeeze and excite.
  const pooled = g.value('se_pool', [1, 1, 1, 8]);
  g.op('MEAN', [dw, g.constant('axes', [2], Int32Array.of(1, 2))], [pooled], options.reducer(true));
  const se1 = g.value('se_reduce', [1, 1, 1, 4]);
  g.op('CONV_2D', [pooled, g.constant('se1_w', [4, 1, 1, 8], r(32, 5)), g.constant('se1_b', [4], r(4, 6, 0, 0.3))], [se1], conv({ activation: 'RELU' }));
  const se2 = g.value('se_expand', [1, 1, 1, 8]);
  g.op('CONV_2D', [se1, g.constant('se2_w', [8, 1, 1, 4], r(32, 7)), g.constant('se2_b', [8], r(8, 8))], [se2], conv());
  const plus3 = g.value('hsig_add', [1, 1, 1, 8]);
  g.op('ADD', [se2, g.constant('3', [], Float32Array.of(3))], [plus3], options.add({}));
  const clipped = g.value('hsig_relu6', [1, 1, 1, 8]);
  g.op('RELU6', [plus3], [clipped]);
  const gate = g.value('hsig', [1, 1, 1, 8]);
  g.op('MUL', [clipped, g.constant('1/6', [], Float32Array.of(1 / 6))], [gate], options.mul({}));
  const excited = g.value('se_mul', [1, 8, 8, 8]);
  g.op('MUL', [dw, gate], [excited], options.mul({}));
  // Per-channel constants on the other side.
  const centred = g.value('sub', [1, 8, 8, 8]);
  g.op('SUB', [excited, g.constant('mean', [8], r(8, 9, 0, 1))], [centred], { type: BuiltinOptions.SubOptions, write: (b) => (b.startObject(2), b.endObject()) });
  const divided = g.value('div', [1, 8, 8, 8]);
  g.op('DIV', [centred, g.constant('std', [1, 1, 1, 8], r(8, 10, 0.5, 2))], [divided], { type: BuiltinOptions.DivOptions, write: (b) => (b.startObject(1), b.endObject()) });
  const sig = g.value('sigmoid', [1, 8, 8, 8]);
  g.op('LOGISTIC', [divided], [sig]);
  const avg = g.value('avg', [1, 4, 4, 8]);
  g.op('AVERAGE_POOL_2D', [sig], [avg], options.pool2d({ padding: 'valid', strideH: 2, strideW: 2, filterH: 2, filterW: 2 }));
  const max = g.value('max', [1, 4, 4, 8]);
  g.op('MAX_POOL_2D', [divided], [max], options.pool2d({ padding: 'same', strideH: 2, strideW: 2, filterH: 3, filterW: 3 }));
  const cat = g.value('cat', [1, 4, 4, 16]);
  g.op('CONCATENATION', [avg, max], [cat], options.concatenation({ axis: -1 }));
  const catRelu = g.value('cat_relu', [1, 4, 4, 16]);
  g.op('RELU', [cat], [catRelu]);
  const gap = g.value('gap', [1, 1, 1, 16]);
  g.op('MEAN', [catRelu, g.constant('axes2', [2], Int32Array.of(2, 1))], [gap], options.reducer(true));
  // FULLY_CONNECTED on the rank-4 [1, 1, 1, 16] (TFLite flattens it), float16 weights, no bias.
  const half = g.constant('fc_w_fp16', [6, 16], toFloat16Bits(r(96, 11, -3, 3)));
  const fcw = g.value('fc_w', [6, 16]);
  g.op('DEQUANTIZE', [half], [fcw], options.empty(BuiltinOptions.DequantizeOptions), 3);
  const fc = g.value('fc', [1, 6]);
  g.op('FULLY_CONNECTED', [gap, fcw, -1], [fc], options.fullyConnected({ activation: 'RELU' }));
  // A 1×1 conv head and SQUEEZE, as TF-slim MobileNets end.
  const fc4 = g.value('fc4', [1, 1, 1, 6]);
  g.op('RESHAPE', [fc, g.constant('shape4', [4], Int32Array.of(1, 1, 1, 6))], [fc4], options.reshape([1, 1, 1, 6]));
  const logits4 = g.value('logits4', [1, 1, 1, 4]);
  g.op('CONV_2D', [fc4, g.constant('head_w', [4, 1, 1, 6], r(24, 12, -2, 2)), g.constant('head_b', [4], r(4, 13))], [logits4], conv());
  const logits = g.value('logits', [1, 4]);
  g.op('SQUEEZE', [logits4], [logits], squeezeOptions([1, 2]));
  const probs = g.value('probs', [1, 4]);
  g.op('SOFTMAX', [logits], [probs], options.softmax(1));
  return g.bytes([input], [probs]);
}

describe('importTflite: operators of MobileNetV3 / EfficientNet-class files (hand-built graphs)', () => {
  it('rebuilds HARD_SWISH, squeeze-and-excite, constant arithmetic, LOGISTIC, SQUEEZE, FP16 DEQUANTIZE; matches LiteRT on 50 inputs and after FP32 re-export', async () => {
    const file = write(mobilenetV3ish());
    const { model, meta, warnings } = await importTflite(file);
    try {
      // The graph rescales its own input, so it takes raw pixels.
      expect((meta.input as ImageInputConvention).normalization).toEqual({ mean: [0], std: [1] });
      expect(warnings.join(' ')).toMatch(/rescales its own input .*mapping 0–255 to \[-1, 1\].*raw 0–255 pixels/);
      expect(meta.labels).toEqual(['class 0', 'class 1', 'class 2', 'class 3']);
      const classes = model.layers.map((l) => l.getClassName());
      expect(classes.filter((c) => c === 'ScaleShift').length, 'MUL+ADD, ADD 3, MUL 1/6, SUB+DIV: one layer per chain').toBe(4);
      expect(classes).toEqual(expect.arrayContaining(['HardSwish', 'Multiply', 'ZeroPadding2D', 'Concatenate', 'Flatten', 'Reshape', 'GlobalAveragePooling2D', 'AveragePooling2D', 'MaxPooling2D']));
      const x = images(50, [16, 16, 3], { mean: [0], std: [1] }, 5);
      const { maxDiff, ours } = await agreement(model, file, x, [16, 16, 3]);
      expect(spread(ours, 4)).toBeGreaterThan(0.05);
      expect(maxDiff).toBeLessThanOrEqual(1e-4);
      const again = buildTflite(model, { precision: 'fp32' });
      expect(new Set(again.ops.map((o) => o.op))).toEqual(new Set(['DEPTHWISE_CONV_2D', 'PAD', 'CONV_2D', 'HARD_SWISH', 'MEAN', 'RESHAPE', 'RELU', 'MUL', 'LOGISTIC', 'AVERAGE_POOL_2D', 'MAX_POOL_2D', 'CONCATENATION', 'FULLY_CONNECTED', 'SOFTMAX']));
      expect((await agreement(model, again.bytes, x, [16, 16, 3])).maxDiff).toBeLessThanOrEqual(1e-4);
    } finally {
      model.dispose();
    }
  }, 300_000);
});

describe('importTflite: refusals and damaged files', () => {
  const tiny = () => {
    const g = new TfliteGraph();
    const input = g.value('x', [1, 4, 4, 3]);
    const c = g.value('c', [1, 4, 4, 3]);
    g.op('CONV_2D', [input, g.constant('w', [3, 1, 1, 3], seededValues(9, 1)), g.constant('b', [3], seededValues(3, 2))], [c], conv({ activation: 'RELU' }));
    const p = g.value('p', [1, 3]);
    g.op('MEAN', [c, g.constant('axes', [2], Int32Array.of(1, 2))], [p], options.reducer(false));
    const out = g.value('out', [1, 3]);
    g.op('SOFTMAX', [p], [out], options.softmax(1));
    return { g, input, c, p, out };
  };

  it('imports the tiny graph the refusal tests break', async () => {
    const { g, input, out } = tiny();
    const { model } = await importTflite(write(g.bytes([input], [out])));
    expect(model.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'Conv2D', 'GlobalAveragePooling2D', 'Activation']);
    model.dispose();
  });

  it('names unsupported and custom operators, and what to do', async () => {
    const { g, input, p } = tiny();
    const t = g.value('t', [1, 3]);
    g.op('TANH', [p], [t]);
    const out = g.value('out2', [1, 3]);
    g.op('CUSTOM:MyFancyNorm', [t], [out]);
    const err = await expectAppError(importTflite(write(g.bytes([input], [out]))), 'UNSUPPORTED', /uses TANH, the custom operator "MyFancyNorm", which PocketBench cannot rebuild.*Keras \.h5\/\.keras or TF\.js.*profiled/);
    expect(err.details).toMatchObject({ operators: ['TANH', 'CUSTOM:MyFancyNorm'] });
  });

  it('refuses what TF.js layers would compute differently: a dilated depthwise conv, a grouped conv, a softmax with beta ≠ 1', async () => {
    {
      const g = new TfliteGraph();
      const input = g.value('x', [1, 8, 8, 3]);
      const y = g.value('y', [1, 8, 8, 3]);
      g.op('DEPTHWISE_CONV_2D', [input, g.constant('w', [1, 3, 3, 3], seededValues(27, 1)), -1], [y], options.depthwiseConv2d({ padding: 'same', strideH: 1, strideW: 1, depthMultiplier: 1, dilationH: 2, dilationW: 2 }));
      const p = g.value('p', [1, 3]);
      g.op('MEAN', [y, g.constant('axes', [2], Int32Array.of(1, 2))], [p], options.reducer(false));
      await expectAppError(importTflite(write(g.bytes([input], [p]))), 'UNSUPPORTED', /operator 0 \(DEPTHWISE_CONV_2D\) is dilated \(2×2\)/);
    }
    {
      const g = new TfliteGraph();
      const input = g.value('x', [1, 4, 4, 3]);
      const y = g.value('y', [1, 4, 4, 2]);
      g.op('CONV_2D', [input, g.constant('w', [2, 1, 1, 1], seededValues(2, 1)), -1], [y], conv());
      const p = g.value('p', [1, 2]);
      g.op('MEAN', [y, g.constant('axes', [2], Int32Array.of(1, 2))], [p], options.reducer(false));
      await expectAppError(importTflite(write(g.bytes([input], [p]))), 'UNSUPPORTED', /grouped convolution/);
    }
    {
      const { g, input, p } = tiny();
      const out = g.value('hot', [1, 3]);
      g.op('SOFTMAX', [p], [out], options.softmax(2));
      await expectAppError(importTflite(write(g.bytes([input], [out]))), 'UNSUPPORTED', /beta 2/);
    }
  });

  it('refuses a model with two outputs (a detector) and a model whose output is not one score per class', async () => {
    const { g, input, c, out } = tiny();
    await expectAppError(importTflite(write(g.bytes([input], [out, c]))), 'UNSUPPORTED', /1 inputs and 2 outputs.*detector/);
    await expectAppError(importTflite(write(g.bytes([input], [c]))), 'UNSUPPORTED', /output of shape \[1, 4, 4, 3\]/);
  });

  it('refuses out-of-range, negative and dangling tensor indices with a clear error', async () => {
    for (const [inputs, outputs, opIn, why] of [
      [[0], [999], null, /refers to tensor 999/],
      [[-3], [0], null, /refers to tensor -3/],
      [[0], [0], [0, 999, 2], /refers to tensor 999/],
      [[0], [0], [0, -5, 2], /refers to tensor -5/],
    ] as const) {
      const { g, input, out } = tiny();
      if (opIn) g.operators[0].inputs = [...opIn];
      const bytes = g.bytes(inputs.map((i) => (i === 0 ? input : i)), outputs.map((i) => (i === 0 ? out : i)));
      await expectAppError(importTflite(write(bytes)), 'INVALID_FILE', why);
    }
    // Reading a tensor no operator writes; a buffer index past the end; a weight buffer of the wrong size.
    {
      const { g, input, out } = tiny();
      const ghost = g.value('ghost', [1, 4, 4, 3]);
      g.operators[1].inputs = [ghost, g.operators[1].inputs[1]];
      await expectAppError(importTflite(write(g.bytes([input], [out]))), 'INVALID_FILE', /reads tensor \d+ \("ghost"\) before any operator writes it/);
    }
    {
      const { g, input, out } = tiny();
      g.tensors[2].buffer = 77;
      await expectAppError(importTflite(write(g.bytes([input], [out]))), 'INVALID_FILE', /refers to buffer 77/);
    }
    {
      const { g, input, out } = tiny();
      g.tensors[2].shape = [3, 1, 1, 5];
      await expectAppError(importTflite(write(g.bytes([input], [out]))), 'INVALID_FILE', /has 36 bytes but its shape \[3, 1, 1, 5\]/);
    }
    {
      const { g, input, out } = tiny();
      g.tensors[out].shape = [1, 7];
      await expectAppError(importTflite(write(g.bytes([input], [out]))), 'INVALID_FILE', /computes the shape \[1, 3\] but the file declares \[1, 7\]/);
    }
  });

  it('never crashes on random damage: 300 mutated files each import or give an AppError', async () => {
    const { g, input, out } = tiny();
    const bytes = g.bytes([input], [out]);
    const rand = seededValues(300 * 8, 99, 0, 1);
    const outcomes = { imported: 0, refused: 0 };
    for (let t = 0; t < 300; t++) {
      const copy = bytes.slice();
      const edits = 1 + Math.floor(rand[t * 8] * 4);
      for (let e = 0; e < edits; e++) copy[Math.floor(rand[t * 8 + 1 + e] * copy.length)] = Math.floor(rand[t * 8 + 5 + (e % 3)] * 256);
      const p = write(copy, 'm.tflite', 'fuzz');
      try {
        const r = await importTflite(p);
        r.model.dispose();
        outcomes.imported++;
      } catch (err) {
        if (!(err instanceof AppError)) throw new Error(`mutation ${t} threw ${(err as Error).name}: ${(err as Error).message}`);
        outcomes.refused++;
      }
    }
    expect(outcomes.refused).toBeGreaterThan(30);
  }, 120_000);

  it('says when the file is missing, empty or not a model', async () => {
    await expectAppError(importTflite(join(dir, 'nope.tflite')), 'NOT_FOUND', /There is no file/);
    await expectAppError(importTflite(write(new Uint8Array(0))), 'INVALID_FILE', /is empty/);
    await expectAppError(importTflite(write(new TextEncoder().encode('{"not": "a model"}'))), 'INVALID_FILE', /not a readable \.tflite model/);
  });
});
