/**
 * The real train-teacher and distill stages, plus a `load-teacher` that records an untrained
 * (random) MLP teacher, which distillation cannot learn from: the control must then win.
 */
import { stages as distill } from '../../src-main/compress/distill/stages';
import { storeModelArtifact } from '../../src-main/compress/train/artifacts';
import { loadRunDataset } from '../../src-main/compress/train/run-data';
import { stages as train } from '../../src-main/compress/train/stages';
import { buildTemplate } from '../../src-main/models';
import type { StageRegistry } from '../../src-main/pipeline/stage';
import { initBackend } from '../../src-main/tf';

export const stages: StageRegistry = {
  ...train,
  ...distill,
  'load-teacher': async (ctx) => {
    await initBackend();
    const ds = await loadRunDataset(ctx);
    const model = buildTemplate({ template: 'mlp', hidden: [64], inputShape: ds.info.inputShape, numClasses: ds.info.classes.length, seed: 999 });
    const { ref } = await storeModelArtifact(ctx, model, { name: 'random teacher', metrics: { template: 'mlp' } });
    model.dispose();
    return { outputs: { teacher: ref, current: ref } };
  },
};
