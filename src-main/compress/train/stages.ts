/**
 * Pipeline stage runners owned by this area (train-teacher and load-teacher). Registered in
 * src-main/pipeline/stages.ts.
 *
 * - train-teacher: builds the recipe's template (or loads the given model.json to fine-tune), trains
 *   it with `fit` on the train split (validation for model selection / early stopping), checkpoints
 *   every epoch into `ctx.checkpointDir` and resumes from it, evaluates once on the test split, and
 *   stores the artifact (content-hashed, with params/MACs/bytes/gzip bytes and metrics) as both
 *   `teacher` and `current`.
 * - load-teacher: a model file (TF.js model.json, nested models included; Keras .h5 / .keras; or a
 *   folder holding one) read by `importModel`, or an artifact of an earlier run; checked against the
 *   dataset's input shape and classes, its outputs put in the dataset's class order when the labels
 *   name the same classes in another order, evaluated on validation and test when the labels match,
 *   and stored with its meta (labels, input convention).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import type { StageSpec } from '../../../src-shared/recipe';
import { type ImageView, type LoadedDataset, trainingView } from '../../data';
import { createRng, deriveSeed } from '../../data/rng';
import type { ModelMeta } from '../../../src-shared/model-io';
import { buildTemplate, loadModel, toLogitsModel, type TemplateSpec } from '../../models';
import { importModel } from '../../models/import';
import type { StageContext, StageRegistry, StageResult } from '../../pipeline/stage';
import { initBackend } from '../../tf';
import type { ClassificationMetrics } from '../metrics';
import { storeModelArtifact } from './artifacts';
import { augmentImages } from './augment';
import { evaluate } from './batches';
import { fit } from './fit';
import { logPlan } from './memory';
import { modelView, splitFor } from './model-view';
import { loadRunDataset } from './run-data';
import { crossEntropyLoss, labelLoss } from './step';

/** Progress events per batch are throttled to this interval (the last batch of an epoch always goes out). */
const BATCH_PROGRESS_MS = 250;

/** A model's input shape (no batch dimension) and number of outputs must match the dataset. */
export function checkModelFitsDataset(model: tfl.LayersModel, ds: Pick<LoadedDataset, 'info'>, what: string, view?: ImageView | null): void {
  const input = model.inputs[0].shape.slice(1);
  // A model with its own image view (an imported teacher) gets the images resized to its size.
  const want = view ? [view.size[0], view.size[1], ds.info.inputShape[2]] : ds.info.inputShape;
  if (input.length !== want.length || input.some((d, i) => d !== null && d !== want[i])) {
    throw new AppError('INVALID_MODEL', `${what} takes inputs of shape [${input.map((d) => d ?? '?').join(', ')}] but the dataset "${ds.info.name}" has samples of shape [${want.join(', ')}]. Pick a model trained on this kind of data, or a dataset that matches it.`);
  }
  const out = model.outputs[0].shape;
  const classes = ds.info.classes.length;
  if (out[out.length - 1] !== classes) {
    throw new AppError('INVALID_MODEL', `${what} has ${out[out.length - 1]} outputs but the dataset "${ds.info.name}" has ${classes} classes (${ds.info.classes.slice(0, 5).join(', ')}${classes > 5 ? ', …' : ''}). Pick a model trained for these classes.`);
  }
}

/** Figures for the results table from an evaluation (test split) and the validation accuracy. */
export function evaluationMetrics(test: ClassificationMetrics, classes: string[], val?: ClassificationMetrics): Record<string, unknown> {
  return {
    accuracy: test.accuracy,
    topK: test.topK,
    k: test.k,
    testLoss: test.loss,
    ece: test.ece,
    ...(val ? { valAccuracy: val.accuracy } : {}),
    perClass: test.perClass,
    confusion: test.confusion,
    classes,
  };
}

async function buildTeacher(ctx: StageContext<Extract<StageSpec, { kind: 'train-teacher' }>>, ds: LoadedDataset): Promise<tfl.LayersModel> {
  const spec = ctx.stage.model;
  if ('path' in spec) {
    const loaded = await loadModel(spec.path);
    checkModelFitsDataset(loaded.model, ds, `The model ${spec.path}`);
    return toLogitsModel(loaded.model);
  }
  return buildTemplate({
    ...(spec.options ?? {}),
    template: spec.template,
    width: spec.width,
    inputShape: ds.info.inputShape,
    numClasses: ds.info.classes.length,
    seed: deriveSeed(ctx.seed, 'teacher-init') >>> 1,
    name: 'teacher',
  } as TemplateSpec);
}

