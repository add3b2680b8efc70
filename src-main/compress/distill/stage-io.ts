/**
 * What the distill stage reads besides the dataset (compress/train/run-data.ts): the teacher from
 * the pipeline slots and the template a student defaults to.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import type { ModelMeta } from '../../../src-shared/model-io';
import type { Recipe } from '../../../src-shared/recipe';
import { loadModel, toLogitsModel } from '../../models';
import type { ModelRef, StageContext } from '../../pipeline/stage';

/** The teacher from the slots, as a logits model (a trailing softmax is removed). */
export async function loadTeacher(ctx: StageContext): Promise<{ model: tfl.LayersModel; ref: ModelRef; meta: ModelMeta | null }> {
  const ref = ctx.slots.teacher;
  if (!ref) throw new AppError('INVALID_ARGS', 'Distillation needs a teacher: add a "train teacher" or "load teacher" stage before the distill stage, or use self-distillation.');
  if (ref.format !== 'tfjs-layers') throw new AppError('UNSUPPORTED', `The teacher is a ${ref.format} file; distillation needs a TF.js Layers model (model.json).`);
  const { model, meta } = await loadModel(ref.path);
  return { model: await toLogitsModel(model), ref, meta };
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
