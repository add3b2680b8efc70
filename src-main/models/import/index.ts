/**
 * Models users bring: `importModel(path)` reads a TF.js Layers model (model.json, nested models
 * and tfjs 1.x exports included), a Keras 2 `.h5` or a Keras 3 `.keras` — or a folder holding one —
 * and returns one flat functional TF.js model computing what the original computes, with its
 * labels, input convention and output kind (`ImportedModel`). The format is decided by the file's
 * content (HDF5 signature, zip signature, TFLite identifier, JSON), not by its extension.
 *
 *   await initBackend();
 *   const { model, meta, warnings, details } = await importModel('keras_model.h5');
 *   meta.labels            // ['Rock', 'Paper', 'Scissors', 'Nothing'] from labels.txt beside it
 *   meta.input             // { kind: 'image', size: [224, 224], normalization: { mean: [127.5], std: [127.5] }, … }
 *   details.normalization  // { source: 'keras-application', reason: '…MobileNetV2…', guessed: false }
 *
 * Everything refused (unsupported layers, several inputs or outputs, labels that do not match the
 * outputs, damaged files, hostile archives) is an AppError that says what was found and what to do.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../../src-shared/errors';
import type { ModelMeta } from '../../../src-shared/model-io';
import { outputsProbabilities } from '../logits';
import { decideConvention, NORMALIZATIONS, type NormalizationChoice } from './convention';
import { importTflite } from './tflite';
import { isHdf5 } from './h5';
import { readKerasH5 } from './keras-h5';
import { readKerasV3 } from './keras-v3';
import type { ReadModel } from './read-result';
import { readTfjsLayers } from './tfjs-layers';
import type { ImportedModel } from './types';
import type { ZipLimits } from './zip';

export type { ImportDetails, ImportedModel } from './types';
export { NORMALIZATIONS, type NormalizationChoice } from './convention';
export { parseLabels } from './labels';

export interface ImportOptions {
  /** Override the input normalization the reader would decide. */
  normalization?: NormalizationChoice;
  /** Size limits for zip archives (tests use small ones). */
  zipLimits?: ZipLimits;
}

export type DetectedFormat = 'tfjs-layers' | 'keras-h5' | 'keras-v3' | 'tflite';

/** Largest model file read into memory: far above any model meant for a phone. */
export const MAX_MODEL_FILE_BYTES = 1 << 30;

const MODEL_EXTENSIONS = ['.h5', '.hdf5', '.keras', '.tflite'];

/** The format of a file from its first bytes. */
export function detectFormat(head: Uint8Array): DetectedFormat | null {
  if (isHdf5(head)) return 'keras-h5';
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'keras-v3';
  if (head.length >= 8 && String.fromCharCode(...head.subarray(4, 8)) === 'TFL3') return 'tflite';
  const text = new TextDecoder().decode(head.subarray(0, 64)).replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('{')) return 'tfjs-layers';
  return null;
}

/** The model file a path names: the file itself, or the one model inside a folder. */
export function resolveModelFile(p: string): string {
  const full = path.resolve(p);
  if (!fs.existsSync(full)) throw new AppError('NOT_FOUND', `${full} does not exist. Choose a model file (.h5, .keras, model.json, .tflite) or the folder that holds it.`, { file: full });
  if (!fs.statSync(full).isDirectory()) return full;
  const names = fs.readdirSync(full);
  if (names.includes('model.json')) return path.join(full, 'model.json');
  const models = names.filter((n) => MODEL_EXTENSIONS.includes(path.extname(n).toLowerCase()));
  if (models.length === 1) return path.join(full, models[0]);
  if (models.length > 1) throw new AppError('INVALID_ARGS', `${full} holds several models (${models.join(', ')}); choose one of them.`, { file: full, candidates: models });
  throw new AppError('NOT_FOUND', `${full} holds no model: PocketBench imports model.json (TF.js), .h5 (Keras 2), .keras (Keras 3) and .tflite files.`, { file: full });
}

function readHead(file: string): Uint8Array {
  const fd = fs.openSync(file, 'r');
  try {
    const head = new Uint8Array(4096);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

function readWhole(file: string): { bytes: Uint8Array; contentHash: string } {
  const size = fs.statSync(file).size;
  if (size > MAX_MODEL_FILE_BYTES) throw new AppError('TOO_LARGE', `${file} is ${size} bytes; PocketBench imports models up to ${MAX_MODEL_FILE_BYTES} bytes.`, { file, bytes: size });
  const bytes = fs.readFileSync(file);
  return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), contentHash: createHash('sha256').update(bytes).digest('hex') };
}