async function trainTeacher(ctx: StageContext<Extract<StageSpec, { kind: 'train-teacher' }>>): Promise<StageResult> {
  await initBackend();
  const s = ctx.stage;
  ctx.progress({ message: 'loading the dataset', fraction: 0 });
  const ds = await loadRunDataset(ctx);
  if (s.augment && ds.info.modality !== 'image') {
    throw new AppError('INVALID_ARGS', `Augmentation (random shifts and flips) works on images only; "${ds.info.name}" is a table. Turn augmentation off for this stage.`);
  }
  const model = await buildTeacher(ctx, ds);
  try {
    const augRand = createRng(deriveSeed(ctx.seed, 'augment'));
    const lossFn = s.augment
      ? (xs: tf.Tensor, ys: tf.Tensor1D) => labelLoss(model.apply(augmentImages(xs, augRand), { training: true }) as tf.Tensor, ys)
      : crossEntropyLoss(model);
    let lastSent = 0;
    if (ctx.resuming) ctx.log('info', 'Resuming teacher training from the last checkpoint.');
    const result = await fit({
      model,
      data: trainingView(ds),
      epochs: s.epochs,
      batchSize: s.batchSize,
      optimizer: s.optimizer.name,
      lr: s.optimizer.learningRate,
      momentum: s.optimizer.name === 'sgd' ? s.optimizer.momentum : 0,
      schedule: s.lrSchedule,
      earlyStopping: s.earlyStopping,
      seed: deriveSeed(ctx.seed, 'teacher-fit'),
      signal: ctx.signal,
      throwIfCancelled: ctx.throwIfCancelled,
      lossFn,
      checkpoint: { dir: ctx.checkpointDir, resume: ctx.resuming },
      onMemoryPlan: (plan) => logPlan(ctx, plan),
      onBatch: (p) => {
        const now = Date.now();
        if (now - lastSent < BATCH_PROGRESS_MS && p.batch !== p.batches) return;
        lastSent = now;
        ctx.progress({ epoch: p.epoch, epochs: p.epochs, batch: p.batch, batches: p.batches, fraction: p.fraction, etaMs: p.etaMs, metrics: { loss: p.meanLoss, lr: p.lr } });
      },
      onEpoch: (p) => {
        ctx.progress({ epoch: p.epoch, epochs: p.epochs, fraction: p.fraction, etaMs: p.etaMs, metrics: p.metrics });
        ctx.log('info', `Epoch ${p.epoch}/${p.epochs}: loss ${p.loss.toFixed(4)}${p.valAccuracy !== undefined ? `, validation accuracy ${(100 * p.valAccuracy).toFixed(2)} %` : ''}.`);
      },
    });
    if (result.stoppedEarly) ctx.log('info', `Stopped early after epoch ${result.epochsRun}; kept the weights of epoch ${result.bestEpoch} (best validation accuracy).`);
    ctx.progress({ message: 'evaluating on the test split', fraction: 1 });
    const test = evaluate(model, ds.test, { numClasses: ds.info.classes.length });
    const metrics = {
      ...evaluationMetrics(test, ds.info.classes, result.val),
      epochs: result.epochsRun,
      bestEpoch: result.bestEpoch,
      stoppedEarly: result.stoppedEarly,
      resumedFromEpoch: result.resumedFromEpoch,
      msPerBatch: result.msPerBatch,
    };
    const stored = await storeModelArtifact(ctx, model, { name: 'teacher', metrics });
    return { metrics: { ...metrics, ...stored.size }, curves: result.curves, outputs: { teacher: stored.ref, current: stored.ref } };
  } finally {
    model.dispose();
  }
}

/**
 * Put the teacher's outputs in the dataset's class order when both name the same classes in
 * another order (Teachable Machine lists classes in training order, an image folder sorts them):
 * the final Dense layer's columns are permuted, an exact rewrite. Returns the permutation applied
 * (output i of the result = output perm[i] of the model), or null when nothing changed.
 */
export function alignOutputsToClasses(model: tfl.LayersModel, modelLabels: string[] | null, classes: string[], what: string): number[] | null {
  if (!modelLabels || modelLabels.length !== classes.length || modelLabels.every((l, i) => l === classes[i])) return null;
  const index = new Map(modelLabels.map((l, i) => [l, i]));
  if (index.size !== modelLabels.length || !classes.every((c) => index.has(c))) return null;
  const perm = classes.map((c) => index.get(c)!);
  const last = model.outputs[0].sourceLayer;
  if (last.getClassName() !== 'Dense') {
    throw new AppError('INVALID_MODEL', `${what} names the same classes as the dataset in another order (${modelLabels.join(', ')} vs ${classes.join(', ')}), and its last layer (${last.getClassName()}) cannot be reordered. Rename or reorder the dataset's class folders to the model's order.`);
  }
  const [kernel, bias] = last.getWeights();
  const idx = tf.tensor1d(perm, 'int32');
  const reordered = [tf.gather(kernel, idx, 1), ...(bias ? [tf.gather(bias, idx)] : [])];
  last.setWeights(reordered);
  tf.dispose([idx, ...reordered]);
  return perm;
}

/** Labels that say nothing (the importer's "class 0"… placeholders). */
function placeholderLabels(labels: string[] | null | undefined): boolean {
  return !labels || labels.every((l, i) => l === `class ${i}`);
}

