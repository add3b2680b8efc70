/**
 * TF.js Layers reader: model.json + weight shards (tfjs 1.x to 4.x), nested Sequential/Model
 * flattened, Teachable Machine's `metadata.json` (labels, imageSize) and `labels.txt` beside it.
 *
 * Facts of old exports this handles (Teachable Machine's, written by tfjs 1.3.1): functional models
 * are `class_name: "Model"`; inner Sequential layers keep `batch_input_shape`; weights of layers
 * inside nested models are named without the nested models' names (`Conv1/kernel`), while later
 * writers may prefix them (`model1/Conv1/kernel`): names are matched by suffix (weights.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { AppError } from '../../../src-shared/errors';
import { readModelArtifacts } from '../io';
import { buildFlatModel } from './build';
import { labelsBeside, teachableMetadataBeside } from './labels';
import type { ReadModel } from './read-result';
import { NamedWeightStore, type WeightTensor } from './weights';

export async function readTfjsLayers(p: string): Promise<ReadModel> {
  const { artifacts, jsonPath, contentHash, meta } = readModelArtifacts(p, { checkSupported: false });
  const specs = artifacts.weightSpecs ?? [];
  let named: tf.NamedTensorMap;
  try {
    named = tf.io.decodeWeights(artifacts.weightData!, specs);
  } catch (err) {
    throw new AppError('INVALID_MODEL', `${jsonPath}: the weights cannot be decoded (${(err as Error).message}).`, { file: jsonPath });
  }
  const weights: WeightTensor[] = [];
  try {
    for (const s of specs) {
      const t = named[s.name];
      weights.push({ name: s.name, shape: [...t.shape], values: Float32Array.from(t.dataSync()) });
    }
  } finally {
    tf.dispose(Object.values(named));
  }
  const built = await buildFlatModel(artifacts.modelTopology, new NamedWeightStore(weights), jsonPath);
  const warnings: string[] = [];
  const tm = teachableMetadataBeside(jsonPath);
  const txt = labelsBeside(jsonPath);
  let labels: ReadModel['labels'] = null;
  if (meta?.labels?.length) labels = { labels: meta.labels, source: 'the model.json (stored by PocketBench)' };
  else if (tm?.labels?.length) {
    labels = { labels: tm.labels, source: tm.file };
    if (txt && txt.labels.join('\n') !== tm.labels.join('\n')) warnings.push(`${txt.file} lists other labels than ${tm.file}; the labels of ${tm.file} were used.`);
  } else if (txt) labels = { labels: txt.labels, source: txt.file };
  return {
    built,
    format: 'tfjs-layers',
    file: jsonPath,
    contentHash,
    labels,
    teachableMachine: tm?.teachableMachine ? `${tm.file}` : null,
    storedMeta: meta,
    imageSize: tm?.imageSize ?? null,
    warnings,
  };
}
