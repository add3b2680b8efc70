/**
 * Keras 2 HDF5 reader (`model.save('m.h5')`, e.g. Teachable Machine's keras_model.h5, Keras 2.4).
 *
 * Layout (keras/src/legacy/saving/hdf5_format.py, `save_model_to_hdf5` / `save_weights_to_hdf5_group`):
 * - root attribute `model_config`: the model's JSON (`class_name` + `config`), plus `keras_version`
 *   and `backend`;
 * - group `model_weights`, attribute `layer_names`: the top-level layers in order; one group per
 *   top-level layer, attribute `weight_names` (e.g. `Conv1/kernel:0`), and one dataset per weight
 *   at that path inside the group. A nested model's group holds all its layers' weights (its
 *   `weights`: trainable first, then non-trainable). Long attributes are split into `name0`,
 *   `name1`, … chunks. A file from `save_weights` has these at the root and no `model_config`.
 */
import { AppError } from '../../../src-shared/errors';
import { buildFlatModel } from './build';
import { datasetFloat32, isDataset, isGroup, stringAttr, stringListAttr, withH5 } from './h5';
import { labelsBeside } from './labels';
import type { ReadModel } from './read-result';
import { NamedWeightStore, type WeightTensor } from './weights';

export async function readKerasH5(file: string, bytes: Uint8Array, contentHash: string): Promise<ReadModel> {
  const { config, weights, kerasVersion } = await withH5(bytes, file, (f) => {
    const text = stringAttr(f, 'model_config');
    if (!text) {
      const weightsOnly = f.attrs.layer_names || f.keys().includes('vars') || f.keys().includes('layers');
      throw new AppError(
        'INVALID_MODEL',
        weightsOnly
          ? `${file} holds weights only (written by save_weights), without the model's architecture. Save the whole model (model.save('model.h5') or model.save('model.keras')) and import that.`
          : `${file} is an HDF5 file but not a Keras model (no "model_config" attribute). Save the model with Keras' model.save().`,
        { file },
      );
    }
    let config: unknown;
    try {
      config = JSON.parse(text);
    } catch (err) {
      throw new AppError('INVALID_MODEL', `${file}: the model configuration is not valid JSON (${(err as Error).message}).`, { file });
    }
    const root = f.get('model_weights');
    if (!isGroup(root)) throw new AppError('INVALID_MODEL', `${file} has a model configuration but no weights (no "model_weights" group). Save the model with its weights.`, { file });
    const layerNames = stringListAttr(root, 'layer_names') ?? [];
    const weights: (WeightTensor & { scope: string })[] = [];
    for (const layer of layerNames) {
      const g = root.get(layer);
      if (!isGroup(g)) throw new AppError('WEIGHTS_MISMATCH', `${file}: the weights of layer "${layer}" are missing (model_weights lists it but has no group for it). The file is damaged; save the model again.`, { file, layer });
      for (const name of stringListAttr(g, 'weight_names') ?? []) {
        const d = g.get(name);
        if (!isDataset(d)) throw new AppError('WEIGHTS_MISMATCH', `${file}: the weight "${layer}/${name}" is listed but not stored. The file is damaged; save the model again.`, { file, weight: name });
        weights.push({ name, scope: layer, ...datasetFloat32(d, file) });
      }
    }
    return { config, weights, kerasVersion: stringAttr(f, 'keras_version') };
  });
  const built = await buildFlatModel(config, new NamedWeightStore(weights, (leaf) => leaf.path[0]), file);
  const txt = labelsBeside(file);
  return {
    built,
    format: 'keras-h5',
    file,
    contentHash,
    labels: txt ? { labels: txt.labels, source: txt.file } : null,
    teachableMachine: null,
    imageSize: null,
    warnings: kerasVersion && !kerasVersion.startsWith('2.') && !kerasVersion.startsWith('1.') ? [`${file} was written by Keras ${kerasVersion}; read as a Keras 2 HDF5 model.`] : [],
  };
}