async function loadTeacher(ctx: StageContext<Extract<StageSpec, { kind: 'load-teacher' }>>): Promise<StageResult> {
  await initBackend();
  const s = ctx.stage;
  let file: string;
  let existing: { artifactId: number } | null = null;
  if (s.artifactId !== undefined) {
    const a = ctx.store.artifacts.get(s.artifactId);
    if (!a) throw new AppError('NOT_FOUND', `Artifact #${s.artifactId} is not in the history (it may have been deleted). Pick another teacher.`);
    if (a.format !== 'tfjs-layers') throw new AppError('INVALID_ARGS', `Artifact #${s.artifactId} is a ${a.format} file; a teacher must be a TF.js Layers model. Pick the TF.js model of that run.`);
    file = a.path;
    existing = { artifactId: a.id };
  } else if (s.path) {
    file = s.path;
  } else {
    throw new AppError('INVALID_ARGS', 'The load-teacher stage needs a model: give the path of a model file (TF.js model.json, Keras .h5 or .keras, or a folder holding one), or an artifact from an earlier run.');
  }
  ctx.progress({ message: 'loading the dataset', fraction: 0 });
  const ds = await loadRunDataset(ctx);
  ctx.progress({ message: 'loading the teacher', fraction: 0.3 });
  let original: tfl.LayersModel;
  let meta: ModelMeta | null;
  if (existing) {
    const loaded = await loadModel(file);
    original = loaded.model;
    meta = loaded.meta;
  } else {
    // Any format the importer reads: nested TF.js models, Keras .h5 / .keras (float .tflite: importTflite once it lands).
    const imported = await importModel(file);
    original = imported.model;
    meta = imported.meta;
    for (const w of imported.warnings) ctx.log('warn', w);
    if (imported.details) ctx.log('info', `Input convention: ${imported.details.normalization.reason}`);
  }
  const what = existing ? `Artifact #${existing.artifactId}` : `The model ${file}`;
  const model = await toLogitsModel(original);
  try {
    const view = modelView(meta, ds);
    checkModelFitsDataset(model, ds, what, view);
    if (view && ds.info.image && (view.size[0] !== ds.info.image.decodeSize[0] || view.size[1] !== ds.info.image.decodeSize[1])) {
      ctx.log('info', `The teacher takes ${view.size.join(' × ')} images; the images are kept at ${ds.info.image.decodeSize.join(' × ')} and resized for it on the fly. Set the dataset's decode size to ${view.size.join(' × ')} to give it full detail.`);
    }
    const byTeacher = ds.info.targets === 'teacher';
    const perm = byTeacher || placeholderLabels(meta?.labels) ? null : alignOutputsToClasses(model, meta!.labels, ds.info.classes, what);
    if (perm) ctx.log('info', `The teacher's outputs were reordered to the dataset's class order (${ds.info.classes.join(', ')}); the model listed them as ${meta!.labels!.join(', ')}.`);
    const labelsMatch = !byTeacher && (placeholderLabels(meta?.labels) || perm !== null || meta!.labels!.every((l, i) => l === ds.info.classes[i]));
    if (byTeacher) ctx.log('info', `The images have no labels: the student learns from this teacher's soft targets alone, and is measured by its fidelity (top-1 agreement with the teacher) on ${ds.val.n} validation and ${ds.test.n} test images.`);
    else if (!labelsMatch) ctx.log('warn', `The teacher's labels (${meta!.labels!.join(', ')}) are not the dataset's classes (${ds.info.classes.join(', ')}); accuracy is not measured, since it would compare different classes.`);
    ctx.throwIfCancelled();
    let metrics: Record<string, unknown> = { source: existing ? `artifact #${existing.artifactId}` : file, ...(byTeacher ? { targets: 'teacher' } : {}) };
    if (labelsMatch) {
      ctx.progress({ message: 'evaluating', fraction: 0.6 });
      const val = evaluate(model, splitFor(ds.val, view), { numClasses: ds.info.classes.length });
      const test = evaluate(model, splitFor(ds.test, view), { numClasses: ds.info.classes.length });
      metrics = { ...evaluationMetrics(test, ds.info.classes, val), ...metrics };
    }
    if (meta?.importedFrom) metrics.importedFrom = meta.importedFrom;
    // The stored teacher gives logits (toLogitsModel), in the dataset's class order when they were reordered.
    const storedMeta: ModelMeta | null = meta ? { ...meta, output: 'logits', labels: perm || placeholderLabels(meta.labels) ? [...ds.info.classes] : meta.labels } : null;
    // A teacher from the history stays that artifact; an imported file is stored (logits form) so later stages and runs can find it.
    const stored = await storeModelArtifact(ctx, model, { name: 'teacher (loaded)', parentId: existing?.artifactId, metrics, meta: storedMeta });
    return { metrics: { ...metrics, ...stored.size }, outputs: { teacher: stored.ref, current: stored.ref } };
  } finally {
    if (model !== original) model.dispose();
    original.dispose();
  }
}

export const stages: StageRegistry = {
  'train-teacher': trainTeacher,
  'load-teacher': loadTeacher,
};
