/**
 * Cancel is prompt in the two places test/cancel-per-stage.test.ts does not reach (issue 16 item 6):
 * the search stage (a real pipeline worker; the work after the cancel is counted in TF.js kernels and
 * in benchmarks the host ran) and the device side of the profile stage, against the simulated phone
 * through the real adb server (runner starts and `kill` commands the phone received) and on this
 * computer (LiteRT runs after the cancel).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BenchmarkProgress } from '../src-shared/contract/devices';
import type { BenchmarkSummary } from '../src-shared/types';
import { Adbc } from '../src-main/devices/adb';
import { createHostTarget } from '../src-main/devices/host-target';
import { DeviceLab } from '../src-main/devices/lab';
import { BENCHMARK_SERVICE, devicesHostServices } from '../src-main/devices/pipeline-service';
import { EventBus } from '../src-main/host/events';
import { Store } from '../src-main/store';
import { writeFakeFashionMnist } from './fixtures/data-fixtures';
import type { CancelReport } from './helpers/cancel-stages';
import { setEnv } from './helpers/env';
import { EM_AARCH64, fakeElf } from './helpers/fake-elf';
import { type PipelineHarness, pipelineHarness } from './helpers/pipeline-harness';
import { type LabSim, type SimPhone, simAvailable, simUnavailableReason, startLabSim } from './helpers/sim-lab';
import { waitFor } from './helpers/wait-for';

const stagesModule = path.resolve(import.meta.dirname, 'helpers/cancel-stages.ts');
const MODEL = path.resolve(import.meta.dirname, 'fixtures/models/face_detection_short_range.tflite');

let restoreEnv: () => void;
beforeAll(() => {
  restoreEnv = setEnv({ POCKETBENCH_BACKEND: 'cpu', POCKETBENCH_TEST_CANCEL: undefined });
});
afterAll(() => restoreEnv());

const isRunner = (c: string) => /benchmark_model/.test(c) && /--graph=/.test(c);
const isKill = (c: string) => /^kill\b/.test(c);

/** A lab with "this computer" in this process (as the CLI has it) and, when given, the sim's adb server. */
function makeLab(store: Store, bus: EventBus, dataDir: string, adbPort?: number): DeviceLab {
  const host = createHostTarget({ store });
  return new DeviceLab({
    store,
    bus,
    dataDir,
    ...(adbPort ? { adb: new Adbc(adbPort) } : {}),
    extraTargets: (k) => (k === host.key ? host : null),
    extraTargetKeys: [host.key],
    android: { cooldownPollMs: 100, sampleMs: 50 },
  });
}

describe('cancel in the search stage', { timeout: 300_000 }, () => {
  let h: PipelineHarness;
  let lab: DeviceLab;
  let fmnist: string;
  beforeEach(() => {
    h = pipelineHarness(stagesModule, 'pb-cancel-search-', { hostServices: devicesHostServices({ get bus() { return h.bus; } }, () => lab), cancelGraceMs: 120_000 });
    lab = makeLab(h.store, h.bus, h.dir);
    writeFakeFashionMnist((fmnist = path.join(h.dir, 'fmnist')), 400, 100);
  });
  afterEach(async () => {
    await h.close();
    await lab.close();
  });

  const recipe = (name: string) => ({
    name,
    seed: 3,
    dataset: { kind: 'fashion-mnist', path: fmnist, limitTrain: 400, limitTest: 100, validationFraction: 0.2 },
    stages: [
      { kind: 'train-teacher', model: { template: 'mlp', width: 0.25 }, epochs: 1, batchSize: 32 },
      {
        kind: 'search',
        target: 'host',
        budget: { maxAccuracyDrop: 50 },
        space: { widths: [0.125, 0.25], sparsities: [0], precisions: ['fp32', 'int8'] },
        strategy: { eta: 2, minEpochs: 1, maxEpochs: 2, pruneEpochs: 1, batchSize: 32 },
        bench: { runs: 3, warmup: 1, trials: 1, threads: 1 },
      },
    ],
  });

  async function cancelAt(atPoint: number, name: string): Promise<{ report: CancelReport; statuses: string[] }> {
    process.env.POCKETBENCH_TEST_CANCEL = JSON.stringify({ stageIndex: 1, atPoint });
    const { runId } = h.service.start(recipe(name));
    await h.service.idle();
    const run = h.store.runs.get(runId)!;
    const report = JSON.parse(fs.readFileSync(path.join(h.dir, 'cancel-report-1.json'), 'utf8')) as CancelReport;
    console.log(
      `search, ${name}: cancel at point ${report.pointsBefore} (${report.phase}); after it ${report.pointsAfter} point(s), ${report.kernelsAfter} kernels, ${report.benchmarksAfter} benchmark(s); one unit ≤ ${report.kernelsPerUnit} kernels; stopped at ${report.stoppedAt}`,
    );
    expect(run.status).toBe('cancelled');
    return { report, statuses: run.stages.map((s) => s.status) };
  }

  // Cancellation points of this recipe (seed 3): 80 LiteRT samples validate the teacher's .tflite
  // (phase 'reference'), its latency benchmark follows, then the architectures, the latency probes
  // (2 benchmarks) and the first rung's distillation batches (from point 85 on).
  it('cancelled while distilling a student: at most the batch in flight after the cancel, no benchmark', async () => {
    const { report, statuses } = await cancelAt(101, 'mid-trial');
    expect(report.phase).toMatch(/^rung /);
    expect(statuses).toEqual(['succeeded', 'cancelled']);
    expect(report.pointsAfter).toBe(1);
    expect(report.kernelsAfter).toBeGreaterThan(0);
    expect(report.kernelsAfter).toBeLessThanOrEqual(report.kernelsPerUnit);
    expect(report.benchmarksAfter).toBe(0);
  });

  it("cancelled as the teacher's validation ends: its latency benchmark never starts, no kernel runs", async () => {
    const { report, statuses } = await cancelAt(80, 'before the teacher benchmark');
    expect(report.phase).toBe('reference');
    expect(statuses).toEqual(['succeeded', 'cancelled']);
    expect(report.benchmarksAfter).toBe(0);
    expect(report.kernelsAfter).toBe(0);
    expect(report.stoppedAt).toMatch(/measureLatency/);
  });
});
