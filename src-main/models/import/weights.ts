/**
 * Copying stored weights into the flat model, leaf by leaf. A `WeightStore` answers "the values of
 * this leaf's variables" for its format:
 * - by name (TF.js manifests, Keras 2 HDF5 `weight_names`): a weight is `…/<layer>/<variable>` and
 *   nested models may or may not prefix their name (tfjs 1.x and Keras 2.4 do not; later writers
 *   do). Among the weights ending in `<layer>/<variable>`, the one whose prefix matches most of the
 *   leaf's nesting path wins; equal candidates are taken in file order.
 * - by position (Keras 3 `vars/0`, `vars/1`, … under the leaf's saving_lib path).
 * Every shape is checked against the layer's, every leaf must find all its weights, and weights
 * that no layer took are an error: a file whose weights do not match its config is refused.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import type { FlatLeaf } from './flatten';

export interface WeightTensor {
  /** Where the value came from, for messages. */
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface WeightStore {
  /** One entry per requested variable (`kernel`, `bias`, `gamma`…), undefined where none was found. */
  take(leaf: FlatLeaf, vars: string[]): (WeightTensor | undefined)[];
  /** Names of stored weights no leaf took. */
  leftover(): string[];
}

/** A store over named weights (`scope` restricts a leaf to the weights under its outermost model, as Keras 2 groups them). */
export class NamedWeightStore implements WeightStore {
  private readonly taken = new Set<WeightTensor>();

  constructor(
    private readonly weights: (WeightTensor & { scope?: string })[],
    private readonly scopeOf: (leaf: FlatLeaf) => string | undefined = () => undefined,
  ) {}

  take(leaf: FlatLeaf, vars: string[]): (WeightTensor | undefined)[] {
    const scope = this.scopeOf(leaf);
    const layer = leaf.path[leaf.path.length - 1];
    return vars.map((v) => {
      let best: WeightTensor | undefined;
      let bestScore = -1;
      for (const w of this.weights) {
        if (this.taken.has(w) || (scope !== undefined && w.scope !== scope)) continue;
        const segs = w.name.replace(/:\d+$/, '').split('/');
        if (segs.length < 2 || segs[segs.length - 1] !== v || segs[segs.length - 2] !== layer) continue;
        // How many of the weight's prefix segments match the leaf's nesting path, from the inside out.
        let score = 0;
        for (let i = segs.length - 3, j = leaf.path.length - 2; i >= 0 && j >= 0 && segs[i] === leaf.path[j]; i--, j--) score++;
        if (score > bestScore) {
          best = w;
          bestScore = score;
        }
      }
      // Keras 2 names a top-level layer's variables by the graph's name scope, which can differ from
      // the layer's name (`dense_1_1/kernel:0` for layer `dense_1`); its group holds only its own weights.
      if (!best && scope !== undefined && leaf.path.length === 1) {
        best = this.weights.find((w) => !this.taken.has(w) && w.scope === scope && w.name.replace(/:\d+$/, '').split('/').pop() === v);
      }
      if (best) this.taken.add(best);
      return best;
    });
  }

  leftover(): string[] {
    return this.weights.filter((w) => !this.taken.has(w)).map((w) => w.name);
  }
}

/** The variable name tfjs-layers gives a layer weight (`Conv1/kernel` → `kernel`). */
export function variableName(w: tfl.LayerVariable): string {
  const n = w.originalName ?? w.name;
  return n.slice(n.lastIndexOf('/') + 1);
}

/** Copy every leaf's weights from `store` into `model` (built from the flat topology). */
export function assignWeights(model: tfl.LayersModel, leaves: FlatLeaf[], store: WeightStore, what: string): void {
  const mismatch = (problem: string, details: Record<string, unknown>) =>
    new AppError('WEIGHTS_MISMATCH', `${what}: the weights do not match the model's configuration: ${problem}. The file is damaged, or its weights belong to another model; export the model again.`, { file: what, ...details });
  for (const leaf of leaves) {
    const layer = model.getLayer(leaf.name);
    const vars = layer.weights;
    if (!vars.length) continue;
    const found = store.take(leaf, vars.map(variableName));
    const missing = found.map((w, i) => (w ? null : variableName(vars[i]))).filter((x): x is string => x !== null);
    if (missing.length) throw mismatch(`layer "${leaf.path.join('/')}" (${leaf.className}) needs ${vars.length} weights and the file has none for ${missing.join(', ')}`, { layer: leaf.path.join('/'), missing });
    const tensors: tf.Tensor[] = [];
    try {
      found.forEach((w, i) => {
        const want = vars[i].shape as number[];
        if (w!.shape.length !== want.length || w!.shape.some((d, k) => d !== want[k])) {
          throw mismatch(`"${w!.name}" has shape [${w!.shape.join(', ')}] but layer "${leaf.path.join('/')}" (${leaf.className}) needs [${want.join(', ')}]`, { layer: leaf.path.join('/'), weight: w!.name, fileShape: w!.shape, configShape: want });
        }
        if (w!.values.length !== want.reduce((a, b) => a * b, 1)) throw mismatch(`"${w!.name}" holds ${w!.values.length} values for shape [${want.join(', ')}]`, { weight: w!.name });
        tensors.push(tf.tensor(w!.values, want, 'float32'));
      });
      layer.setWeights(tensors);
    } finally {
      tf.dispose(tensors);
    }
  }
  const left = store.leftover();
  if (left.length) {
    throw mismatch(`${left.length} stored weight${left.length > 1 ? 's' : ''} belong${left.length > 1 ? '' : 's'} to no layer of the configuration (${left.slice(0, 5).join(', ')}${left.length > 5 ? ', …' : ''})`, { leftover: left });
  }
}
