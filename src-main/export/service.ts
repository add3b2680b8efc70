/**
 * Export as the app uses it: write a `.tflite` content-hashed into the artifacts folder, record it as
 * an artifact (parent = the TF.js artifact it came from), and measure the accuracy of that exact file
 * with LiteRT on this computer's CPU over the whole test split ("desktop accuracy", stored beside the
 * TF.js accuracy; a phone's GPU or NNAPI delegate can still differ).
 */
import { cancelPoint } from '../tf/cancel';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../src-shared/errors';
import { formatBytes } from '../../src-shared/format';
import type { ModelMeta } from '../../src-shared/model-io';
import type { DatasetSpec, Recipe } from '../../src-shared/recipe';
import type { ArtifactSummary } from '../../src-shared/types';
import { calibrateMinMax } from '../compress/quantize/minmax';
import type { QuantParams } from '../compress/quantize/params';
import { labelFromTeacher } from '../compress/train/model-view';
import { imageFolderSource } from '../compress/train/run-data';
import { withView } from '../data/image-view';
import { calibrationSample, loadDataset, type DatasetSource, type LoadedDataset, type LoadOptions } from '../data';
import { loadModel, summarizeModel } from '../models';
import type { Store } from '../store';
import { buildTflite, type BuiltTflite, type ExportOptions, type ExportPrecision } from './exporter';
import { inspectTflite } from './inspect';
import { loadTfliteModel } from './litert-node';

export interface WrittenTflite extends BuiltTflite {
  path: string;
}

/**
 * Builds and writes `<outDir>/<sha256[:16]>.tflite`. Nothing is written when the export fails, and an
 * existing file with the same content is reused (content-hashed, like TF.js artifacts).
 */
