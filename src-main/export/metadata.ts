/**
 * Model metadata in the standard TFLite form (`TFLITE_METADATA`, a `ModelMetadata` flatbuffer from
 * tensorflow/tflite-support's metadata_schema.fbs, identifier `M001`), which Android tooling (Task
 * Library, Android Studio's ML binding) reads: input normalization and value range, output labels as an
 * associated file, producer name and version. A second entry, `pocketbench`, holds the same producer
 * facts and the recipe hash as JSON, for our own inspector.
 *
 * Associated files (labels.txt) travel the way the metadata populator packs them: a zip archive
 * appended to the flatbuffer (the file stays a valid .tflite: the runtime ignores trailing bytes).
 */
import { Builder } from 'flatbuffers';
import { APP_NAME, APP_VERSION } from '../host/version';
import { AssociatedFileType, ColorSpaceType, ContentProperties, METADATA_FILE_IDENTIFIER, METADATA_NAME, MF, ProcessUnitOptions } from './tflite/schema';
import { float32Vector, offsetVector } from './tflite/write';

export interface ExportMetadata {
  /** Class names in output order; written as labels.txt (TENSOR_AXIS_LABELS). */
  labels?: string[];
  /** Input normalization the model expects: (x − mean) / std per channel. Images here are [0,1] so mean 0 std 1 by default. */
  normalization?: { mean: number[]; std: number[] };
  /** Range of raw input values. */
  inputRange?: { min: number; max: number };
  inputKind?: 'image' | 'features';
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

export function buildMetadata(meta: ExportMetadata, ctx: { modelName: string; precision: string; outputName: string }): { name: string; data: Uint8Array }[] {
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

function modelMetadata(meta: ExportMetadata, ctx: { modelName: string; outputName: string }, producer: ProducerInfo): Uint8Array {
  const b = new Builder(1024);
  const str = (s: string) => b.createString(s);

  // Input tensor.
  const inName = str(meta.inputKind === 'features' ? 'features' : 'image');
  const inDesc = str(meta.inputKind === 'features' ? 'Standardized feature vector.' : 'Input image, NHWC, values as given by the normalization.');
  let contentOffset = 0;
  if (meta.inputKind !== 'features') {
    b.startObject(2);
    b.addFieldInt8(MF.ImageProperties.color_space, ColorSpaceType.GRAYSCALE, 0);
    const props = b.endObject();
    b.startObject(3);
    b.addFieldInt8(MF.Content.content_properties_type, ContentProperties.ImageProperties, 0);
    b.addFieldOffset(MF.Content.content_properties, props, 0);
    contentOffset = b.endObject();
  } else {
    b.startObject(0);
    const props = b.endObject();
    b.startObject(3);
    b.addFieldInt8(MF.Content.content_properties_type, ContentProperties.FeatureProperties, 0);
    b.addFieldOffset(MF.Content.content_properties, props, 0);
    contentOffset = b.endObject();
  }
  const norm = meta.normalization ?? { mean: [0], std: [1] };
  const meanV = float32Vector(b, norm.mean);
  const stdV = float32Vector(b, norm.std);
  b.startObject(2);
  b.addFieldOffset(MF.NormalizationOptions.mean, meanV, 0);
  b.addFieldOffset(MF.NormalizationOptions.std, stdV, 0);
  const normOpts = b.endObject();
  b.startObject(2);
  b.addFieldInt8(MF.ProcessUnit.options_type, ProcessUnitOptions.NormalizationOptions, 0);
  b.addFieldOffset(MF.ProcessUnit.options, normOpts, 0);
  const unit = b.endObject();
  const units = offsetVector(b, [unit]);
  const range = meta.inputRange ?? (meta.inputKind === 'features' ? undefined : { min: 0, max: 1 });
  let stats = 0;
  if (range) {
    const maxV = float32Vector(b, [range.max]);
    const minV = float32Vector(b, [range.min]);
    b.startObject(2);
    b.addFieldOffset(MF.Stats.max, maxV, 0);
    b.addFieldOffset(MF.Stats.min, minV, 0);
    stats = b.endObject();
  }
  b.startObject(7);
  b.addFieldOffset(MF.TensorMetadata.name, inName, 0);
  b.addFieldOffset(MF.TensorMetadata.description, inDesc, 0);
  b.addFieldOffset(MF.TensorMetadata.content, contentOffset, 0);
  b.addFieldOffset(MF.TensorMetadata.process_units, units, 0);
  if (stats) b.addFieldOffset(MF.TensorMetadata.stats, stats, 0);
  const inputMeta = b.endObject();

  // Output tensor, with the labels file.
  const outName = str(ctx.outputName);
  const outDesc = str('Class scores (logits unless the model ends in softmax), one per label.');
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
  const outProps = b.endObject();
  b.startObject(3);
  b.addFieldInt8(MF.Content.content_properties_type, ContentProperties.FeatureProperties, 0);
  b.addFieldOffset(MF.Content.content_properties, outProps, 0);
  const outContent = b.endObject();
  b.startObject(7);
  b.addFieldOffset(MF.TensorMetadata.name, outName, 0);
  b.addFieldOffset(MF.TensorMetadata.description, outDesc, 0);
  b.addFieldOffset(MF.TensorMetadata.content, outContent, 0);
  if (outFiles) b.addFieldOffset(MF.TensorMetadata.associated_files, outFiles, 0);
  const outputMeta = b.endObject();

  const inputs = offsetVector(b, [inputMeta]);
  const outputs = offsetVector(b, [outputMeta]);
  b.startObject(5);
  b.addFieldOffset(MF.SubGraphMetadata.input_tensor_metadata, inputs, 0);
  b.addFieldOffset(MF.SubGraphMetadata.output_tensor_metadata, outputs, 0);
  const subgraph = b.endObject();
  const subgraphs = offsetVector(b, [subgraph]);

  const name = str(ctx.modelName);
  const description = str(meta.description ?? `Image classifier exported by ${producer.producer}.`);
  const version = str(producer.recipeHash ? `recipe ${producer.recipeHash}` : `${producer.producer} ${producer.producerVersion}`);
  const author = str(`${producer.producer} ${producer.producerVersion}`);
  const minParser = str('1.0.0');
  b.startObject(8);
  b.addFieldOffset(MF.ModelMetadata.name, name, 0);
  b.addFieldOffset(MF.ModelMetadata.description, description, 0);
  b.addFieldOffset(MF.ModelMetadata.version, version, 0);
  b.addFieldOffset(MF.ModelMetadata.subgraph_metadata, subgraphs, 0);
  b.addFieldOffset(MF.ModelMetadata.author, author, 0);
  b.addFieldOffset(MF.ModelMetadata.min_parser_version, minParser, 0);
  const root = b.endObject();
  b.finish(root, METADATA_FILE_IDENTIFIER);
  return b.asUint8Array().slice();
}

// ---- associated files: a stored (uncompressed) zip appended to the model --------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Appends files as a zip archive whose offsets count from the start of the whole file (what zip
 * readers and the metadata extractor expect of a model with associated files).
 */
export function appendZip(model: Uint8Array, files: { name: string; data: Uint8Array }[]): Uint8Array {
  if (!files.length) return model;
  const parts: Uint8Array[] = [model];
  const central: Uint8Array[] = [];
  let offset = model.length;
  for (const f of files) {
    const name = new TextEncoder().encode(f.name);
    const crc = crc32(f.data);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 10, true); // version needed
    local.setUint32(14, crc, true);
    local.setUint32(18, f.data.length, true);
    local.setUint32(22, f.data.length, true);
    local.setUint16(26, name.length, true);
    const cen = new DataView(new ArrayBuffer(46));
    cen.setUint32(0, 0x02014b50, true);
    cen.setUint16(4, 20, true);
    cen.setUint16(6, 10, true);
    cen.setUint32(16, crc, true);
    cen.setUint32(20, f.data.length, true);
    cen.setUint32(24, f.data.length, true);
    cen.setUint16(28, name.length, true);
    cen.setUint32(42, offset, true);
    parts.push(new Uint8Array(local.buffer), name, f.data);
    central.push(new Uint8Array(cen.buffer), name);
    offset += 30 + name.length + f.data.length;
  }
  const cdSize = central.reduce((n, p) => n + p.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, files.length, true);
  end.setUint16(10, files.length, true);
  end.setUint32(12, cdSize, true);
  end.setUint32(16, offset, true);
  const all = [...parts, ...central, new Uint8Array(end.buffer)];
  const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function labelsFile(labels: string[]): { name: string; data: Uint8Array } {
  return { name: LABELS_FILE, data: new TextEncoder().encode(`${labels.join('\n')}\n`) };
}
