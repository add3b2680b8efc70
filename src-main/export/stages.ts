/**
 * The `export` pipeline stage: writes the current model as a `.tflite`, records it as an artifact
 * (parent = the TF.js artifact), and, by default, measures the file's accuracy on the whole test split
 * with LiteRT on this computer. Registered in src-main/pipeline/stages.ts.
 *
 * Precision `auto` follows the recipe's quantize stage (int8 / qat → int8, dynamic → int8-dynamic,
 * fp16 → fp16; none → fp32). Full INT8 uses the quantize stage's QuantParams when it left them in the
 * `quant` slot (a JSON file at `slots.quant.path`); otherwise it calibrates with min-max on training
 * samples (the quantize stage's calibrationSamples, default 256).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../src-shared/errors';
import type { Recipe } from '../../src-shared/recipe';
import { validateQuantParams, type QuantParams } from '../compress/quantize/params';
import type { StageRegistry } from '../pipeline/stage';
import { initBackend } from '../tf';
import type { ExportPrecision } from './exporter';
import { loadRunDataset } from '../compress/train/run-data';
import { datasetFromRecipe, exportModelArtifact, recordDesktopAccuracy } from './service';
import { loadDataset } from '../data';

/** The precision `auto` resolves to for a recipe. */
export function autoPrecision(recipe: Recipe): ExportPrecision {
  const q = [...recipe.stages].reverse().find((s) => s.kind === 'quantize');
  if (!q || q.kind !== 'quantize') return 'fp32';
  return q.mode === 'dynamic' ? 'int8-dynamic' : q.mode === 'fp16' ? 'fp16' : 'int8';
}

/** QuantParams left by the quantize stage: a JSON file, or a folder holding quant-params.json. */
export function readQuantSlot(path: string): QuantParams {
  const file = existsSync(join(path, 'quant-params.json')) ? join(path, 'quant-params.json') : path;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AppError('IO', `Could not read the quantization parameters at ${file} (${(err as Error).message}); run the quantize stage again.`);
  }
  return validateQuantParams(json);
}

export const stages: StageRegistry = {
  export: async (ctx) => {
    const current = ctx.slots.current;
    if (!current) throw new AppError('INVALID_ARGS', 'The export stage needs a model: add a teacher or distill stage before it.');
    await initBackend();
    const precision = ctx.stage.precision === 'auto' ? autoPrecision(ctx.recipe) : ctx.stage.precision;
    const quantStage = ctx.recipe.stages.find((s) => s.kind === 'quantize');
    ctx.progress({ fraction: 0.05, message: `Writing the ${precision} .tflite` });
    const { source, opts } = datasetFromRecipe(ctx.recipe.dataset, ctx.recipe.seed);
    // A folder without labels is labelled by the run's teacher (loadRunDataset), so the file's figure is its fidelity.
    const unlabelled = ctx.recipe.dataset.kind === 'image-folder' && ctx.recipe.dataset.unlabeled;
    const dataset = unlabelled ? await loadRunDataset(ctx) : await loadDataset(source, opts);
    ctx.throwIfCancelled();
    const quant = precision === 'int8' && ctx.slots.quant ? readQuantSlot(ctx.slots.quant.path) : undefined;
    const { artifact, written } = await exportModelArtifact(ctx.store, {
      artifactId: current.artifactId,
      precision,
      io: ctx.stage.io === 'float32' ? 'float' : ctx.stage.io,
      ...(quant ? { quant } : {}),
      calibrationSamples: quantStage?.kind === 'quantize' && quantStage.calibrationSamples > 0 ? quantStage.calibrationSamples : 256,
      runId: ctx.runId,
      stageId: ctx.stageId,
      artifactsDir: ctx.paths.artifactsDir,
      dataset,
    });
    for (const w of written.warnings) ctx.log('warn', w);
    const metrics: Record<string, unknown> = { precision, bytes: written.bytes.length, gzipBytes: artifact.gzipBytes, operators: written.ops.length };
    if (ctx.stage.desktopAccuracy && ctx.stage.io !== 'int8') {
      ctx.progress({ fraction: 0.3, message: `Measuring the file's accuracy on ${dataset.test.n} test samples with LiteRT` });
      const acc = await recordDesktopAccuracy(ctx.store, artifact.id, dataset, ctx.signal);
      if (dataset.info.targets === 'teacher') Object.assign(metrics, { deployedFidelity: acc.deployedAccuracy, targets: 'teacher' });
      else metrics.deployedAccuracy = acc.deployedAccuracy;
      if (acc.tfjsAccuracy !== null) metrics.accuracy = acc.tfjsAccuracy;
    } else if (ctx.stage.desktopAccuracy) {
      ctx.log('info', 'LiteRT on the desktop cannot feed int8 input, so the desktop accuracy of this int8-I/O file was not measured (a uint8-I/O file can be).');
    }
    ctx.progress({ fraction: 1 });
    return { metrics, outputs: { tflite: { artifactId: artifact.id, path: artifact.path, format: 'tflite' } } };
  },
};
