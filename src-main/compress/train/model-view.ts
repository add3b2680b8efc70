/**
 * Each model of a run sees the run's images in its own input convention: an imported teacher at its
 * size and normalization (from its `ModelMeta`), the student at the dataset's (data/image-view.ts).
 * And a folder without labels gets its held-out targets from the teacher: validation and test labels
 * are the teacher's top-1 predictions, so any accuracy measured on them is the fidelity to that
 * teacher (the dataset says so: `info.targets === 'teacher'`).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import type { ModelMeta } from '../../../src-shared/model-io';
import type { Recipe } from '../../../src-shared/recipe';
import type { ImageView, LoadedDataset, Split } from '../../data';
import { withView } from '../../data/image-view';
import { loadModel, toLogitsModel } from '../../models';
import { importModel } from '../../models/import';
import type { Store } from '../../store';
import { initBackend } from '../../tf';
import { predictAll } from './batches';

/** The view a model with this meta takes the run's images at, or null when it takes the dataset's own. */
export function modelView(meta: ModelMeta | null | undefined, ds: Pick<LoadedDataset, 'info'>): ImageView | null {
  if (ds.info.modality !== 'image' || !ds.info.image || meta?.input.kind !== 'image') return null;
  if (meta.input.channels !== ds.info.inputShape[2]) {
    throw new AppError('INVALID_MODEL', `The model takes ${meta.input.channels}-channel images but the dataset "${ds.info.name}" has ${ds.info.inputShape[2]}-channel images. Set the dataset's channels to ${meta.input.channels}.`);
  }
  return { size: [meta.input.size[0], meta.input.size[1]], normalization: { mean: [...meta.input.normalization.mean], std: [...meta.input.normalization.std] } };
}

/** The split as the model sees it (the same split when the model takes the dataset's view). */
export function splitFor<S extends Split>(split: S, view: ImageView | null): S {
  return view && split.images ? (withView(split, view) as S) : split;
}

/** Index of the largest value of each row. */
export function argmaxRows(scores: Float32Array, width: number): Int32Array {
  const n = scores.length / width;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < width; j++) if (scores[i * width + j] > scores[i * width + best]) best = j;
    out[i] = best;
  }
  return out;
}

/** Share of rows where two score tables agree on the top-1 class: the student's fidelity to its teacher. */
export function topOneAgreement(a: Float32Array, b: Float32Array, width: number): number {
  const x = argmaxRows(a, width);
  const y = argmaxRows(b, width);
  if (x.length !== y.length) throw new AppError('INTERNAL', `Fidelity: ${x.length} vs ${y.length} predictions.`);
  let same = 0;
  for (let i = 0; i < x.length; i++) if (x[i] === y[i]) same++;
  return x.length ? same / x.length : 0;
}

/** The recipe's teacher for labelling an unlabelled folder: the load-teacher stage's file or artifact. */
async function recipeTeacher(recipe: Recipe, store: Store): Promise<{ model: tfl.LayersModel; meta: ModelMeta | null }> {
  const stage = recipe.stages.find((s) => s.kind === 'load-teacher');
  if (!stage || stage.kind !== 'load-teacher') {
    throw new AppError('INVALID_ARGS', 'The images have no labels, so the run needs a teacher to learn from: add a "load teacher" stage (an imported model), or use a folder with one subfolder per class.');
  }
  if (stage.artifactId !== undefined) {
    const a = store.artifacts.get(stage.artifactId);
    if (!a) throw new AppError('NOT_FOUND', `Artifact #${stage.artifactId} is not in the history (it may have been deleted). Pick another teacher.`);
    const { model, meta } = await loadModel(a.path);
    return { model, meta };
  }
  const imported = await importModel(stage.path as string);
  return { model: imported.model, meta: imported.meta };
}

/**
 * An unlabelled dataset labelled by the recipe's teacher: classes = the teacher's labels, validation
 * and test targets = its top-1 predictions (each seen in the teacher's own view); training images stay
 * unlabelled (the student learns from the teacher's soft targets there). Needs an initialised backend.
 */
export async function labelFromTeacher(ds: LoadedDataset, recipe: Recipe, store: Store): Promise<LoadedDataset> {
  if (ds.info.targets !== 'teacher' || ds.info.classes.length) return ds;
  await initBackend();
  const { model, meta } = await recipeTeacher(recipe, store);
  const logits = await toLogitsModel(model);
  try {
    const outputs = logits.outputs[0].shape[1] as number;
    const view = modelView(meta, ds);
    const label = (s: Split) => argmaxRows(predictAll(logits, splitFor(s, view)), outputs);
    const val = label(ds.val);
    const test = label(ds.test);
    const classes = meta?.labels?.length === outputs ? [...meta.labels] : Array.from({ length: outputs }, (_, i) => `class ${i}`);
    const counts = classes.map((_, c) => [...val, ...test].filter((y) => y === c).length);
    ds.val.y.set(val);
    ds.test.y.set(test);
    ds.info = { ...ds.info, classes, counts };
    return ds;
  } finally {
    if (logits !== model) logits.dispose();
    model.dispose();
  }
}

/**
 * Stage metrics named for what they measure: on a dataset whose targets are a teacher's predictions
 * (a folder without labels), every `accuracy*` figure is the fidelity to that teacher and is renamed
 * `fidelity*` (accuracyFloat → fidelityFloat…), with `targets: 'teacher'`. Other datasets: unchanged.
 */
export function namedForTargets<T extends Record<string, unknown>>(metrics: T, ds: Pick<LoadedDataset, 'info'>): T {
  if (ds.info.targets !== 'teacher') return metrics;
  const out: Record<string, unknown> = { targets: 'teacher' };
  for (const [k, v] of Object.entries(metrics)) out[k.startsWith('accuracy') ? `fidelity${k.slice('accuracy'.length)}` : k] = v;
  return out as T;
}
