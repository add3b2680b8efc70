/**
 * What the prune and quantize stages share: the model in `slots.current`,
 * float accuracy, and saving a model as an artifact with its sizes.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import type { Precision } from '../../../src-shared/types';
import { loadModel } from '../../models';
import type { ModelRef, StageContext } from '../../pipeline/stage';
import { sizesAt } from '../quantize/precision';
import { storeModelArtifact } from '../train/artifacts';
import { accuracyOf } from '../quantize/simulate';

/** The model the previous stage produced. */
export async function loadCurrent(ctx: StageContext): Promise<{ model: tfl.LayersModel; ref: ModelRef }> {
  const ref = ctx.slots.current;
  if (!ref) throw new AppError('INVALID_ARGS', `The ${ctx.stage.kind} stage needs a model: add a teacher or distill stage before it.`);
  if (ref.format !== 'tfjs-layers') throw new AppError('UNSUPPORTED', `The ${ctx.stage.kind} stage works on TF.js models; the current model is a ${ref.format} file.`);
  const { model } = await loadModel(ref.path);
  return { model, ref };
}

export function floatAccuracy(model: tfl.LayersModel, split: Parameters<typeof accuracyOf>[1]): number {
  return accuracyOf((x) => model.predict(x) as import('@tensorflow/tfjs-core').Tensor, split);
}

/**
 * Save the model, record it with its sizes at `precision` and `metrics`, return the slot reference.
 * The sizes are also merged into `metrics` (the run view's results table reads them from there).
 */
export async function saveArtifact(
  ctx: StageContext,
  model: tfl.LayersModel,
  opts: { name: string; precision: Precision; parentId?: number; metrics: Record<string, unknown> },
): Promise<ModelRef> {
  const sizes = sizesAt(model, opts.precision);
  Object.assign(opts.metrics, sizes);
  const { ref } = await storeModelArtifact(ctx, model, { name: opts.name, parentId: opts.parentId, precision: opts.precision, size: sizes, metrics: opts.metrics });
  return ref;
}