export function exportTflite(model: tfl.LayersModel, opts: ExportOptions & { outDir: string }): WrittenTflite {
  const built = buildTflite(model, opts);
  mkdirSync(opts.outDir, { recursive: true });
  const path = join(opts.outDir, `${built.sha256.slice(0, 16)}.tflite`);
  if (!existsSync(path)) {
    const tmp = `${path}.${process.pid}.partial`;
    try {
      writeFileSync(tmp, built.bytes);
      renameSync(tmp, path);
    } catch (err) {
      rmSync(tmp, { force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        throw new AppError(
          'DISK_FULL',
          `The disk is full: the ${formatBytes(built.bytes.length)} .tflite file could not be written to ${opts.outDir}, and no partial file was kept. Free some space on that disk (or move the data folder in Settings), then resume the run or export again; everything saved before is intact.`,
          { path, bytes: built.bytes.length },
        );
      }
      throw new AppError('IO', `Could not write ${path} (${(err as Error).message}); check that the data folder is writable, or choose another data folder.`);
    }
  }
  return { ...built, path };
}

/** The data loader's view of a recipe's dataset (same seed, same splits as the run). */
export function datasetFromRecipe(spec: DatasetSpec, seed: number): { source: DatasetSource; opts: LoadOptions } {
  switch (spec.kind) {
    case 'fashion-mnist':
      return {
        source: { kind: 'fashion-mnist', ...(spec.path ? { dir: spec.path } : {}) },
        opts: {
          seed,
          valFraction: spec.validationFraction,
          ...(spec.labeledCount ? { labeledCount: spec.labeledCount } : {}),
          ...(spec.limitTrain || spec.limitTest ? { limit: { train: spec.limitTrain, test: spec.limitTest } } : {}),
        },
      };
    case 'image-folder':
      return {
        source: imageFolderSource(spec),
        opts: { seed, valFraction: spec.split.validation, testFraction: spec.split.test },
      };
    case 'csv':
      return { source: { kind: 'csv', file: spec.path, labelColumn: spec.labelColumn }, opts: { seed, valFraction: spec.split.validation, testFraction: spec.split.test } };
  }
}

/** The dataset of the run that produced an artifact (its recipe says which, and its seed fixes the splits). */
export async function datasetOfArtifact(store: Store, artifact: ArtifactSummary): Promise<LoadedDataset> {
  let a: ArtifactSummary | null = artifact;
  while (a && a.runId === null && a.parentId !== null) a = store.artifacts.get(a.parentId);
  const run = a?.runId != null ? store.runs.get(a.runId) : null;
  const recipe = run?.recipe as Recipe | undefined;
  if (!recipe?.dataset) {
    throw new AppError('NOT_FOUND', `Artifact "${artifact.name}" does not come from a run with a dataset, so there is nothing to calibrate or evaluate it on. Use an artifact produced by a run.`);
  }
  const { source, opts } = datasetFromRecipe(recipe.dataset, recipe.seed);
  // A folder without labels gets its held-out targets from the run's teacher, as during the run.
  return labelFromTeacher(await loadDataset(source, opts), recipe, store);
}

/**
 * Export metadata for a model: its own description first (`ModelMeta`, stored with the artifact:
 * labels, input convention, output kind; an imported teacher's and the students distilled from it),
 * then its dataset (class names; a feature model's standardization). Without either, the metadata
 * writer's defaults apply (images in [0, 1]: mean 0, std 255).
 */
export function metadataFor(ds: LoadedDataset | null, recipeHash?: string, meta?: ModelMeta | null): NonNullable<ExportOptions['metadata']> {
  const std = ds?.info.standardization as { mean?: number[]; std?: number[] } | undefined;
  const labels = meta?.labels ?? ds?.info.classes;
  // A model without its own description takes the run's images: their size and normalization (an imported teacher's, carried to the student).
  const img = ds?.info.image;
  const input: ModelMeta['input'] | undefined =
    meta?.input ?? (img && ds ? { kind: 'image', size: [ds.info.inputShape[0], ds.info.inputShape[1]], channels: ds.info.inputShape[2] as 1 | 3, normalization: img.normalization, dtype: 'float32' } : undefined);
  return {
    ...(labels?.length ? { labels } : {}),
    ...(input ? { input } : {}),
    ...(meta?.output ? { output: meta.output } : {}),
    ...(ds && ds.info.inputShape.length !== 3 && std?.mean && std.std ? { featureNormalization: { mean: std.mean, std: std.std } } : {}),
    ...(recipeHash ? { recipeHash } : {}),
  };
}

export interface ExportArtifactArgs {
  artifactId: number;
  precision: ExportPrecision;
  io?: 'float' | 'int8' | 'uint8';
  /** QuantParams from the quantize stage; without them a full-INT8 export calibrates with min-max. */
  quant?: QuantParams;
  calibrationSamples?: number;
  runId?: number;
  stageId?: number;
  artifactsDir: string;
  /** The dataset, when the caller has it loaded already. */
  dataset?: LoadedDataset;
}

/** Exports a TF.js artifact and records the `.tflite` artifact (parent = source). */
export async function exportModelArtifact(store: Store, args: ExportArtifactArgs): Promise<{ artifact: ArtifactSummary; written: WrittenTflite; dataset: LoadedDataset | null }> {
  const source = store.artifacts.get(args.artifactId);
  if (!source) throw new AppError('NOT_FOUND', `There is no artifact ${args.artifactId}; pick one from the run's artifacts.`);
  if (source.format !== 'tfjs-layers') throw new AppError('INVALID_ARGS', `Artifact "${source.name}" is already a .tflite file; export works from a TF.js model.`);
  const { model, meta } = await loadModel(source.path);
  try {
    let dataset = args.dataset ?? null;
    const needsData = args.precision === 'int8' && !args.quant;
    if (!dataset) {
      try {
        dataset = await datasetOfArtifact(store, source);
      } catch (err) {
        if (needsData) throw err;
      }
    }
    let quant = args.quant;
    const warnings: string[] = [];
    if (needsData) {
      const cal = calibrationSample(dataset!.train, args.calibrationSamples ?? 256, 0);
      const r = calibrateMinMax(model, cal);
      quant = r.params;
      warnings.push(...r.warnings);
    }
    const run = source.runId != null ? store.runs.get(source.runId) : null;
    const written = exportTflite(model, {
      precision: args.precision,
      ...(quant ? { quant } : {}),
      ...(args.io ? { io: args.io } : {}),
      metadata: metadataFor(dataset, run?.recipeHash, meta),
      outDir: args.artifactsDir,
    });
    const summary = summarizeModel(model).totals;
    const tfjsAccuracy = typeof source.metrics?.accuracy === 'number' ? source.metrics.accuracy : null;
    const id = store.artifacts.create({
      name: `${source.name} · ${args.precision}${args.io && args.io !== 'float' ? ` ${args.io}-io` : ''}.tflite`,
      format: 'tflite',
      path: written.path,
      contentHash: written.sha256,
      bytes: written.bytes.length,
      // `gzip -9` size: what a download of the file costs (sparse weights compress well).
      gzipBytes: gzipSync(written.bytes, { level: 9 }).length,
      params: summary.params,
      nonzeroParams: summary.nonZeroParams,
      sparsity: summary.sparsity,
      macs: summary.macs,
      precision: args.precision,
      parentId: source.id,
      runId: args.runId ?? source.runId ?? undefined,
      // Listed with the stage that made the source model unless a stage (the export stage) made it.
      ...(args.stageId ?? source.stageId ? { stageId: args.stageId ?? source.stageId! } : {}),
      metrics: {
        ...(tfjsAccuracy !== null ? { accuracy: tfjsAccuracy } : {}),
        io: args.io ?? 'float',
        operators: written.ops.map((o) => `${o.op} v${o.version}`),
        ...(quant ? { calibration: quant.calibration } : {}),
        warnings: [...warnings, ...written.warnings],
      },
    });
    return { artifact: store.artifacts.get(id)!, written, dataset };
  } finally {
    model.dispose();
  }
}

/**
 * How a dataset sample (the model's float input) is fed to the file: as it is for float input; for a
 * uint8 input taking raw pixels, turned back into the pixels with the normalization the file's own
 * metadata states (raw = x · std + mean). LiteRT on the desktop cannot feed int8.
 */
function inputFeeder(path: string, dtype: string, sampleShape: number[]): (x: Float32Array) => Float32Array | Uint8Array {
  if (dtype === 'float32') return (x) => x;
  if (dtype !== 'uint8') throw new AppError('UNSUPPORTED', `This .tflite takes ${dtype} input, which LiteRT on the desktop cannot feed; measure its float-input twin instead.`);
  const norm = inspectTflite(path).metadata?.normalization;
  if (!norm?.mean.length || !norm.std.length) throw new AppError('UNSUPPORTED', 'This .tflite takes uint8 input but states no input normalization, so the dataset cannot be turned back into its pixels; measure its float-input twin instead.');
  const channels = sampleShape[sampleShape.length - 1];
  const at = (v: number[], c: number) => v[Math.min(c, v.length - 1)];
  return (x) => Uint8Array.from(x, (v, i) => Math.max(0, Math.min(255, Math.round(v * at(norm.std, i % channels) + at(norm.mean, i % channels)))));
}

/** Top-1 accuracy of a .tflite file on a split, run one sample at a time in LiteRT (CPU). */
export async function tfliteAccuracy(path: string, split: { x: Float32Array; y: Int32Array; n: number; sampleShape: number[] }, signal?: AbortSignal): Promise<number> {
  const model = await loadTfliteModel(path);
  try {
    const per = split.sampleShape.reduce((a, b) => a * b, 1);
    const expected = model.inputs[0].shape.reduce((a, b) => a * b, 1);
    if (expected !== per) throw new AppError('INVALID_ARGS', `The model takes ${expected} values per sample but the dataset has ${per}; it was exported for another dataset.`);
    const toInput = inputFeeder(path, model.inputs[0].dtype, split.sampleShape);
    let correct = 0;
    for (let i = 0; i < split.n; i++) {
      if (signal?.aborted) throw new AppError('CANCELLED', 'Cancelled.');
      cancelPoint();
      const [y] = await model.run([toInput(split.x.subarray(i * per, (i + 1) * per))]);
      let best = 0;
      for (let j = 1; j < y.length; j++) if (y[j] > y[best]) best = j;
      if (best === split.y[i]) correct++;
    }
    return split.n ? correct / split.n : 0;
  } finally {
    model.close();
  }
}

/**
 * The test split as this file takes it: an image dataset's pixels at the file's input size and in the
 * normalization its metadata states (an imported teacher exported at 224 px beside a 128-px student);
 * other datasets, and files that state nothing, as the dataset gives them.
 */
export function testSplitForFile(path: string, ds: LoadedDataset): LoadedDataset['test'] {
  if (!ds.test.images) return ds.test;
  const info = inspectTflite(path);
  const shape = info.inputs[0]?.shape;
  if (!shape || shape.length !== 4) return ds.test;
  const normalization = info.metadata?.normalization?.mean.length && info.metadata.normalization.std.length ? info.metadata.normalization : ds.test.images.view.normalization;
  return withView(ds.test, { size: [shape[1], shape[2]], normalization: { mean: [...normalization.mean], std: [...normalization.std] } });
}

/** Measures and stores the desktop accuracy of a .tflite artifact on the whole test split. */
export async function recordDesktopAccuracy(
  store: Store,
  artifactId: number,
  dataset?: LoadedDataset,
  signal?: AbortSignal,
): Promise<{ deployedAccuracy: number; tfjsAccuracy: number | null; samples: number; ms: number }> {
  const artifact = store.artifacts.get(artifactId);
  if (!artifact) throw new AppError('NOT_FOUND', `There is no artifact ${artifactId}.`);
  if (artifact.format !== 'tflite') throw new AppError('INVALID_ARGS', `Artifact "${artifact.name}" is a TF.js model; export it to .tflite first.`);
  const ds = dataset ?? (await datasetOfArtifact(store, artifact));
  const started = performance.now();
  const deployedAccuracy = await tfliteAccuracy(artifact.path, testSplitForFile(artifact.path, ds), signal);
  const ms = performance.now() - started;
  const parent = artifact.parentId !== null ? store.artifacts.get(artifact.parentId) : null;
  const tfjsAccuracy = typeof parent?.metrics?.accuracy === 'number' ? parent.metrics.accuracy : typeof artifact.metrics?.accuracy === 'number' ? artifact.metrics.accuracy : null;
  // Targets from a teacher (a folder without labels): the file's agreement with it is its fidelity.
  const byTeacher = ds.info.targets === 'teacher';
  store.artifacts.updateMetrics(artifactId, {
    ...(byTeacher ? { deployedFidelity: deployedAccuracy, targets: 'teacher' } : { deployedAccuracy }),
    deployedAccuracySamples: ds.test.n,
    deployedAccuracyRuntime: 'LiteRT (CPU, this computer)',
    ...(tfjsAccuracy !== null ? { accuracy: tfjsAccuracy } : {}),
  });
  return { deployedAccuracy, tfjsAccuracy, samples: ds.test.n, ms };
}

/**
 * Imports a `.tflite` from any converter: checks it can be read (a corrupt or truncated file is
 * refused with a clear error), copies it content-hashed into the artifacts folder and records it.
 */
export function importTfliteArtifact(store: Store, args: { path: string; name?: string; artifactsDir: string }): ArtifactSummary {
  const info = inspectTflite(args.path);
  mkdirSync(args.artifactsDir, { recursive: true });
  const dest = join(args.artifactsDir, `${info.sha256.slice(0, 16)}.tflite`);
  if (!existsSync(dest)) {
    const tmp = `${dest}.${process.pid}.partial`;
    copyFileSync(args.path, tmp);
    renameSync(tmp, dest);
  }
  const id = store.artifacts.create({
    name: args.name ?? basename(args.path),
    format: 'tflite',
    path: dest,
    contentHash: info.sha256,
    bytes: info.bytes,
    gzipBytes: gzipSync(readFileSync(dest), { level: 9 }).length,
    params: info.params,
    precision: info.precision,
    metrics: { imported: true, sourcePath: args.path, operators: info.operators.map((o) => `${o.op} v${o.version}`), ...(info.producer ? { producer: info.producer } : {}) },
  });
  return store.artifacts.get(id)!;
}
