/**
 * Model metadata in the standard TFLite form, so the exported file is a drop-in for an Android app's
 * image classifier (Task Library `ImageClassifier`, MediaPipe Tasks, Android Studio's ML binding):
 * `TFLITE_METADATA`, a `ModelMetadata` flatbuffer defined by tensorflow/tflite-support's
 * tensorflow_lite_support/metadata/metadata_schema.fbs (file identifier `M001`, schema 1.x). What is
 * written, field by field, as that schema defines it:
 *
 * - Input `TensorMetadata`: `content` = `ImageProperties` { `color_space` RGB or GRAYSCALE by channel
 *   count, `default_size` { width, height } } (or `FeatureProperties` for a feature vector);
 *   `process_units` = one `NormalizationOptions` { mean, std }: "Tensor values are normalized on a
 *   per-channel basis, by the formula (x - mean) / std", x being the raw value; for images the raw
 *   pixel 0–255, so a model trained on [0, 1] pixels states mean 0 / std 255 and one trained on
 *   x / 127.5 − 1 (Teachable Machine, Keras MobileNet) mean 127.5 / std 127.5. "Quantized models
 *   share the same normalization parameters as their corresponding float models": a uint8-input
 *   file states the float model's normalization too, and its input quantization (scale 1/std, zero
 *   point mean) does the normalizing inside. `stats` = per-channel min / max of the tensor's values,
 *   as the tflite-support metadata writer fills them: (0 − mean)/std and (255 − mean)/std for a float
 *   input, 0 and 255 for a uint8 one. `Content.range` (a `ValueRange`) stays unset: the schema says a
 *   NULL range means the content uses every dimension but the batch axis, which is what a single image
 *   (its Case 1) is.
 * - Output `TensorMetadata`: `FeatureProperties`, and the labels as an `AssociatedFile` of type
 *   `TENSOR_AXIS_LABELS` ("labels that annotate certain axis of the tensor ... the label file in
 *   image classification"), one label per line.
 * - `ModelMetadata`: name, description, version, author, `min_parser_version` 1.0.0 (no field used
 *   here is newer).
 *
 * A second metadata entry, `pocketbench`, holds the producer facts and the recipe hash as JSON for our
 * own inspector. Associated files travel the way tflite-support's MetadataPopulator packs them: a zip
 * archive appended to the flatbuffer, written with fflate (stored, not compressed, so the labels can be
 * read in place) and relocated so its offsets count from the start of the whole file, as the
 * populator's `zipfile` append writes them; the runtime ignores the trailing bytes.
 */
import { zipSync } from 'fflate';
import { Builder } from 'flatbuffers';
import { AppError } from '../../src-shared/errors';
import { UNIT_RANGE_NORMALIZATION, type InputConvention } from '../../src-shared/model-io';
import { APP_NAME, APP_VERSION } from '../host/version';
import { AssociatedFileType, ColorSpaceType, ContentProperties, METADATA_FILE_IDENTIFIER, METADATA_NAME, MF, ProcessUnitOptions } from './tflite/schema';
import { float32Vector, offsetVector } from './tflite/write';

export interface ExportMetadata {
  /** Class names in output order; written as labels.txt (TENSOR_AXIS_LABELS). */
  labels?: string[];
  /**
   * How raw data becomes the model's input (the artifact's `ModelMeta.input`). Without it an image
   * model is taken to use PocketBench's [0, 1] pixels (mean 0, std 255) and a feature model to carry
   * no normalization. Size and channels always come from the model itself.
   */
  input?: InputConvention;
  /** Feature models: the dataset's standardization of raw features, (x − mean) / std. */
  featureNormalization?: { mean: number[]; std: number[] };
  /** Whether the model's output is probabilities (ends in softmax) or logits. */
  output?: 'logits' | 'probabilities';
  recipeHash?: string;
  description?: string;
}

export const PRODUCER_METADATA_NAME = 'pocketbench';
export const LABELS_FILE = 'labels.txt';

export interface ProducerInfo {
  producer: string;
  producerVersion: string;
  recipeHash?: string;
  precision: string;
  modelName: string;
}

/** What the file's input tensor is, for the metadata. */
export interface InputTensorFacts {
  /** Model input shape with batch 1: [1, H, W, C] or [1, F]. */
  shape: number[];
  dtype: 'float32' | 'uint8' | 'int8';
}

/** The image normalization the metadata states for a model with this input. */
export function imageNormalization(meta: ExportMetadata): { mean: number[]; std: number[] } {
  const n = meta.input?.kind === 'image' ? meta.input.normalization : UNIT_RANGE_NORMALIZATION;
  return { mean: [...n.mean], std: [...n.std] };
}

