/**
 * Real distill stage plus a minimal teacher stage, for pipeline tests of distillation that do not
 * depend on the train-teacher stage: `train-teacher` builds the recipe's model and fits it with the
 * shared loop for the recipe's epochs; `load-teacher` with path "random" records an untrained
 * (random) teacher, which distillation cannot learn from.
 */
import { trainingView } from '../../src-main/data';
import { loadRecipeDataset, saveArtifact } from '../../src-main/compress/distill/stage-io';
import { stages as distill } from '../../src-main/compress/distill/stages';
import { fit } from '../../src-main/compress/train';
import { buildTemplate, type TemplateSpec } from '../../src-main/models';
import type { StageRegistry } from '../../src-main/pipeline/stage';
import { initBackend } from '../../src-main/tf';

const teacherSpec = (ds: Awaited<ReturnType<typeof loadRecipeDataset>>, model: Record<string, unknown>, seed: number) =>
  ({ ...(model.options as object), template: model.template, width: model.width, inputShape: ds.info.inputShape, numClasses: ds.info.classes.length, seed }) as TemplateSpec;

export const stages: StageRegistry = {
  ...distill,
  'train-teacher': async (ctx) => {
    await initBackend();
    const ds = await loadRecipeDataset(ctx);
    const model = buildTemplate(teacherSpec(ds, ctx.stage.model as Record<string, unknown>, ctx.seed));
    await fit({ model, data: trainingView(ds), epochs: ctx.stage.epochs, batchSize: ctx.stage.batchSize, seed: ctx.seed });
    const { ref } = await saveArtifact(ctx, model, { name: 'teacher', metrics: {} });
    model.dispose();
    return { outputs: { teacher: ref, current: ref } };
  },
  'load-teacher': async (ctx) => {
    await initBackend();
    const ds = await loadRecipeDataset(ctx);
    const model = buildTemplate(teacherSpec(ds, { template: 'mlp', width: 1, options: { hidden: [64] } }, 999));
    const { ref } = await saveArtifact(ctx, model, { name: 'random teacher', metrics: { template: 'mlp' } });
    model.dispose();
    return { outputs: { teacher: ref, current: ref } };
  },
};
