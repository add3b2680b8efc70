/**
 * Cancel stops within one unit of work (a training batch, an evaluation chunk, a calibration batch,
 * one LiteRT sample) in every kind of stage, in a real pipeline worker (issue 16 item 6). The cancel
 * arrives while the worker is busy in a synchronous loop (test/helpers/cancel-stages.ts requests it
 * as the host does, through the cancel file); the work done after it is counted in TF.js kernels
 * and compared with the largest unit of work before it. Stages the run never reached show as skipped,
 * and a resume runs them.
 */
import path from 'node:path';
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeFakeFashionMnist } from './fixtures/data-fixtures';
import type { CancelReport } from './helpers/cancel-stages';
import { setEnv } from './helpers/env';
import { type PipelineHarness, pipelineHarness } from './helpers/pipeline-harness';

const stagesModule = path.resolve(import.meta.dirname, 'helpers/cancel-stages.ts');
let restoreEnv: () => void;
let h: PipelineHarness;
let fmnist: string;

beforeAll(() => {
  // The worker inherits them; MLPs keep the cpu backend fast.
  restoreEnv = setEnv({ POCKETBENCH_BACKEND: 'cpu', POCKETBENCH_TEST_CANCEL: undefined });
});
afterAll(() => restoreEnv());
beforeEach(() => {
  h = pipelineHarness(stagesModule, 'pb-cancel-');
  writeFakeFashionMnist((fmnist = path.join(h.dir, 'fmnist')), 400, 100);
});
afterEach(() => h.close());

const teacher = { kind: 'train-teacher', model: { template: 'mlp', width: 0.25 }, epochs: 2, batchSize: 32 };
const cases: { name: string; stages: unknown[]; index: number; atPoint: number; phase?: RegExp }[] = [
  { name: 'training (a batch of an epoch)', stages: [teacher, { kind: 'export', precision: 'fp32' }], index: 0, atPoint: 3 },
  // 320 training samples in batches of 32: point 11 is the first chunk of the validation pass after epoch 1.
  { name: 'the evaluation pass after an epoch', stages: [teacher, { kind: 'export', precision: 'fp32' }], index: 0, atPoint: 11 },
  { name: 'distillation', stages: [teacher, { kind: 'distill', student: { width: 0.125 }, temperatures: [2, 4], alphas: [0.5], epochs: 2, batchSize: 32 }, { kind: 'export' }], index: 1, atPoint: 5 },
  {
    name: 'pruning (fine-tuning between steps)',
    stages: [teacher, { kind: 'prune', targetSparsity: 0.75, schedule: { kind: 'iterative', stepFraction: 0.5, epochsPerStep: 1 }, fineTuneEpochs: 1, batchSize: 32 }],
    index: 1,
    atPoint: 4,
  },
  { name: 'post-training quantization (calibration)', stages: [teacher, { kind: 'quantize', mode: 'int8', calibrationSamples: 256, observer: 'mse' }, { kind: 'export' }], index: 1, atPoint: 2 },
  { name: 'quantization-aware training', stages: [teacher, { kind: 'quantize', mode: 'qat', qatEpochs: 2, calibrationSamples: 64, batchSize: 32 }], index: 1, atPoint: 6 },
  { name: 'export (INT8 calibration)', stages: [teacher, { kind: 'export', precision: 'int8', desktopAccuracy: false }], index: 1, atPoint: 2 },
  { name: 'export (accuracy of the .tflite in LiteRT)', stages: [teacher, { kind: 'export', precision: 'fp32', desktopAccuracy: true }], index: 1, atPoint: 10 },
];

describe('cancel within one unit of work, in every kind of stage', { timeout: 240_000 }, () => {
  it.each(cases)('$name', async (c) => {
    process.env.POCKETBENCH_TEST_CANCEL = JSON.stringify({ stageIndex: c.index, atPoint: c.atPoint });
    const { runId } = h.service.start({
      name: `cancel ${c.name}`,
      seed: 1,
      dataset: { kind: 'fashion-mnist', path: fmnist, limitTrain: 400, limitTest: 100, validationFraction: 0.2 },
      stages: c.stages,
    });
    await h.service.idle();
    const run = h.store.runs.get(runId)!;
    const report = JSON.parse(fs.readFileSync(path.join(h.dir, `cancel-report-${c.index}.json`), 'utf8')) as CancelReport;
    console.log(`${c.name}: cancel at point ${report.pointsBefore} (${report.phase ?? 'no phase yet'}); after it ${report.pointsAfter} point(s), ${report.kernelsAfter} kernels; one unit ≤ ${report.kernelsPerUnit} kernels`);

    expect(run.status).toBe('cancelled');
    expect(report.pointsBefore).toBe(c.atPoint);
    expect(run.stages.map((s) => s.status)).toEqual(c.stages.map((_, i) => (i < c.index ? 'succeeded' : i === c.index ? 'cancelled' : 'skipped')));
    for (const s of run.stages.slice(c.index + 1)) expect(s.error).toMatch(/Not run: the run stopped before this stage/);
    // The unit in flight when the cancel came finished; the next cancellation point stopped the stage.
    expect(report.pointsAfter).toBe(1);
    expect(report.kernelsAfter).toBeLessThanOrEqual(report.kernelsPerUnit);
  });

  it('a resumed run runs the stages it skipped', async () => {
    process.env.POCKETBENCH_TEST_CANCEL = JSON.stringify({ stageIndex: 0, atPoint: 3 });
    const { runId } = h.service.start({
      name: 'cancel then resume',
      seed: 1,
      dataset: { kind: 'fashion-mnist', path: fmnist, limitTrain: 400, limitTest: 100, validationFraction: 0.2 },
      stages: [teacher, { kind: 'export', precision: 'fp32', desktopAccuracy: false }],
    });
    await h.service.idle();
    expect(h.store.runs.get(runId)!.stages.map((s) => s.status)).toEqual(['cancelled', 'skipped']);
    process.env.POCKETBENCH_TEST_CANCEL = '{}';
    h.service.resume(runId);
    await h.service.idle();
    const run = h.store.runs.get(runId)!;
    expect(run.status).toBe('succeeded');
    expect(run.stages.map((s) => s.status)).toEqual(['succeeded', 'succeeded']);
  });
});