/** Checks a normalization before it is written: one value or one per channel, finite, std ≠ 0. */
function checkNormalization(n: { mean: number[]; std: number[] }, channels: number): void {
  const ok = (v: number[]) => v.length === 1 || v.length === channels;
  if (!ok(n.mean) || !ok(n.std) || ![...n.mean, ...n.std].every(Number.isFinite) || n.std.some((s) => s === 0)) {
    throw new AppError(
      'INVALID_ARGS',
      `The model's input normalization (mean ${n.mean.join(', ')}; std ${n.std.join(', ')}) cannot be written for ${channels} channel(s): give one value or one per channel, finite, with std ≠ 0.`,
    );
  }
}

export function buildMetadata(meta: ExportMetadata, ctx: { modelName: string; precision: string; input: InputTensorFacts }): { name: string; data: Uint8Array }[] {
  const producer: ProducerInfo = {
    producer: APP_NAME,
    producerVersion: APP_VERSION,
    ...(meta.recipeHash ? { recipeHash: meta.recipeHash } : {}),
    precision: ctx.precision,
    modelName: ctx.modelName,
  };
  return [
    { name: METADATA_NAME, data: modelMetadata(meta, ctx, producer) },
    { name: PRODUCER_METADATA_NAME, data: new TextEncoder().encode(JSON.stringify(producer)) },
  ];
}

function modelMetadata(meta: ExportMetadata, ctx: { modelName: string; input: InputTensorFacts }, producer: ProducerInfo): Uint8Array {
  const b = new Builder(1024);
  const str = (s: string) => b.createString(s);
  /** A table whose fields are all offsets (`[slot, offset]`; an offset of 0 leaves the field unset). */
  const tableOf = (slots: number, fields: [number, number][]) => {
    b.startObject(slots);
    for (const [slot, offset] of fields) if (offset) b.addFieldOffset(slot, offset, 0);
    return b.endObject();
  };
  const T = MF.TensorMetadata;
  const { shape, dtype } = ctx.input;
  const image = shape.length === 4;
  const channels = shape[shape.length - 1];

  /** A ProcessUnit holding NormalizationOptions. */
  const normalizationUnit = (n: { mean: number[]; std: number[] }) => {
    const opts = tableOf(2, [
      [MF.NormalizationOptions.mean, float32Vector(b, n.mean)],
      [MF.NormalizationOptions.std, float32Vector(b, n.std)],
    ]);
    b.startObject(2);
    b.addFieldInt8(MF.ProcessUnit.options_type, ProcessUnitOptions.NormalizationOptions, 0);
    b.addFieldOffset(MF.ProcessUnit.options, opts, 0);
    return b.endObject();
  };
  const statsTable = (min: number[], max: number[]) =>
    tableOf(2, [
      [MF.Stats.max, float32Vector(b, max)],
      [MF.Stats.min, float32Vector(b, min)],
    ]);
  const content = (type: number, props: number) => {
    b.startObject(3);
    b.addFieldInt8(MF.Content.content_properties_type, type, 0);
    b.addFieldOffset(MF.Content.content_properties, props, 0);
    return b.endObject();
  };

  // Input tensor.
  let inputMeta: number;
  if (image) {
    const [, height, width] = shape;
    const norm = imageNormalization(meta);
    checkNormalization(norm, channels);
    const inName = str('image');
    const inDesc = str(
      dtype === 'float32'
        ? `Input image, ${width}×${height}×${channels}, as (pixel − mean) / std of 0–255 pixel values (the NormalizationOptions).`
        : `Input image, ${width}×${height}×${channels}, raw 0–255 pixel values (${dtype}); the input quantization applies the normalization.`,
    );
    b.startObject(2);
    b.addFieldInt32(MF.ImageSize.width, width, 0);
    b.addFieldInt32(MF.ImageSize.height, height, 0);
    const size = b.endObject();
    b.startObject(2);
    b.addFieldInt8(MF.ImageProperties.color_space, channels === 3 ? ColorSpaceType.RGB : channels === 1 ? ColorSpaceType.GRAYSCALE : ColorSpaceType.UNKNOWN, 0);
    b.addFieldOffset(MF.ImageProperties.default_size, size, 0);
    const contentOffset = content(ContentProperties.ImageProperties, b.endObject());
    const units = offsetVector(b, [normalizationUnit(norm)]);
    const per = (v: number[], c: number) => v[Math.min(c, v.length - 1)];
    const n = Math.max(norm.mean.length, norm.std.length);
    const stats =
      dtype === 'float32'
        ? statsTable(
            Array.from({ length: n }, (_, c) => (0 - per(norm.mean, c)) / per(norm.std, c)),
            Array.from({ length: n }, (_, c) => (255 - per(norm.mean, c)) / per(norm.std, c)),
          )
        : statsTable([0], [255]);
    inputMeta = tableOf(7, [[T.name, inName], [T.description, inDesc], [T.content, contentOffset], [T.process_units, units], [T.stats, stats]]);
  } else {
    const inName = str('features');
    const inDesc = str(meta.featureNormalization ? 'Feature vector, as (x − mean) / std of the raw features (the NormalizationOptions).' : 'Feature vector, as the model was trained on it.');
    b.startObject(0);
    const contentOffset = content(ContentProperties.FeatureProperties, b.endObject());
    let units = 0;
    if (meta.featureNormalization) {
      checkNormalization(meta.featureNormalization, channels);
      units = offsetVector(b, [normalizationUnit(meta.featureNormalization)]);
    }
    inputMeta = tableOf(7, [[T.name, inName], [T.description, inDesc], [T.content, contentOffset], [T.process_units, units]]);
  }

  // Output tensor, with the labels file.
  const probabilities = meta.output === 'probabilities';
  const outName = str(probabilities ? 'probabilities' : 'logits');
  const outDesc = str(probabilities ? 'Probability of each class (softmax), one per label.' : 'Class scores (logits; apply a softmax for probabilities), one per label.');
  let outFiles = 0;
  if (meta.labels?.length) {
    const fname = str(LABELS_FILE);
    const fdesc = str('Class labels, one per line, in output order.');
    b.startObject(4);
    b.addFieldOffset(MF.AssociatedFile.name, fname, 0);
    b.addFieldOffset(MF.AssociatedFile.description, fdesc, 0);
    b.addFieldInt8(MF.AssociatedFile.type, AssociatedFileType.TENSOR_AXIS_LABELS, 0);
    outFiles = offsetVector(b, [b.endObject()]);
  }
  b.startObject(0);
  const outContent = content(ContentProperties.FeatureProperties, b.endObject());
  const outStats = probabilities ? statsTable([0], [1]) : 0;
  const outputMeta = tableOf(7, [[T.name, outName], [T.description, outDesc], [T.content, outContent], [T.stats, outStats], [T.associated_files, outFiles]]);

  const subgraph = tableOf(5, [
    [MF.SubGraphMetadata.input_tensor_metadata, offsetVector(b, [inputMeta])],
    [MF.SubGraphMetadata.output_tensor_metadata, offsetVector(b, [outputMeta])],
  ]);
  const M = MF.ModelMetadata;
  const root = tableOf(8, [
    [M.name, str(ctx.modelName)],
    [M.description, str(meta.description ?? `${image ? 'Image' : 'Feature'} classifier exported by ${producer.producer}.`)],
    [M.version, str(producer.recipeHash ? `recipe ${producer.recipeHash}` : `${producer.producer} ${producer.producerVersion}`)],
    [M.subgraph_metadata, offsetVector(b, [subgraph])],
    [M.author, str(`${producer.producer} ${producer.producerVersion}`)],
    [M.min_parser_version, str('1.0.0')],
  ]);
  b.finish(root, METADATA_FILE_IDENTIFIER);
  return b.asUint8Array().slice();
}

