/**
 * What the engine contract methods compute (src-main/host/engine-handlers.ts stays thin): model
 * summaries and capacity checks for the wizard, and recipe estimates from ms/batch measured on this
 * computer's backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { z } from 'zod';
import type { modelRefSchema } from '../../../src-shared/contract/engine';
import type { CapacityReport, RecipeEstimate } from '../../../src-shared/engine-types';
import { AppError } from '../../../src-shared/errors';
import { type DatasetSpec, type Recipe, type StageSpec, validateRecipe } from '../../../src-shared/recipe';
import { FASHION_MNIST_TRAIN_COUNT, findFashionMnistFiles, previewDataset, readIdxFile } from '../../data';
import { buildTemplate, loadModel, suggestWidths, summarizeModel, type ModelSummary, type TemplateSpec, toLogitsModel } from '../../models';
import { importModel } from '../../models/import';
import type { Store } from '../../store';
import { initBackend } from '../../tf';
import { capacityCheck } from './capacity';
import { datasetSource } from './run-data';
import { createOptimizer, createTrainStep } from './step';

export type ModelRefInput = z.infer<typeof modelRefSchema>;

/** Build or load the model a reference names. The caller disposes it. */
export async function resolveModel(store: Store, ref: ModelRefInput, inputShape?: number[], numClasses?: number): Promise<tfl.LayersModel> {
  await initBackend();
  if ('template' in ref) {
    if (!inputShape || !numClasses) throw new AppError('INVALID_ARGS', 'A template needs the input shape and the number of classes: pick the dataset first.');
    return buildTemplate({ ...(ref.options ?? {}), template: ref.template, width: ref.width, inputShape, numClasses, seed: 0 } as TemplateSpec);
  }
  if ('artifactId' in ref) {
    const a = store.artifacts.get(ref.artifactId);
    if (!a) throw new AppError('NOT_FOUND', `Artifact #${ref.artifactId} is not in the history (it may have been deleted).`);
    if (a.format !== 'tfjs-layers') throw new AppError('INVALID_ARGS', `Artifact #${ref.artifactId} is a ${a.format} file; pick a TF.js model.`);
    return (await loadModel(a.path)).model;
  }
  // A file from outside: any format the importer reads (nested TF.js, Keras .h5/.keras).
  return (await importModel(ref.path)).model;
}

export async function modelSummary(store: Store, ref: ModelRefInput, inputShape?: number[], numClasses?: number): Promise<ModelSummary> {
  const model = await resolveModel(store, ref, inputShape, numClasses);
  try {
    return summarizeModel(model);
  } finally {
    model.dispose();
  }
}

export async function capacityReport(store: Store, teacherRef: ModelRefInput, studentRef: ModelRefInput, inputShape: number[], numClasses: number): Promise<CapacityReport> {
  const teacherModel = await resolveModel(store, teacherRef, inputShape, numClasses);
  const studentModel = await resolveModel(store, studentRef, inputShape, numClasses).catch((err) => {
    teacherModel.dispose();
    throw err;
  });
  try {
    const teacher = summarizeModel(teacherModel);
    const check = capacityCheck(summarizeModel(studentModel), teacher, numClasses);
    const suggestions =
      check.level !== 'ok' && 'template' in studentRef
        ? suggestWidths({ ...(studentRef.options ?? {}), template: studentRef.template, inputShape, numClasses, seed: 0 } as Omit<TemplateSpec, 'width'>, teacher)
        : [];
    return { ...check, suggestions };
  } finally {
    teacherModel.dispose();
    studentModel.dispose();
  }
}

/** Training samples, input shape and classes of a recipe's dataset, without loading it. */
export async function datasetFacts(spec: DatasetSpec): Promise<{ trainSamples: number; labeled: number; inputShape: number[]; numClasses: number }> {
  let train: number;
  let inputShape: number[];
  let numClasses: number;
  if (spec.kind === 'fashion-mnist') {
    // The built-in copy is pinned by SHA-256, so its size is known before (and without) a download.
    const count = spec.path ? readIdxFile(findFashionMnistFiles(spec.path).trainLabels).dims[0] : FASHION_MNIST_TRAIN_COUNT;
    train = Math.round(Math.min(spec.limitTrain ?? Infinity, count) * (1 - spec.validationFraction));
    inputShape = [28, 28, 1];
    numClasses = 10;
  } else {
    const p = await previewDataset(datasetSource(spec, 0).source, 0);
    train = Math.round(p.total * (1 - spec.split.validation - spec.split.test));
    inputShape = p.inputShape;
    numClasses = p.classes.length;
  }
  return { trainSamples: train, labeled: Math.min(train, spec.labeledCount ?? train), inputShape, numClasses };
}

const measured = new Map<string, number>();

/**
 * Milliseconds per training step (forward, backward, update, loss read back) at this batch size on
 * the active backend: one warm-up step, then the mean of `steps` timed ones. Cached per process.
 */
export async function measureMsPerBatch(model: tfl.LayersModel, batchSize: number, key: string, steps = 2): Promise<number> {
  await initBackend();
  // Keyed by the active backend: the backend probe times the same model on two of them.
  const cacheKey = `${tf.getBackend()}|${batchSize}|${key}`;
  const hit = measured.get(cacheKey);
  if (hit !== undefined) return hit;
  const shape = model.inputs[0].shape.slice(1) as number[];
  const classes = model.outputs[0].shape[model.outputs[0].shape.length - 1] as number;
  const xs = tf.randomUniform([batchSize, ...shape], 0, 1, 'float32', 1);
  const ys = tf.tensor1d(Array.from({ length: batchSize }, (_, i) => i % classes), 'int32');
  const optimizer = createOptimizer('adam', 1e-3);
  try {
    const step = createTrainStep(model, optimizer);
    step(xs, ys);
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) step(xs, ys);
    const ms = (performance.now() - t0) / steps;
    measured.set(cacheKey, ms);
    return ms;
  } finally {
    tf.dispose([xs, ys]);
    optimizer.dispose();
  }
}

