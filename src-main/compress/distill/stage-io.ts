/**
 * What the distill stage reads and writes around training: the recipe's dataset, the teacher from
 * the pipeline slots, and models saved as content-hashed artifacts with their sizes.
 */
import zlib from 'node:zlib';
import type * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import type { DatasetSpec, Recipe } from '../../../src-shared/recipe';
import { loadDataset } from '../../data';
import type { DatasetSource, LoadedDataset, LoadOptions } from '../../data/types';
import { loadModel, saveModel, serializeModel, summarizeModel, toLogitsModel } from '../../models';
import type { ModelRef, StageContext } from '../../pipeline/stage';

export function datasetSource(spec: DatasetSpec, seed: number): { source: DatasetSource; opts: LoadOptions } {
  switch (spec.kind) {
    case 'fashion-mnist':
      return {
        source: { kind: 'fashion-mnist', ...(spec.path ? { dir: spec.path } : {}) },
        opts: { seed, valFraction: spec.validationFraction, labeledCount: spec.labeledCount, limit: { train: spec.limitTrain, test: spec.limitTest } },
      };
    case 'image-folder':
      return {
        source: { kind: 'image-folder', dir: spec.path, ...(spec.imageSize ? { size: spec.imageSize } : {}), ...(spec.channels ? { channels: spec.channels } : {}) },
        opts: { seed, valFraction: spec.split.validation, testFraction: spec.split.test, labeledCount: spec.labeledCount },
      };
    case 'csv':
      return { source: { kind: 'csv', file: spec.path, labelColumn: spec.labelColumn }, opts: { seed, valFraction: spec.split.validation, testFraction: spec.split.test, labeledCount: spec.labeledCount } };
  }
}

export function loadRecipeDataset(ctx: Pick<StageContext, 'recipe' | 'seed' | 'paths'>): Promise<LoadedDataset> {
  const { source, opts } = datasetSource(ctx.recipe.dataset, ctx.seed);
  return loadDataset(source, { ...opts, cacheDir: ctx.paths.artifactsDir });
}

/** The teacher from the slots, as a logits model (a trailing softmax is removed). */
export async function loadTeacher(ctx: StageContext): Promise<{ model: tfl.LayersModel; ref: ModelRef }> {
  const ref = ctx.slots.teacher;
  if (!ref) throw new AppError('INVALID_ARGS', 'Distillation needs a teacher: add a "train teacher" or "load teacher" stage before the distill stage, or use self-distillation.');
  if (ref.format !== 'tfjs-layers') throw new AppError('UNSUPPORTED', `The teacher is a ${ref.format} file; distillation needs a TF.js Layers model (model.json).`);
  const { model } = await loadModel(ref.path);
  return { model: await toLogitsModel(model), ref };
}

/**
 * The student's template when the stage does not name one: the template of the recipe's
 * train-teacher stage, or the one recorded on the teacher artifact.
 */
export function teacherTemplate(recipe: Recipe, ctx: Pick<StageContext, 'store' | 'slots'>): string | undefined {
  for (const s of recipe.stages) if (s.kind === 'train-teacher' && 'template' in s.model) return s.model.template;
  const id = ctx.slots.teacher?.artifactId;
  const t = id ? ctx.store.artifacts.get(id)?.metrics?.template : undefined;
  return typeof t === 'string' ? t : undefined;
}

export interface ModelSizes {
  params: number;
  macs: number;
  /** model.json + weights. */
  bytes: number;
  /** The same, gzip-compressed (what a download or an app bundle would carry). */
  gzipBytes: number;
}

export async function modelSizes(model: tfl.LayersModel): Promise<ModelSizes> {
  const s = summarizeModel(model, { nonZero: false });
  const { json, weights } = await serializeModel(model);
  return { params: s.totals.params, macs: s.totals.macsDeployed, bytes: json.length + weights.length, gzipBytes: zlib.gzipSync(Buffer.concat([json, weights])).length };
}

/** Save into the artifacts folder (content-hashed) and record it in the store. */
export async function saveArtifact(ctx: StageContext, model: tfl.LayersModel, opts: { name: string; parentId?: number; metrics: Record<string, unknown> }): Promise<{ ref: ModelRef; sizes: ModelSizes }> {
  const saved = await saveModel(model, ctx.paths.artifactsDir);
  const sizes = await modelSizes(model);
  const artifactId = ctx.store.artifacts.create({
    runId: ctx.runId,
    stageId: ctx.stageId,
    parentId: opts.parentId,
    name: opts.name,
    format: 'tfjs-layers',
    path: saved.path,
    contentHash: saved.contentHash,
    bytes: sizes.bytes,
    gzipBytes: sizes.gzipBytes,
    params: sizes.params,
    nonzeroParams: sizes.params,
    sparsity: 0,
    precision: 'fp32',
    macs: sizes.macs,
    metrics: opts.metrics,
  });
  return { ref: { artifactId, path: saved.path, format: 'tfjs-layers' }, sizes };
}
