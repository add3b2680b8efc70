/**
 * The prune stage: magnitude pruning on a schedule (one-shot, iterative, polynomial decay) with
 * masks re-applied after every fine-tuning step, or structured pruning that rebuilds a smaller
 * model, then fine-tuning, stripping, and an artifact with per-layer and global sparsity.
 */
import fs from 'node:fs';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import type { pruneStage } from '../../../src-shared/recipe';
import type { z } from 'zod';
import { loadModel, saveModel } from '../../models';
import type { StageContext, StageResult } from '../../pipeline/stage';
import { trainingView } from '../../data';
import { type FitResult, loadRunDataset } from '../train';
import { namedForTargets } from '../train/model-view';
import { fineTune, stepsPerEpoch } from './fine-tune';
import { MASK_UPDATES, prunePolynomial } from './gradual';
import { applyMasks, computeMasks, DEFAULT_MIN_KEEP, disposeMasks, flooredLayers, type Masks, sparsityOf, stripPruning } from './magnitude';
import { iterative, iterativeLevels, largestStep, oneShot, polynomialDecay, type PruningSchedule } from './schedule';
import { floatAccuracy, loadCurrent, saveArtifact } from './stage-io';
import { pruneStructured } from './structured';

type PruneSpec = z.infer<typeof pruneStage>;

/** Above this share of the remaining weights removed in one step, the stage warns. */
export const LARGE_STEP = 0.5;

/** The recipe's schedule; a polynomial one without `endStep` ramps over `rampShare` of the `batches` × fine-tuning epochs steps. */
export function scheduleOf(s: PruneSpec, batches: number): PruningSchedule {
  switch (s.schedule.kind) {
    case 'one-shot':
      return oneShot(s.targetSparsity);
    case 'iterative':
      return iterative(s.targetSparsity, s.schedule.stepFraction, s.schedule.epochsPerStep);
    case 'polynomial': {
      const p = s.schedule;
      const endStep = p.endStep ?? Math.max(p.beginStep + 1, Math.round(s.fineTuneEpochs * batches * p.rampShare));
      return polynomialDecay({ initial: p.initialSparsity, final: s.targetSparsity, beginStep: p.beginStep, endStep, power: p.power, frequency: p.frequency ?? Math.max(1, Math.round((endStep - p.beginStep) / MASK_UPDATES)) });
    }
  }
}

interface Checkpoint {
  /** Iterative levels finished. */
  levelsDone: number;
  model: string;
}

function readCheckpoint(dir: string): Checkpoint | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'prune.json'), 'utf8')) as Checkpoint;
  } catch {
    return null;
  }
}

async function writeCheckpoint(dir: string, model: tfl.LayersModel, levelsDone: number): Promise<void> {
  const saved = await saveModel(model, path.join(dir, 'models'));
  fs.writeFileSync(path.join(dir, 'prune.json'), JSON.stringify({ levelsDone, model: saved.path } satisfies Checkpoint));
}

