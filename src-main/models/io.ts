/**
 * TF.js Layers models on disk (`model.json` + weight files) without tfjs-node: tfjs-layers' own
 * file:// handler ships with tfjs-node, which is optional here. Saving goes through
 * `tf.io.withSaveHandler` (serialise to memory, then write), loading through `tf.io.fromMemory`
 * after every file has been read and checked, so a bad file gets a message that names it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../src-shared/errors';
import type { ModelMeta } from '../../src-shared/model-io';
import { assertSupported } from './supported';
// Registers ScaleShift and HardSwish with tfjs' serialization, so models holding them load.
import './custom-layers';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_FILE = 'group1-shard1of1.bin';

export interface SavedModel {
  /** The artifact folder (holding model.json and the weights). */
  path: string;
  /** SHA-256 hex of model.json followed by the weight bytes. */
  contentHash: string;
  /** model.json + weights. */
  bytes: number;
}

export interface LoadedModel extends SavedModel {
  model: tfl.LayersModel;
  /** The model.json that was read. */
  jsonPath: string;
  /** What PocketBench stored about the model (labels, input convention), when it did. */
  meta: ModelMeta | null;
}

/** Key under model.json's `userDefinedMetadata` holding the model's `ModelMeta`. */
export const META_KEY = 'pocketbench';

interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology?: unknown;
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  trainingConfig?: tf.io.TrainingConfig;
  userDefinedMetadata?: Record<string, unknown>;
}

function hashOf(json: Uint8Array, weights: Uint8Array): string {
  return createHash('sha256').update(json).update(weights).digest('hex');
}

/** Serialise a model to model.json bytes and one weight buffer (in memory). */
export async function serializeModel(model: tfl.LayersModel, meta?: ModelMeta | null): Promise<{ json: Buffer; weights: Buffer }> {
  let artifacts: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = artifacts as tf.io.ModelArtifacts | null;
  if (!a || !a.modelTopology) throw new AppError('INTERNAL', 'The model could not be serialised (no topology was produced).');
  return toFiles(meta ? { ...a, userDefinedMetadata: { [META_KEY]: meta as unknown as object } } : a);
}

/** Artifacts -> the model.json and weight-file bytes of the TF.js Layers format (one weight shard). */
function toFiles(a: tf.io.ModelArtifacts): { json: Buffer; weights: Buffer } {
  const weights = Buffer.from(a.weightData ? tf.io.CompositeArrayBuffer.join(a.weightData) : new ArrayBuffer(0));
  const json: ModelJson = {
    format: a.format ?? 'layers-model',
    generatedBy: a.generatedBy,
    convertedBy: a.convertedBy ?? null,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: a.weightSpecs ?? [] }],
    ...(a.trainingConfig ? { trainingConfig: a.trainingConfig } : {}),
    ...(a.userDefinedMetadata ? { userDefinedMetadata: a.userDefinedMetadata as Record<string, unknown> } : {}),
  };
  return { json: Buffer.from(JSON.stringify(json)), weights };
}

/**
 * Save to `<artifactsDir>/<first 16 hex of the content hash>/`. Identical content lands in the
 * same folder (written once). Files are written to a temporary folder and renamed into place,
 * so a crash never leaves a half-written artifact under a valid name.
 */
