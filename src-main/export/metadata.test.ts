/**
 * The drop-in export: the TFLite metadata an Android image classifier (Task Library, MediaPipe)
 * reads, checked against the model's real input range, read back by our reader and independently by
 * walking the flatbuffer with the `flatbuffers` runtime using the slots of
 * tensorflow/tflite-support's metadata_schema.fbs; labels unpacked with fflate; integer inputs that
 * take raw pixels checked in LiteRT.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { unzipSync } from 'fflate';
import { ByteBuffer } from 'flatbuffers';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizedRange, SIGNED_UNIT_NORMALIZATION, UNIT_RANGE_NORMALIZATION, type ImageInputConvention } from '../../src-shared/model-io';
import { seeded, seededValues } from '../../test/helpers/seeded';
import { calibrateMinMax } from '../compress/quantize/minmax';
import { loadImageFolder } from '../data/image-folder';
import { buildTemplate } from '../models';
import { initBackend } from '../tf';
import { buildTflite } from './exporter';
import { inspectTfliteBytes } from './inspect';
import { loadTfliteModel } from './litert-node';
import { metadataFor, tfliteAccuracy } from './service';
import { readTfliteMetadata } from './tflite/metadata-read';
import { readTflite } from './tflite/read';
import { readZipEntry } from './zip-read';

let dir: string;
beforeAll(async () => {
  await initBackend();
  dir = mkdtempSync(join(tmpdir(), 'pb-metadata-'));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * An independent reader of the metadata, written from metadata_schema.fbs (table fields in
 * declaration order, a union taking two slots) and the `flatbuffers` runtime's ByteBuffer, sharing
 * nothing with src-main's reader:
 *   Model (schema.fbs): version 0, operator_codes 1, subgraphs 2, description 3, buffers 4,
 *     metadata_buffer 5, metadata 6;  Metadata: name 0, buffer 1;  Buffer: data 0.
 *   ModelMetadata: name 0, description 1, version 2, subgraph_metadata 3, author 4, license 5,
 *     associated_files 6, min_parser_version 7;  SubGraphMetadata: name 0, description 1,
 *     input_tensor_metadata 2, output_tensor_metadata 3;  TensorMetadata: name 0, description 1,
 *     dimension_names 2, content 3, process_units 4, stats 5, associated_files 6;
 *   Content: content_properties_type 0, content_properties 1, range 2;  ImageProperties: color_space 0,
 *     default_size 1;  ImageSize: width 0, height 1;  ProcessUnit: options_type 0, options 1;
 *   NormalizationOptions: mean 0, std 1;  Stats: max 0, min 1;  AssociatedFile: name 0, description 1,
 *     type 2, locale 3.  Enums: ContentProperties ImageProperties = 2; ColorSpaceType RGB = 1,
 *     GRAYSCALE = 2; ProcessUnitOptions NormalizationOptions = 1; AssociatedFileType TENSOR_AXIS_LABELS = 2.
 */
