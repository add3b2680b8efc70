/**
 * teacher → prune → quantize as a recipe through the pipeline service (a real worker process, as the
 * CLI and the UI run it): progress events from both stages, artifacts chained by parent, and the
 * QuantParams file handed on in slots.quant.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunProgress } from '../src-shared/contract/pipeline';
import { validateQuantParams } from '../src-main/compress/quantize/params';
import { DEFAULT_FASHION_MNIST_DIR, findFashionMnistFiles } from '../src-main/data';
import { writeFakeFashionMnist } from './fixtures/data-fixtures';
import { type PipelineHarness, pipelineHarness } from './helpers/pipeline-harness';

const stagesModule = path.resolve(import.meta.dirname, 'helpers/prune-quant-stages.ts');
const savedBackend = process.env.POCKETBENCH_BACKEND;
let h: PipelineHarness;
let fmnist: string;

beforeAll(() => {
  process.env.POCKETBENCH_BACKEND = 'cpu'; // the worker inherits it; MLPs keep the cpu backend fast
});
afterAll(() => {
  if (savedBackend === undefined) delete process.env.POCKETBENCH_BACKEND;
  else process.env.POCKETBENCH_BACKEND = savedBackend;
});
beforeEach(() => {
  h = pipelineHarness(stagesModule, 'pb-pq-');
  try {
    findFashionMnistFiles(DEFAULT_FASHION_MNIST_DIR);
    fmnist = DEFAULT_FASHION_MNIST_DIR;
  } catch {
    writeFakeFashionMnist((fmnist = path.join(h.dir, 'fmnist')), 400, 100);
  }
});
afterEach(() => h.close());

describe('prune and quantize in a recipe', { timeout: 180_000 }, () => {
  it('runs teacher → prune → quantize with progress, chained artifacts and slots.quant', async () => {
    const progress: RunProgress[] = [];
    h.bus.subscribe((e, p) => e === 'run.progress' && progress.push(p as RunProgress));
    const { runId } = h.service.start({
      name: 'pq',
      seed: 3,
      dataset: { kind: 'fashion-mnist', path: fmnist, limitTrain: 300, limitTest: 100, validationFraction: 0.2 },
      stages: [
        { kind: 'train-teacher', model: { template: 'mlp', width: 0.25 }, epochs: 1, batchSize: 32 },
        { kind: 'prune', targetSparsity: 0.75, schedule: { kind: 'iterative', stepFraction: 0.5, epochsPerStep: 1 }, fineTuneEpochs: 1, batchSize: 32 },
        { kind: 'quantize', mode: 'int8', calibrationSamples: 100, observer: 'mse' },
      ],
    });
    await h.service.idle();
    const run = h.store.runs.get(runId)!;
    expect(run.error).toBeNull();
    expect(run.stages.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const pruneOut = (run.stages[1].metrics as { outputs: { current: { artifactId: number } } }).outputs.current;
    const q = run.stages[2].metrics as { accuracy: number; accuracyFloat: number; outputs: { current: { artifactId: number }; quant: { path: string } } };
    expect(h.store.artifacts.get(pruneOut.artifactId)!.sparsity).toBeGreaterThan(0.7);
    const int8 = h.store.artifacts.get(q.outputs.current.artifactId)!;
    expect(int8.parentId).toBe(pruneOut.artifactId);
    expect(int8.precision).toBe('int8');
    expect(validateQuantParams(JSON.parse(fs.readFileSync(q.outputs.quant.path, 'utf8'))).calibration.observer).toBe('mse');
    expect(progress.some((p) => p.stageKind === 'prune' && /step 2\/2/.test(p.phase ?? ''))).toBe(true);
    expect(progress.some((p) => p.stageKind === 'quantize' && /calibration \(mse/.test(p.phase ?? ''))).toBe(true);
  });
});