export async function saveModel(model: tfl.LayersModel, artifactsDir: string, meta?: ModelMeta | null): Promise<SavedModel> {
  const { json, weights } = await serializeModel(model, meta);
  const contentHash = hashOf(json, weights);
  const dir = path.join(artifactsDir, contentHash.slice(0, 16));
  const bytes = json.length + weights.length;
  if (fs.existsSync(path.join(dir, MODEL_JSON))) return { path: dir, contentHash, bytes };
  fs.mkdirSync(artifactsDir, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(artifactsDir, `.partial-${contentHash.slice(0, 8)}-`));
  try {
    fs.writeFileSync(path.join(tmp, WEIGHTS_FILE), weights);
    fs.writeFileSync(path.join(tmp, MODEL_JSON), json);
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      // Another save of the same model won the race: same content, keep theirs.
      if (!fs.existsSync(path.join(dir, MODEL_JSON))) throw err;
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return { path: dir, contentHash, bytes };
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, float16: 2, uint8: 1, uint16: 2 };

function specBytes(spec: tf.io.WeightsManifestEntry, jsonPath: string): number {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  const size = DTYPE_BYTES[dtype];
  if (!size) throw new AppError('UNSUPPORTED', `${jsonPath}: the weight "${spec.name}" has data type ${dtype}, which PocketBench cannot read.`, { file: jsonPath, weight: spec.name });
  return count * size;
}

function invalid(file: string, problem: string, details: Record<string, unknown> = {}): AppError {
  return new AppError('INVALID_MODEL', `${file}: ${problem}`, { file, ...details });
}

/** `model.json` inside a folder, or the .json file itself. */
export function resolveModelJson(p: string): string {
  const full = path.resolve(p);
  if (!fs.existsSync(full)) throw new AppError('NOT_FOUND', `${full} does not exist. Choose a model.json file or the folder that holds it.`, { file: full });
  if (fs.statSync(full).isDirectory()) {
    const json = path.join(full, MODEL_JSON);
    if (!fs.existsSync(json)) {
      const jsons = fs.readdirSync(full).filter((f) => f.endsWith('.json'));
      throw new AppError('NOT_FOUND', `${full} has no ${MODEL_JSON}${jsons.length ? ` (it has ${jsons.join(', ')}; choose that file instead)` : ''}. A TF.js Layers model is a model.json plus weight files.`, { file: full });
    }
    return json;
  }
  return full;
}

/**
 * Read and check every file of a saved model: JSON syntax, that it is a Layers model (not a graph
 * model), that each weight file exists inside the model's folder and holds exactly the bytes the
 * manifest describes, and (unless `checkSupported` is false: the importer checks the flattened
 * graph instead) that every layer is one the exporter supports.
 */
export function readModelArtifacts(p: string, opts: { checkSupported?: boolean } = {}): { artifacts: tf.io.ModelArtifacts; jsonPath: string; contentHash: string; bytes: number; meta: ModelMeta | null } {
  const jsonPath = resolveModelJson(p);
  const jsonBytes = fs.readFileSync(jsonPath);
  let doc: ModelJson;
  try {
    doc = JSON.parse(jsonBytes.toString('utf8')) as ModelJson;
  } catch (err) {
    throw invalid(jsonPath, `the file is not valid JSON (${(err as Error).message}); it may be damaged or cut short. Export the model again.`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw invalid(jsonPath, 'the file does not describe a model (expected a JSON object).');
  if (doc.format === 'graph-model' || (doc.modelTopology as { node?: unknown } | undefined)?.node) {
    throw new AppError(
      'UNSUPPORTED',
      `${jsonPath} is a TF.js graph model; PocketBench needs a Layers model. Convert the Keras model with \`tensorflowjs_converter --input_format=keras --output_format=tfjs_layers_model\`.`,
      { file: jsonPath },
    );
  }
  if (!doc.modelTopology || typeof doc.modelTopology !== 'object') throw invalid(jsonPath, 'there is no "modelTopology": this is not a TF.js Layers model.json.');
  if (!Array.isArray(doc.weightsManifest)) throw invalid(jsonPath, 'there is no "weightsManifest": the file does not say where the weights are.');
  if (opts.checkSupported !== false) assertSupported(doc.modelTopology, `The model ${jsonPath}`);

  const dir = path.dirname(jsonPath);
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of doc.weightsManifest) {
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) throw invalid(jsonPath, 'a "weightsManifest" entry lacks "paths" or "weights".');
    const expected = group.weights.reduce((s, w) => s + specBytes(w, jsonPath), 0);
    let actual = 0;
    for (const rel of group.paths) {
      const file = path.resolve(dir, rel);
      if (path.relative(dir, file).startsWith('..') || path.isAbsolute(rel)) throw invalid(jsonPath, `the weight file "${rel}" lies outside the model's folder; refusing to read it.`);
      if (!fs.existsSync(file)) {
        throw invalid(jsonPath, `the weight file ${file} is missing (model.json lists it). Copy every file of the model into ${dir}.`, { missing: file });
      }
      const buf = fs.readFileSync(file);
      buffers.push(buf);
      actual += buf.length;
    }
    if (actual !== expected) {
      throw invalid(
        jsonPath,
        `the weight file${group.paths.length > 1 ? 's' : ''} ${group.paths.join(', ')} hold${group.paths.length > 1 ? '' : 's'} ${actual} bytes but model.json describes ${expected} bytes of weights; the files do not belong together or are damaged.`,
        { expectedBytes: expected, actualBytes: actual },
      );
    }
    weightSpecs.push(...group.weights);
  }
  const weights = Buffer.concat(buffers);
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: doc.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    format: doc.format,
    generatedBy: doc.generatedBy,
    convertedBy: doc.convertedBy ?? undefined,
    trainingConfig: doc.trainingConfig,
  };
  const meta = (doc.userDefinedMetadata?.[META_KEY] as ModelMeta | undefined) ?? null;
  return { artifacts, jsonPath, contentHash: hashOf(jsonBytes, weights), bytes: jsonBytes.length + weights.length, meta };
}

/** Load a TF.js Layers model from a folder or model.json path. Needs an initialised backend. */
export async function loadModel(p: string): Promise<LoadedModel> {
  const { artifacts, jsonPath, contentHash, bytes, meta } = readModelArtifacts(p);
  let model: tfl.LayersModel;
  try {
    model = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (err) {
    throw invalid(jsonPath, `the model could not be built from its files (${String((err as Error).message ?? err).split('\n')[0]}).`);
  }
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    const n = `${model.inputs.length} input(s) and ${model.outputs.length} output(s)`;
    model.dispose();
    throw new AppError('UNSUPPORTED', `${jsonPath} has ${n}; PocketBench works with classifiers that take one input and give one output.`, { file: jsonPath });
  }
  return { model, path: path.dirname(jsonPath), jsonPath, contentHash, bytes, meta };
}

/** An IOHandler for a folder, for code that wants `model.save(handler)` / `tf.loadLayersModel(handler)`. */
export function folderIOHandler(dir: string): tf.io.IOHandler {
  return {
    async save(a: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      fs.mkdirSync(dir, { recursive: true });
      const { json, weights } = toFiles(a);
      fs.writeFileSync(path.join(dir, WEIGHTS_FILE), weights);
      fs.writeFileSync(path.join(dir, MODEL_JSON), json);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.length } };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      return readModelArtifacts(dir).artifacts;
    },
  };
}