export async function runPrune(ctx: StageContext<PruneSpec>): Promise<StageResult> {
  const s = ctx.stage;
  let { model, ref } = await loadCurrent(ctx);
  const ds = await loadRunDataset(ctx);
  const data = trainingView(ds);
  const accuracyBefore = floatAccuracy(model, ds.test);
  const curves: Record<string, number[]> = { loss: [], val_accuracy: [] };
  const batches = stepsPerEpoch(data, s.batchSize);
  let totalEpochs = s.fineTuneEpochs;
  let epochsDone = 0;
  const onBatch = (phase: string) => (p: { epoch: number; batch: number; batches: number; loss: number }) =>
    ctx.progress({ phase, epoch: epochsDone + p.epoch + 1, epochs: totalEpochs, batch: p.batch, batches: p.batches, fraction: (epochsDone + p.epoch + p.batch / p.batches) / Math.max(1, totalEpochs), metrics: { loss: p.loss } });
  const record = (r: FitResult, epochs: number) => {
    curves.loss.push(...(r.curves.loss ?? []));
    curves.val_accuracy.push(...(r.curves.val_accuracy ?? []));
    epochsDone += epochs;
  };
  const tune = async (epochs: number, phase: string, afterStep?: (step: number) => void) => {
    if (!epochs) return;
    const r = await fineTune({ model, data, epochs, batchSize: s.batchSize, optimizer: s.optimizer, seed: ctx.seed + epochsDone, afterStep, throwIfCancelled: ctx.throwIfCancelled, onBatch: onBatch(phase) });
    record(r, epochs);
  };

  const metrics: Record<string, unknown> = { method: s.method, accuracyBefore };
  if (s.method === 'structured') {
    const result = await pruneStructured(model, { fraction: s.structuredFraction, norm: s.norm, skipLayers: s.skipLayers });
    model.dispose();
    model = result.model;
    ctx.log('info', `Structured pruning: ${result.report.before.params} → ${result.report.after.params} parameters (${result.report.paramsReduction.toFixed(2)}× fewer), MACs ${result.report.macsReduction.toFixed(2)}× fewer.`);
    ctx.progress({ phase: 'rebuilt smaller model', fraction: 0 });
    await tune(s.fineTuneEpochs, 'fine-tune');
    metrics.structured = result.report;
  } else {
    const schedule = scheduleOf(s, batches);
    const worst = largestStep(schedule);
    if (worst > LARGE_STEP) {
      ctx.log('warn', `This schedule removes ${Math.round(worst * 100)} % of the remaining weights in one step, which usually costs accuracy; prune gradually (iterative or polynomial) and fine-tune in between.`);
    }
    let masks: Masks | undefined;
    const reMask = (sparsity: number) => {
      if (masks) disposeMasks(masks);
      masks = computeMasks(model, { sparsity, scope: s.scope, skipLayers: s.skipLayers });
      applyMasks(model, masks);
    };
    try {
      if (schedule.kind === 'one-shot') {
        reMask(schedule.target);
        await tune(s.fineTuneEpochs, 'fine-tune', () => applyMasks(model, masks!));
      } else if (schedule.kind === 'iterative') {
        const levels = iterativeLevels(schedule);
        totalEpochs = levels.length * schedule.epochsPerStep + s.fineTuneEpochs;
        let start = 0;
        const cp = ctx.resuming ? readCheckpoint(ctx.checkpointDir) : null;
        if (cp) {
          model.dispose();
          model = (await loadModel(cp.model)).model;
          start = cp.levelsDone;
          epochsDone = start * schedule.epochsPerStep;
          ctx.log('info', `Resuming pruning after step ${start} of ${levels.length}.`);
        }
        for (let k = start; k < levels.length; k++) {
          reMask(levels[k]);
          await tune(schedule.epochsPerStep, `step ${k + 1}/${levels.length}: ${Math.round(levels[k] * 100)} % sparse`, () => applyMasks(model, masks!));
          await writeCheckpoint(ctx.checkpointDir, model, k + 1);
        }
        if (!masks) reMask(schedule.target);
        await tune(s.fineTuneEpochs, 'fine-tune at target', () => applyMasks(model, masks!));
      } else {
        const total = s.fineTuneEpochs * batches;
        if (schedule.endStep >= total) {
          ctx.log('warn', `The polynomial schedule ends at step ${schedule.endStep} but fine-tuning has only ${total} steps (${s.fineTuneEpochs} epochs × ${batches}); the final sparsity is applied at the end, without fine-tuning after it. ${s.schedule.kind === 'polynomial' && s.schedule.endStep === undefined ? "Lower 'share of fine-tuning spent pruning' below 1" : `Lower endStep (about two thirds of ${total})`} or add epochs.`);
        }
        if (!s.fineTuneEpochs) {
          reMask(schedule.final);
        } else {
          const r = await prunePolynomial({ model, data, schedule, scope: s.scope, skipLayers: s.skipLayers, epochs: s.fineTuneEpochs, batchSize: s.batchSize, optimizer: s.optimizer, seed: ctx.seed, throwIfCancelled: ctx.throwIfCancelled, onBatch: onBatch('prune + fine-tune') });
          record(r.fit, s.fineTuneEpochs);
          model.dispose();
          model = r.model;
        }
      }
      if (masks) {
        // The polynomial path hands back a plain model already; the others still carry masks.
        const plain = await stripPruning(model, masks);
        model.dispose();
        model = plain;
      }
    } finally {
      if (masks) disposeMasks(masks);
    }
    const report = sparsityOf(model, s.skipLayers);
    metrics.sparsityByLayer = { global: report.global, layers: report.layers };
    const floored = s.scope === 'global' ? flooredLayers(report) : [];
    if (floored.length) {
      metrics.flooredLayers = floored;
      ctx.log('warn', `The global threshold would have cut ${floored.join(', ')} below the floor: held at the floor of ${DEFAULT_MIN_KEEP * 100} % of their weights (the other layers gave up the difference). Skip these layers or use per-layer scope if they matter.`);
    }
  }
  const accuracy = floatAccuracy(model, ds.test);
  Object.assign(metrics, { accuracy, accuracyDrop: accuracyBefore - accuracy });
  const named = namedForTargets(metrics, ds);
  const out = await saveArtifact(ctx, model, { name: s.method === 'structured' ? 'pruned (structured)' : `pruned ${Math.round(s.targetSparsity * 100)} %`, precision: 'fp32', parentId: ref.artifactId, metrics: named });
  model.dispose();
  if (!Number.isFinite(accuracy)) throw new AppError('INTERNAL', 'The pruned model produced no accuracy.');
  return { metrics: named, curves, outputs: { current: out } };
}
