/**
 * The dataset a run's recipe names, loaded once per worker process and shared by its stages
 * (train-teacher, distill, prune fine-tuning and quantization calibration all read the same splits).
 */
import path from 'node:path';
import type { DatasetSpec, Recipe } from '../../../src-shared/recipe';
import type { RunProgress } from '../../../src-shared/contract/pipeline';
import { describeDatasetDownload } from '../../../src-shared/format';
import { type DatasetSource, type LoadedDataset, loadDataset, type LoadOptions, recordDataset, resolveDatasetSource } from '../../data';
import type { AppPaths } from '../../host/paths';
import type { Store } from '../../store';
import { labelFromTeacher } from './model-view';

/** The data module's image-folder source for a recipe's dataset block (sizes, normalization, labels or not). */
export function imageFolderSource(spec: Extract<DatasetSpec, { kind: 'image-folder' }>): Extract<DatasetSource, { kind: 'image-folder' }> {
  return {
    kind: 'image-folder',
    dir: spec.path,
    ...(spec.imageSize ? { size: spec.imageSize } : {}),
    ...(spec.channels ? { channels: spec.channels } : {}),
    ...(spec.decodeSize ? { decodeSize: spec.decodeSize } : {}),
    ...(spec.normalization ? { normalization: spec.normalization } : {}),
    ...(spec.unlabeled ? { unlabeled: true } : {}),
  };
}

/** The data module's source and split options for a recipe's dataset block. */
export function datasetSource(spec: DatasetSpec, seed: number): { source: DatasetSource; options: LoadOptions } {
  switch (spec.kind) {
    case 'fashion-mnist':
      return {
        source: { kind: 'fashion-mnist', dir: spec.path },
        options: { seed, valFraction: spec.validationFraction, labeledCount: spec.labeledCount, limit: spec.limitTrain || spec.limitTest ? { train: spec.limitTrain, test: spec.limitTest } : undefined },
      };
    case 'image-folder':
      return {
        source: imageFolderSource(spec),
        options: { seed, valFraction: spec.split.validation, testFraction: spec.split.test, labeledCount: spec.labeledCount },
      };
    case 'csv':
      return {
        source: { kind: 'csv', file: spec.path, labelColumn: spec.labelColumn },
        options: { seed, valFraction: spec.split.validation, testFraction: spec.split.test, labeledCount: spec.labeledCount },
      };
  }
}

let cached: { key: string; ds: Promise<LoadedDataset> } | null = null;

/**
 * Load (or reuse) the run's dataset and record it in the history. The built-in Fashion-MNIST is
 * downloaded and verified first when this computer does not have it (progress goes to the stage).
 */
export async function loadRunDataset(ctx: {
  recipe: Recipe;
  paths: AppPaths;
  store: Store;
  /** The run to record the dataset on (absent outside a pipeline run). */
  runId?: number;
  signal?: AbortSignal;
  progress?: (p: Omit<RunProgress, 'runId' | 'stageIndex' | 'stageKind'>) => void;
}): Promise<LoadedDataset> {
  const named = datasetSource(ctx.recipe.dataset, ctx.recipe.seed);
  let shown = '';
  const source = await resolveDatasetSource(named.source, {
    dataDir: ctx.paths.dataDir,
    signal: ctx.signal,
    onProgress: (p) => {
      // One update per 2 % (and per phase), not per network chunk: each crosses the worker boundary.
      const fraction = p.total ? Math.min(1, p.bytes / p.total) : undefined;
      const step = `${p.phase}|${p.index}|${fraction === undefined ? p.bytes >> 20 : Math.floor(fraction * 50)}`;
      if (step === shown) return;
      shown = step;
      ctx.progress?.({ phase: 'dataset download', fraction, message: describeDatasetDownload(p) });
    },
  });
  const options = named.options;
  const key = JSON.stringify([source, options]);
  if (cached?.key !== key) {
    // An unlabelled folder gets its classes and held-out targets from the recipe's teacher (fidelity).
    const ds = loadDataset(source, { ...options, cacheDir: path.join(ctx.paths.dataDir, 'cache', 'datasets') }).then((d) => labelFromTeacher(d, ctx.recipe, ctx.store));
    cached = { key, ds };
    ds.catch(() => {
      if (cached?.ds === ds) cached = null;
    });
  }
  const ds = await cached.ds;
  const datasetId = recordDataset(ctx.store, ds.info);
  if (ctx.runId !== undefined) ctx.store.runs.setDataset(ctx.runId, datasetId);
  return ds;
}
