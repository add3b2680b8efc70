/**
 * Stage runners for testing the pipeline's mechanics (queue, progress, cancel, crash, resume)
 * without training anything. `train-teacher` counts "epochs" slowly and checkpoints after each.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StageRegistry } from '../../src-main/pipeline/stage';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const stages: StageRegistry = {
  'train-teacher': async (ctx) => {
    const ckpt = path.join(ctx.checkpointDir, 'state.json');
    let epoch = 0;
    const startedFrom = ctx.resuming && fs.existsSync(ckpt) ? JSON.parse(fs.readFileSync(ckpt, 'utf8')).epoch : 0;
    epoch = startedFrom;
    const epochs = ctx.stage.epochs;
    while (epoch < epochs) {
      await sleep(Number(process.env.FAKE_EPOCH_MS ?? 30));
      ctx.throwIfCancelled();
      epoch++;
      // A stage stuck in a synchronous loop (its event loop never turns again): for the watchdog.
      if (Number(process.env.FAKE_HANG_AT_EPOCH) === epoch) for (;;);
      fs.writeFileSync(ckpt, JSON.stringify({ epoch }));
      ctx.progress({ epoch, epochs, fraction: epoch / epochs, metrics: { loss: 1 / epoch } });
    }
    const art = ctx.store.artifacts.create({ runId: ctx.runId, stageId: ctx.stageId, name: 'teacher', format: 'tfjs-layers', path: path.join(ctx.paths.artifactsDir, 'x', 'model.json'), contentHash: 'x', bytes: 1 });
    return { metrics: { startedFromEpoch: startedFrom, epochs: epoch }, curves: { loss: [1, 0.5] }, outputs: { teacher: { artifactId: art, path: 'x', format: 'tfjs-layers' }, current: { artifactId: art, path: 'x', format: 'tfjs-layers' } } };
  },
  export: async (ctx) => {
    if (!ctx.slots.current) throw new Error('no model in slots');
    return { metrics: { from: ctx.slots.current.artifactId } };
  },
};