function independentMetadata(file: Uint8Array) {
  const model = new ByteBuffer(file);
  expect(model.__has_identifier('TFL3')).toBe(true);
  const slot = (bb: ByteBuffer, table: number, n: number) => {
    const o = bb.__offset(table, 4 + 2 * n);
    return o ? table + o : 0;
  };
  const table = (bb: ByteBuffer, t: number, n: number) => (slot(bb, t, n) ? bb.__indirect(slot(bb, t, n)) : 0);
  const vector = (bb: ByteBuffer, t: number, n: number) => (slot(bb, t, n) ? { at: bb.__vector(slot(bb, t, n)), len: bb.__vector_len(slot(bb, t, n)) } : { at: 0, len: 0 });
  const tables = (bb: ByteBuffer, t: number, n: number) => {
    const v = vector(bb, t, n);
    return Array.from({ length: v.len }, (_, i) => bb.__indirect(v.at + 4 * i));
  };
  const floats = (bb: ByteBuffer, t: number, n: number) => {
    const v = vector(bb, t, n);
    return Array.from({ length: v.len }, (_, i) => bb.readFloat32(v.at + 4 * i));
  };
  const str = (bb: ByteBuffer, t: number, n: number) => (slot(bb, t, n) ? (bb.__string(slot(bb, t, n)) as string) : undefined);

  const root = model.readInt32(0);
  const entry = tables(model, root, 6).find((m) => str(model, m, 0) === 'TFLITE_METADATA');
  expect(entry, 'a TFLITE_METADATA entry').toBeDefined();
  const buffer = tables(model, root, 4)[model.readUint32(slot(model, entry!, 1))];
  const data = vector(model, buffer, 0);
  const bb = new ByteBuffer(file.subarray(data.at, data.at + data.len));
  expect(bb.__has_identifier('M001')).toBe(true);
  const meta = bb.readInt32(0);
  const sub = tables(bb, meta, 3)[0];
  const input = tables(bb, sub, 2)[0];
  const output = tables(bb, sub, 3)[0];
  const content = table(bb, input, 3);
  const props = table(bb, content, 1);
  const size = table(bb, props, 1);
  const unit = tables(bb, input, 4)[0];
  const norm = table(bb, unit, 1);
  const stats = table(bb, input, 5);
  const files = tables(bb, output, 6);
  return {
    minParserVersion: str(bb, meta, 7),
    contentType: bb.readUint8(slot(bb, content, 0)),
    hasRange: slot(bb, content, 2) !== 0,
    colorSpace: bb.readInt8(slot(bb, props, 0)),
    size: { width: bb.readUint32(slot(bb, size, 0)), height: bb.readUint32(slot(bb, size, 1)) },
    unitType: bb.readUint8(slot(bb, unit, 0)),
    mean: floats(bb, norm, 0),
    std: floats(bb, norm, 1),
    statsMin: floats(bb, stats, 1),
    statsMax: floats(bb, stats, 0),
    files: files.map((f) => ({ name: str(bb, f, 0), type: bb.readInt8(slot(bb, f, 2)) })),
  };
}

/** labels.txt unpacked by fflate from the whole file, and where the zip says its directory is. */
function zippedLabels(file: Uint8Array): { labels: string; centralDirectoryAt: number } {
  const entries = unzipSync(file);
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const eocd = file.length - 22;
  expect(v.getUint32(eocd, true)).toBe(0x06054b50);
  return { labels: new TextDecoder().decode(entries['labels.txt']), centralDirectoryAt: v.getUint32(eocd + 16, true) };
}

function smallImageModel(shape: number[], seed = 1): tfl.LayersModel {
  return seeded(seed, () => {
    const input = tfl.input({ shape, name: 'input' });
    let x = tfl.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'conv' }).apply(input) as tfl.SymbolicTensor;
    x = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tfl.SymbolicTensor;
    return tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 3, activation: 'softmax', name: 'probs', kernelInitializer: tfl.initializers.randomNormal({ stddev: 6 }) }).apply(x) as tfl.SymbolicTensor });
  });
}

const convention = (normalization: { mean: readonly number[]; std: readonly number[] }, size: [number, number], channels: 1 | 3): ImageInputConvention => ({
  kind: 'image',
  size,
  channels,
  normalization: { mean: [...normalization.mean], std: [...normalization.std] },
  dtype: 'float32',
});