type Measured = { ms: number | null; note?: string; size?: { params: number; macs: number; bytes: number } };

async function measureSpec(store: Store, ref: ModelRefInput, facts: { inputShape: number[]; numClasses: number }, batchSize: number): Promise<Measured> {
  let model: tfl.LayersModel | null = null;
  try {
    model = await toLogitsModel(await resolveModel(store, ref, facts.inputShape, facts.numClasses));
    const s = summarizeModel(model).totals;
    const size = { params: s.params, macs: s.macsDeployed, bytes: s.bytes };
    try {
      return { ms: await measureMsPerBatch(model, batchSize, JSON.stringify([ref, facts])), size };
    } catch (err) {
      return { ms: null, size, note: `could not time a training step here: ${(err as Error).message.split('\n')[0]}` };
    }
  } catch (err) {
    return { ms: null, note: (err as Error).message };
  } finally {
    model?.dispose();
  }
}

/** Iterative pruning: steps of `stepFraction` of the remaining weights until `target` is reached. */
function pruneEpochs(s: Extract<StageSpec, { kind: 'prune' }>): number {
  if (s.schedule.kind !== 'iterative' || s.targetSparsity <= 0) return s.fineTuneEpochs;
  const steps = Math.ceil(Math.log(1 - s.targetSparsity) / Math.log(1 - s.schedule.stepFraction));
  return steps * s.schedule.epochsPerStep + s.fineTuneEpochs;
}

export async function estimateRecipe(store: Store, input: unknown): Promise<RecipeEstimate> {
  const checked = validateRecipe(input);
  if (!checked.ok) throw new AppError('INVALID_ARGS', `Fix the recipe first: ${checked.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, { errors: checked.errors });
  const recipe: Recipe = checked.recipe;
  const { info } = await initBackend();
  const facts = await datasetFacts(recipe.dataset);
  const out: RecipeEstimate = { backend: info.name, trainSamples: facts.trainSamples, stages: [], totalMs: 0 };
  let teacherRef: ModelRefInput | null = null;
  let currentRef: ModelRefInput | null = null;
  const cache = new Map<string, Measured>();
  const timed = async (ref: ModelRefInput, bs: number) => {
    const k = JSON.stringify([ref, bs]);
    if (!cache.has(k)) cache.set(k, await measureSpec(store, ref, facts, bs));
    return cache.get(k)!;
  };
  for (const [index, s] of recipe.stages.entries()) {
    const row = (batches: number, m: Measured | null, times: number, note?: string) => {
      const ms = m?.ms != null ? m.ms * batches * times : null;
      out.stages.push({ index, kind: s.kind, batches: batches * times, msPerBatch: m?.ms ?? null, ms, note: note ?? m?.note });
      if (ms != null) out.totalMs += ms;
    };
    switch (s.kind) {
      case 'train-teacher': {
        teacherRef = currentRef = s.model;
        const m = await timed(s.model, s.batchSize);
        if (m.size) out.teacher = m.size;
        row(Math.ceil(facts.labeled / s.batchSize), m, s.epochs, s.earlyStopping ? 'at most; early stopping can end it sooner' : undefined);
        break;
      }
      case 'load-teacher': {
        teacherRef = currentRef = s.artifactId !== undefined ? { artifactId: s.artifactId } : { path: s.path ?? '' };
        const m = await timed(teacherRef, 64);
        if (m.size) out.teacher = m.size;
        row(0, null, 0, 'loads and evaluates the teacher');
        break;
      }
      case 'distill': {
        const base = teacherRef && 'template' in teacherRef ? teacherRef : null;
        const template = s.student.template ?? base?.template;
        if (!template) {
          row(0, null, 0, 'name the student’s template to estimate this stage');
          break;
        }
        const studentRef: ModelRefInput = { template, width: s.student.width, options: s.student.options };
        const m = await timed(studentRef, s.batchSize);
        if (m.size) out.student = m.size;
        const seeds = s.seeds?.length || 1;
        const runs = s.temperatures.length * s.alphas.length * seeds + (s.control ? seeds : 0);
        row(Math.ceil(facts.trainSamples / s.batchSize), m, s.epochs * runs, `${runs} trainings of the student (each temperature × alpha × seed${s.control ? ', plus the control' : ''}); the teacher’s forward passes are not included`);
        currentRef = studentRef;
        break;
      }
      case 'prune':
      case 'quantize': {
        const epochs = s.kind === 'prune' ? pruneEpochs(s) : s.mode === 'qat' ? s.qatEpochs : 0;
        if (!currentRef || epochs === 0) {
          row(0, null, 0, epochs === 0 ? 'no training; calibration and conversion only' : 'no model to time');
          break;
        }
        row(Math.ceil(facts.labeled / s.batchSize), await timed(currentRef, s.batchSize), epochs, `${epochs} epochs of fine-tuning`);
        break;
      }
      default:
        row(0, null, 0, 'not estimated (conversion / device time)');
    }
  }
  return out;
}