// ---- associated files: a zip archive appended to the model ----------------------------------------

/** A fixed time stamp (the DOS epoch, in local time as zip stores it), so the same export gives the same bytes. */
const ZIP_TIME = new Date(1980, 0, 1, 0, 0, 0);

/**
 * Appends files as a zip archive (fflate, stored) whose offsets count from the start of the whole
 * file, as tflite-support's populator leaves them; zip readers that allow a prefix (minizip, Python's
 * zipfile, fflate given the whole file) find the entries either way.
 */
export function appendZip(model: Uint8Array, files: { name: string; data: Uint8Array }[]): Uint8Array {
  if (!files.length) return model;
  const zip = zipSync(Object.fromEntries(files.map((f) => [f.name, [f.data, { level: 0, mtime: ZIP_TIME }]])));
  const out = new Uint8Array(model.length + zip.length);
  out.set(model, 0);
  out.set(zip, model.length);
  // Relocate: every central-directory entry's local-header offset and the directory's own offset.
  const v = new DataView(out.buffer, model.length, zip.length);
  const eocd = zip.length - 22; // fflate writes no archive comment
  if (v.getUint32(eocd, true) !== 0x06054b50) throw new AppError('INTERNAL', 'The labels archive has an unexpected layout; it was not appended.');
  const count = v.getUint16(eocd + 10, true);
  const cd = v.getUint32(eocd + 16, true);
  let at = cd;
  for (let i = 0; i < count; i++) {
    if (v.getUint32(at, true) !== 0x02014b50) throw new AppError('INTERNAL', 'The labels archive has an unexpected layout; it was not appended.');
    v.setUint32(at + 42, v.getUint32(at + 42, true) + model.length, true);
    at += 46 + v.getUint16(at + 28, true) + v.getUint16(at + 30, true) + v.getUint16(at + 32, true);
  }
  v.setUint32(eocd + 16, cd + model.length, true);
  return out;
}

export function labelsFile(labels: string[]): { name: string; data: Uint8Array } {
  // One label per line: a line break inside a label would shift every label after it.
  return { name: LABELS_FILE, data: new TextEncoder().encode(`${labels.map((l) => l.replace(/[\r\n]+/g, ' ')).join('\n')}\n`) };
}