describe('drop-in export metadata', () => {
  it("states a PocketBench image model's normalization for raw 0–255 pixels: (0 − mean)/std and (255 − mean)/std are the [0, 1] the data loader feeds it", async () => {
    // The range the model is trained on, from the real data loader: black and white pictures.
    const folder = join(dir, 'bw');
    for (const [cls, v] of [['black', 0], ['white', 255]] as const) {
      mkdirSync(join(folder, cls), { recursive: true });
      for (let i = 0; i < 5; i++) await sharp({ create: { width: 12, height: 12, channels: 3, background: { r: v, g: v, b: v } } }).png().toFile(join(folder, cls, `${i}.png`));
    }
    const ds = await loadImageFolder({ kind: 'image-folder', dir: folder, size: [12, 12], channels: 3 }, { seed: 1 });
    const all = [ds.train.x, ds.val.x, ds.test.x];
    const trained = [Math.min(...all.map((x) => Math.min(...x))), Math.max(...all.map((x) => Math.max(...x)))];
    expect(trained).toEqual([0, 1]);

    const model = buildTemplate({ template: 'mobilenet', inputShape: [12, 12, 3], numClasses: 2, width: 0.25, seed: 1 });
    // No ModelMeta (a model PocketBench trained before models carried one): the dataset gives labels, the default convention [0, 1].
    const bytes = buildTflite(model, { precision: 'fp32', metadata: metadataFor(ds, 'r1', null) }).bytes;
    model.dispose();
    const ours = readTfliteMetadata(readTflite(bytes).metadata.find((m) => m.name === 'TFLITE_METADATA')!.data)!;
    const theirs = independentMetadata(bytes);
    for (const { mean, std } of [ours.inputs[0].normalization!, theirs]) {
      expect({ mean, std }).toEqual({ mean: [0], std: [255] });
      expect([(0 - mean[0]) / std[0], (255 - mean[0]) / std[0]]).toEqual(trained);
    }
    expect(theirs).toMatchObject({ contentType: 2, hasRange: false, colorSpace: 1, size: { width: 12, height: 12 }, unitType: 1, statsMin: [0], statsMax: [1], minParserVersion: '1.0.0' });
    expect(ours.inputs[0]).toMatchObject({ content: 'image', colorSpace: 'RGB', imageSize: { width: 12, height: 12 }, stats: { min: [0], max: [1] } });
    expect(theirs.files).toEqual([{ name: 'labels.txt', type: 2 }]);
    expect(ours.outputs[0].associatedFiles).toEqual([{ name: 'labels.txt', type: 'TENSOR_AXIS_LABELS' }]);
    const { labels, centralDirectoryAt } = zippedLabels(bytes);
    expect(labels).toBe('black\nwhite\n');
    // The zip's offsets count from the start of the whole file, as the metadata populator writes them.
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(centralDirectoryAt, true)).toBe(0x02014b50);
    expect(new TextDecoder().decode(readZipEntry(bytes, 'labels.txt')!)).toBe(labels);
  });

  it('a file cut before its labels archive is refused as damaged, not read as a model without labels', () => {
    const model = smallImageModel([12, 12, 3]);
    const meta = { labels: ['a', 'b'], input: convention(UNIT_RANGE_NORMALIZATION, [12, 12], 3), output: 'probabilities' as const };
    const bytes = buildTflite(model, { precision: 'fp32', metadata: metadataFor(null, undefined, meta) }).bytes;
    model.dispose();
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const firstLocalHeader = v.getUint32(v.getUint32(bytes.length - 22 + 16, true) + 42, true);
    expect(inspectTfliteBytes(bytes, 'whole.tflite').labels).toEqual(['a', 'b']);
    const cut = bytes.slice(0, firstLocalHeader);
    expect(() => inspectTfliteBytes(cut, 'cut.tflite')).toThrow(/cut\.tflite: its TFLite metadata names the file "labels\.txt", but the model ends before the archive that holds it; the file was cut short or damaged/);
  });

  it("carries an imported model's convention (Teachable Machine: mean 127.5, std 127.5 → [-1, 1]), grayscale size, non-ASCII labels and the output kind", async () => {
    const model = smallImageModel([20, 16, 1]);
    const meta = { labels: ['空', '少し', '満杯'], input: convention(SIGNED_UNIT_NORMALIZATION, [20, 16], 1), output: 'probabilities' as const };
    const bytes = buildTflite(model, { precision: 'fp16', metadata: metadataFor(null, undefined, meta) }).bytes;
    model.dispose();
    const theirs = independentMetadata(bytes);
    expect(theirs).toMatchObject({ mean: [127.5], std: [127.5], colorSpace: 2, size: { width: 16, height: 20 }, statsMin: [-1], statsMax: [1] });
    expect([(0 - theirs.mean[0]) / theirs.std[0], (255 - theirs.mean[0]) / theirs.std[0]]).toEqual(normalizedRange({ mean: [...SIGNED_UNIT_NORMALIZATION.mean], std: [...SIGNED_UNIT_NORMALIZATION.std] }));
    expect(zippedLabels(bytes).labels).toBe('空\n少し\n満杯\n');
    const info = inspectTfliteBytes(bytes);
    expect(info.labels).toEqual(meta.labels);
    expect(info.metadata?.normalization).toEqual({ mean: [127.5], std: [127.5] });
    expect(readTfliteMetadata(readTflite(bytes).metadata.find((m) => m.name === 'TFLITE_METADATA')!.data)!.outputs[0]).toMatchObject({ name: 'probabilities', stats: { min: [0], max: [1] } });
    // Per-channel normalization (ImageNet-style) is written per channel, stats too.
    const rgb = smallImageModel([8, 8, 3]);
    const perChannel = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] };
    const b2 = independentMetadata(buildTflite(rgb, { precision: 'fp32', metadata: { input: convention(perChannel, [8, 8], 3) } }).bytes);
    rgb.dispose();
    expect(b2.mean.map((v) => Math.fround(v))).toEqual(perChannel.mean.map(Math.fround));
    b2.statsMin.forEach((v, c) => expect(v).toBeCloseTo(-perChannel.mean[c] / perChannel.std[c], 5));
    b2.statsMax.forEach((v, c) => expect(v).toBeCloseTo((255 - perChannel.mean[c]) / perChannel.std[c], 5));
  });

  it('a feature model states its dataset standardization and no image properties', () => {
    const model = buildTemplate({ template: 'mlp', inputShape: [4], numClasses: 2, hidden: [5], seed: 2 });
    const bytes = buildTflite(model, { precision: 'fp32', metadata: { labels: ['no', 'yes'], featureNormalization: { mean: [1, 2, 3, 4], std: [0.5, 1, 2, 4] } } }).bytes;
    model.dispose();
    const ours = readTfliteMetadata(readTflite(bytes).metadata.find((m) => m.name === 'TFLITE_METADATA')!.data)!;
    expect(ours.inputs[0]).toMatchObject({ content: 'feature', normalization: { mean: [1, 2, 3, 4], std: [0.5, 1, 2, 4] } });
    expect(ours.inputs[0].colorSpace).toBeUndefined();
  });
});

