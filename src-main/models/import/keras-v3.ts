/**
 * Keras 3 `.keras` reader: a zip holding `config.json` (the serialised model), `metadata.json`
 * (`keras_version`, `date_saved`) and `model.weights.h5` (keras/src/saving/saving_lib.py).
 *
 * Weights layout (saving_lib `_save_state` / `H5IOStore`): each object with variables has a group
 * `<path>/vars` with datasets `0`, `1`, … in the layer's variable order (Dense: kernel, bias; BN:
 * gamma, beta, moving_mean, moving_variance). A Sequential's or Functional's layers live under
 * `layers/<key>`, where the key is the layer's class in snake_case, numbered per class within that
 * model (`conv2d`, `conv2d_1`…: `_save_container_state`), not the layer's name; nested models repeat
 * the pattern (`layers/functional/layers/conv2d`). Keras 2.13–2.15 wrote
 * `_layer_checkpoint_dependencies` where Keras 3 writes `layers` (H5Entry's fallback). A compiled
 * model also saves `optimizer/…` and metric state, which a teacher does not need.
 */
import { AppError } from '../../../src-shared/errors';
import { buildFlatModel } from './build';
import type { FlatLeaf } from './flatten';
import { datasetFloat32, type Group, isDataset, isGroup, withH5 } from './h5';
import { labelsBeside } from './labels';
import type { ReadModel } from './read-result';
import type { WeightStore, WeightTensor } from './weights';
import { readZipEntries, type ZipLimits } from './zip';

const CONFIG = 'config.json';
const WEIGHTS = 'model.weights.h5';
const METADATA = 'metadata.json';

/** Keras 3 variables by saving_lib path, taken by position. */
class KerasV3WeightStore implements WeightStore {
  private readonly taken = new Set<string>();
  constructor(private readonly datasets: Map<string, WeightTensor>) {}

  private varsOf(base: string): string[] {
    const out: string[] = [];
    for (let i = 0; this.datasets.has(`${base}/vars/${i}`); i++) out.push(`${base}/vars/${i}`);
    return out;
  }

  take(leaf: FlatLeaf, vars: string[]): (WeightTensor | undefined)[] {
    let paths = this.varsOf(leaf.kerasPath);
    if (!paths.length) paths = this.varsOf(leaf.kerasPath.replace(/(^|\/)layers\//g, '$1_layer_checkpoint_dependencies/'));
    if (paths.length !== vars.length && paths.length) {
      for (const p of paths) this.taken.add(p);
      throw new AppError(
        'WEIGHTS_MISMATCH',
        `the weights do not match the model's configuration: layer "${leaf.path.join('/')}" (${leaf.className}) needs ${vars.length} weights (${vars.join(', ')}) but the file stores ${paths.length} under ${leaf.kerasPath}. The file is damaged, or its weights belong to another model; save the model again.`,
        { layer: leaf.path.join('/'), expected: vars.length, found: paths.length },
      );
    }
    return vars.map((_, i) => {
      const p = paths[i];
      if (!p) return undefined;
      this.taken.add(p);
      return this.datasets.get(p);
    });
  }

  leftover(): string[] {
    return [...this.datasets.keys()].filter((p) => /^(layers|_layer_checkpoint_dependencies)\//.test(p) && !this.taken.has(p));
  }
}

function collectDatasets(g: Group, prefix: string, out: Map<string, WeightTensor>, file: string): void {
  for (const key of g.keys()) {
    const child = g.get(key);
    const p = prefix ? `${prefix}/${key}` : key;
    if (isGroup(child)) collectDatasets(child, p, out, file);
    else if (isDataset(child) && !p.startsWith('optimizer/')) out.set(p, { name: p, ...datasetFloat32(child, file) });
  }
}

export async function readKerasV3(file: string, bytes: Uint8Array, contentHash: string, limits?: ZipLimits): Promise<ReadModel> {
  const entries = readZipEntries(bytes, (n) => n === CONFIG || n === WEIGHTS || n === METADATA || n === 'model.weights.npz', file, limits);
  const configBytes = entries.get(CONFIG);
  if (!configBytes) throw new AppError('INVALID_MODEL', `${file} is a zip archive but not a Keras model (no ${CONFIG} inside). Save the model with Keras' model.save('model.keras').`, { file });
  const weightsBytes = entries.get(WEIGHTS);
  if (!weightsBytes) {
    throw new AppError(
      'INVALID_MODEL',
      entries.has('model.weights.npz')
        ? `${file} stores its weights as NumPy (.npz), which PocketBench does not read. Save the model again with the default weights format (model.save('model.keras')).`
        : `${file} has no weights (no ${WEIGHTS} inside): it holds the architecture only. Save the trained model with model.save('model.keras').`,
      { file },
    );
  }
  let config: unknown;
  try {
    config = JSON.parse(new TextDecoder().decode(configBytes));
  } catch (err) {
    throw new AppError('INVALID_MODEL', `${file}: ${CONFIG} is not valid JSON (${(err as Error).message}).`, { file });
  }
  const datasets = await withH5(weightsBytes, `${file} (${WEIGHTS})`, (f) => {
    const m = new Map<string, WeightTensor>();
    collectDatasets(f, '', m, file);
    return m;
  });
  let built;
  try {
    built = await buildFlatModel(config, new KerasV3WeightStore(datasets), file);
  } catch (err) {
    if (err instanceof AppError && err.code === 'WEIGHTS_MISMATCH' && !err.message.startsWith(file)) throw new AppError(err.code, `${file}: ${err.message}`, { file, ...(err.details as object) });
    throw err;
  }
  const warnings: string[] = [];
  const meta = entries.get(METADATA);
  if (meta) {
    try {
      const v = (JSON.parse(new TextDecoder().decode(meta)) as { keras_version?: string }).keras_version;
      if (v && !v.startsWith('3.') && !v.startsWith('2.1')) warnings.push(`${file} says it was written by Keras ${v}; read as a Keras 3 archive.`);
    } catch {
      /* metadata.json is informative only */
    }
  }
  const txt = labelsBeside(file);
  return { built, format: 'keras-v3', file, contentHash, labels: txt ? { labels: txt.labels, source: txt.file } : null, teachableMachine: null, imageSize: null, warnings };
}