async function read(file: string, format: DetectedFormat, opts: ImportOptions): Promise<ReadModel> {
  switch (format) {
    case 'tfjs-layers':
      return readTfjsLayers(file);
    case 'keras-h5': {
      const { bytes, contentHash } = readWhole(file);
      return readKerasH5(file, bytes, contentHash);
    }
    case 'keras-v3': {
      const { bytes, contentHash } = readWhole(file);
      return readKerasV3(file, bytes, contentHash, opts.zipLimits);
    }
    case 'tflite':
      throw new AppError('INTERNAL', `${file}: .tflite files are read by importTflite.`, { file, format });
  }
}

/** Read any supported model file or folder into one flat TF.js model with its meta. Needs an initialised backend. */
export async function importModel(p: string, opts: ImportOptions = {}): Promise<ImportedModel> {
  const file = resolveModelFile(p);
  const format = detectFormat(readHead(file));
  if (!format) {
    throw new AppError('UNSUPPORTED', `${file} is not a model PocketBench can read: expected a Keras .h5 (HDF5), a Keras 3 .keras (zip), a TF.js model.json or a .tflite file.`, { file });
  }
  // A .tflite is rebuilt from its operator graph (labels, metadata and quantized-file refusal included).
  if (format === 'tflite') return importTflite(file, { normalization: opts.normalization ? NORMALIZATIONS[opts.normalization] : undefined });
  const r = await read(file, format, opts);
  const { model } = r.built;
  try {
    const warnings = [...r.warnings];
    const ext = path.extname(file).toLowerCase();
    const expected: Record<DetectedFormat, string[]> = { 'keras-h5': ['.h5', '.hdf5'], 'keras-v3': ['.keras'], 'tfjs-layers': ['.json'], tflite: ['.tflite'] };
    if (!expected[format].includes(ext)) warnings.push(`${path.basename(file)} holds a ${format} model despite its "${ext || 'missing'}" extension; it was read by its content.`);

    const outputs = model.outputs[0].shape[1] as number;
    let labels = r.labels?.labels ?? null;
    if (labels && labels.length !== outputs) {
      throw new AppError(
        'LABELS_MISMATCH',
        `${r.labels!.source} lists ${labels.length} labels but the model ${file} has ${outputs} outputs. Use the labels file exported with this model (one class name per output, in output order).`,
        { file, labelsFile: r.labels!.source, labels: labels.length, outputs },
      );
    }
    if (!labels) {
      labels = Array.from({ length: outputs }, (_, i) => `class ${i}`);
      warnings.push(`No labels were found (no labels.txt beside ${path.basename(file)}${format === 'tfjs-layers' ? ' and no labels in metadata.json' : ''}); the ${outputs} outputs are named "class 0" to "class ${outputs - 1}".`);
    }

    const inputShape = model.inputs[0].shape.slice(1);
    if (inputShape.length !== 1 && inputShape.length !== 3) {
      throw new AppError('UNSUPPORTED', `${file} takes inputs of shape [${inputShape.map((d) => d ?? '?').join(', ')}]; PocketBench imports image models (height × width × channels) and feature models (a vector).`, { file, inputShape });
    }
    if (inputShape.some((d) => d === null)) {
      throw new AppError('UNSUPPORTED', `${file} takes images of any size ([${inputShape.map((d) => d ?? '?').join(', ')}]); PocketBench needs a fixed input size. Save the model with a fixed input shape (e.g. 224 × 224 × 3).`, { file, inputShape });
    }
    if (inputShape.length === 3 && inputShape[2] !== 1 && inputShape[2] !== 3) {
      throw new AppError('UNSUPPORTED', `${file} takes images with ${inputShape[2]} channels; PocketBench imports grayscale (1) and RGB (3) image models.`, { file, inputShape });
    }
    const stored = r.storedMeta;
    const decision =
      stored && !opts.normalization && !r.built.rescaling
        ? { input: stored.input, source: 'stored', reason: 'The input convention PocketBench stored with this model.', guessed: false }
        : decideConvention({ inputShape, override: opts.normalization, rescaling: r.built.rescaling, teachableMachine: r.teachableMachine, layerNames: r.built.layerNames });
    if (decision.guessed) warnings.push(decision.reason);
    if (r.built.rescaling) warnings.push(decision.reason);
    if (r.imageSize && decision.input.kind === 'image' && (decision.input.size[0] !== r.imageSize || decision.input.size[1] !== r.imageSize)) {
      warnings.push(`metadata.json says the images are ${r.imageSize} px but the model takes ${decision.input.size.join(' × ')}; the model's own input size is used.`);
    }
    const meta: ModelMeta = {
      labels,
      input: decision.input,
      output: outputsProbabilities(model) ? 'probabilities' : 'logits',
      importedFrom: { format: r.format, file, contentHash: r.contentHash },
    };
    return {
      model,
      meta,
      warnings,
      details: { normalization: { source: decision.source, reason: decision.reason, guessed: decision.guessed }, labelsSource: r.labels?.source ?? null, nestedModels: r.built.nestedModels },
    };
  } catch (err) {
    model.dispose();
    throw err;
  }
}