describe('integer input that takes raw pixels', () => {
  const shape = [8, 8, 3];
  const raw = (n: number, seed: number) => Uint8Array.from(seededValues(n * 192, seed, 0, 256), (v) => Math.min(255, Math.floor(v)));

  for (const [name, norm] of [
    ['[0, 1] pixels (mean 0, std 255)', UNIT_RANGE_NORMALIZATION],
    ['Teachable Machine (mean 127.5, std 127.5)', SIGNED_UNIT_NORMALIZATION],
  ] as const) {
    it(`${name}: uint8 input quantization is the stated normalization, int8 the same shifted by 128, and LiteRT on raw pixels agrees with the float model`, async () => {
      const model = smallImageModel(shape, 3);
      const meta = { labels: ['a', 'b', 'c'], input: convention(norm, [8, 8], 3), output: 'probabilities' as const };
      const n = 40;
      const pixels = raw(n, 11);
      const x = Float32Array.from(pixels, (p) => (p - norm.mean[0]) / norm.std[0]);
      const { params } = calibrateMinMax(model, { x, n, sampleShape: shape });
      const u8 = buildTflite(model, { precision: 'int8', quant: params, io: 'uint8', metadata: meta });
      const i8 = buildTflite(model, { precision: 'int8', quant: params, io: 'int8', metadata: meta });
      const input = inspectTfliteBytes(u8.bytes).inputs[0];
      const zp = Math.round(norm.mean[0]);
      expect(input).toMatchObject({ dtype: 'uint8', shape: [1, 8, 8, 3], zeroPoint: zp });
      expect(input.scale).toBeCloseTo(1 / norm.std[0], 9);
      expect(inspectTfliteBytes(u8.bytes).outputs[0]).toMatchObject({ dtype: 'uint8', scale: 1 / 256, zeroPoint: 0 });
      expect(inspectTfliteBytes(i8.bytes).inputs[0]).toMatchObject({ dtype: 'int8', zeroPoint: zp - 128 });
      // Raw 0 and 255 through the input quantization land where the stated normalization puts them
      // (exactly, or within the half pixel level a mean of 127.5 cannot be a zero point).
      const [lo, hi] = normalizedRange({ mean: [...norm.mean], std: [...norm.std] });
      // (the scale is stored as float32: 1e-6 of slack)
      expect(Math.abs(input.scale! * (0 - zp) - lo)).toBeLessThanOrEqual(0.5 / norm.std[0] + 1e-6);
      expect(Math.abs(input.scale! * (255 - zp) - hi)).toBeLessThanOrEqual(0.5 / norm.std[0] + 1e-6);
      expect(u8.warnings.some((w) => /not a whole number/.test(w))).toBe(zp !== norm.mean[0]);
      // The metadata still states the float model's normalization, with the uint8 stats 0 … 255.
      expect(independentMetadata(u8.bytes)).toMatchObject({ mean: [norm.mean[0]], std: [norm.std[0]], statsMin: [0], statsMax: [255] });

      const expected = tf.tidy(() => (model.predict(tf.tensor(x, [n, ...shape])) as tf.Tensor).dataSync());
      const lite = await loadTfliteModel(u8.bytes);
      let worst = 0;
      let agree = 0;
      for (let i = 0; i < n; i++) {
        const [y] = await lite.run([pixels.slice(i * 192, (i + 1) * 192)]);
        const probs = Array.from(y, (q) => q / 256);
        worst = Math.max(worst, ...probs.map((p, j) => Math.abs(p - expected[i * 3 + j])));
        const top = (v: ArrayLike<number>, o = 0) => [0, 1, 2].reduce((b, j) => (v[o + j] > v[o + b] ? j : b), 0);
        if (top(probs) === top(expected, i * 3)) agree++;
      }
      lite.close();
      expect(worst).toBeLessThanOrEqual(0.03); // measured 0.003 ([0, 1]) and 0.017 (Teachable Machine)
      expect(agree).toBeGreaterThanOrEqual(n - 2);

      // Desktop accuracy feeds the uint8 file the dataset's pixels, recovered with the file's own metadata.
      const labels = Int32Array.from({ length: n }, (_, i) => [0, 1, 2].reduce((b, j) => (expected[i * 3 + j] > expected[i * 3 + b] ? j : b), 0));
      const file = join(dir, `u8-${zp}.tflite`);
      writeFileSync(file, u8.bytes);
      expect(await tfliteAccuracy(file, { x, y: labels, n, sampleShape: shape })).toBeGreaterThanOrEqual((n - 2) / n);
      model.dispose();
    }, 120_000);
  }

  it('refuses a uint8 input for a per-channel normalization, and integer I/O without full INT8', () => {
    const model = smallImageModel(shape, 4);
    const x = Float32Array.from(raw(8, 2), (p) => p / 255);
    const { params } = calibrateMinMax(model, { x, n: 8, sampleShape: shape });
    const input = convention({ mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] }, [8, 8], 3);
    expect(() => buildTflite(model, { precision: 'int8', quant: params, io: 'uint8', metadata: { input } })).toThrow(/normalizes each colour channel differently/);
    expect(() => buildTflite(model, { precision: 'fp16', io: 'uint8' })).toThrow(/uint8 input\/output needs the full INT8 precision/);
    model.dispose();
  });
});
