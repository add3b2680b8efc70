/**
 * Cancel is prompt in the two places test/cancel-per-stage.test.ts does not reach (issue 16 item 6):
 * the search stage (a real pipeline worker; the work after the cancel is counted in TF.js kernels and
 * in benchmarks the host ran) and the device side of the profile stage, against the simulated phone
 * through the real adb server (runner starts and `kill` commands the phone received) and on this
 * computer (LiteRT runs after the cancel).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type BenchmarkProgress, benchOptionsSchema } from '../src-shared/contract/devices';
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
import { type PipelineHarness, pipelineHarness } from './helpers/pipeline-harness';
import { attachWithRunner, type LabSim, type SimPhone, simAvailable, simUnavailableReason, startLabSim } from './helpers/sim-lab';
import { waitFor } from './helpers/wait-for';

const stagesModule = path.resolve(import.meta.dirname, 'helpers/cancel-stages.ts');
const MODEL = path.resolve(import.meta.dirname, 'fixtures/models/face_detection_short_range.tflite');

let restoreEnv: () => void;
beforeAll(() => {
  restoreEnv = setEnv({ POCKETBENCH_BACKEND: 'cpu', POCKETBENCH_TEST_CANCEL: undefined });
});
afterAll(() => restoreEnv());

/** 400 training images (320 after validation) and an MLP teacher: seconds on the cpu backend. */
const smallData = (dir: string) => ({ kind: 'fashion-mnist', path: dir, limitTrain: 400, limitTest: 100, validationFraction: 0.2 });
const TEACHER = { kind: 'train-teacher', model: { template: 'mlp', width: 0.25 }, epochs: 1, batchSize: 32 };

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
    dataset: smallData(fmnist),
    stages: [
      TEACHER,
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

if (!simAvailable) console.warn(`device cancel tests skipped: ${simUnavailableReason}`);

// Each benchmark starts the runner stand-in (node + LiteRT, ~1 s idle, several under load) per trial.
describe.skipIf(!simAvailable)('cancel on the device side (simulated phone, this computer)', { timeout: 300_000 }, () => {
  let env: LabSim;
  let h: PipelineHarness;
  let dir: string;
  let store: Store;
  let bus: EventBus;
  let lab: DeviceLab;
  let phone: SimPhone;
  const events: BenchmarkProgress[] = [];
  const starts = () => phone.commands().filter(isRunner).length;
  const kills = () => phone.commands().filter(isKill);

  beforeAll(async () => {
    env = await startLabSim();
    // The profile stage runs in a real pipeline worker and asks this lab (in the test's process, as the host's) for benchmarks.
    h = pipelineHarness(stagesModule, 'pb-cancel-dev-', { hostServices: devicesHostServices({ get bus() { return h.bus; } }, () => lab), cancelGraceMs: 120_000 });
    ({ dir, store, bus } = h);
    bus.subscribe((ev, p) => ev === 'benchmark.progress' && events.push(p as BenchmarkProgress));
    lab = makeLab(store, bus, dir, env.adbPort);
    await lab.start();
    phone = await attachWithRunner(env, lab, dir);
  }, 120_000);
  afterAll(async () => {
    await lab?.close();
    await h?.close();
    await env?.close();
  });

  /** Calls `cancel` from the lab's own progress event that matches (synchronously, as the UI's click lands between two events). */
  function cancelOn(match: (p: BenchmarkProgress) => boolean, cancel: (p: BenchmarkProgress) => void): { startsAtCancel: () => number | null } {
    let at: number | null = null;
    const unsub = bus.subscribe((ev, raw) => {
      const p = raw as BenchmarkProgress;
      if (ev !== 'benchmark.progress' || at !== null || !match(p)) return;
      at = starts();
      unsub();
      cancel(p);
    });
    return { startsAtCancel: () => at };
  }

  const FAST = { runs: 3, warmup: 1, trials: 3, threads: 4, cooldownMaxWaitS: 2 };

  it('cancel between two trials on the phone: no runner starts after it, the finished trial is kept', async () => {
    const before = starts();
    let id = -1;
    const c = cancelOn((p) => p.benchmarkId === id && p.phase === 'cooldown' && p.trial === 2, (p) => lab.cancel(p.benchmarkId));
    [id] = await lab.queue({ modelPath: MODEL, targets: [phone.serial], options: defaultsFor(FAST) });
    const b = await lab.wait(id);
    console.log(`phone, cancel between trials: ${starts() - c.startsAtCancel()!} runner start(s) after the cancel`);
    expect(b.status).toBe('cancelled');
    expect(c.startsAtCancel()! - before).toBe(1);
    expect(starts()).toBe(c.startsAtCancel());
    expect(lab.detail(id).trials).toHaveLength(1);
    expect(await phone.runnerRunning()).toBe(false);
  });

  it("cancel as the phone's second trial runs: one kill -9 <pid>, no new runner; the resume re-measures only the unfinished target", async () => {
    const fmnist = path.join(dir, 'fmnist');
    writeFakeFashionMnist(fmnist, 400, 100);
    process.env.POCKETBENCH_TEST_CANCEL = '{}';
    const before = starts();
    const killsBefore = kills().length;
    const rows = () => store.db.prepare('SELECT target, status FROM benchmarks WHERE id > ? ORDER BY id').all(lastId) as { target: string; status: string }[];
    const lastId = (store.db.prepare('SELECT COALESCE(MAX(id), 0) AS n FROM benchmarks').get() as { n: number }).n;
    const { runId } = h.service.start({
      name: 'cancel a profile as trial 2 starts',
      seed: 1,
      dataset: smallData(fmnist),
      stages: [
        TEACHER,
        { kind: 'export', precision: 'fp32', desktopAccuracy: false },
        // The phone's runs last long enough that the cancel lands while its second runner is alive.
        { kind: 'profile', targets: [phone.serial, 'host'], runs: 200, warmup: 1, trials: 3, threads: 4 },
      ],
    });
    await waitFor(() => starts() - before >= 2, "the phone's second runner", 240_000);
    const startsAtCancel = starts();
    h.service.cancel(runId);
    await h.service.idle();
    let run = h.store.runs.get(runId)!;
    expect(run.status).toBe('cancelled');
    expect(run.stages.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'cancelled']);
    const sent = kills().slice(killsBefore);
    console.log(`phone, cancel as trial 2 runs: runner starts after the cancel ${starts() - startsAtCancel}, kill commands ${JSON.stringify(sent)}; benchmarks ${JSON.stringify(rows())}`);
    expect(starts()).toBe(startsAtCancel);
    // One kill, of one PID, as the shell reads it (openShell appends the exit-status echo).
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/^kill -9 \d+; echo __PB_EXIT__\$\?$/);
    await waitFor(async () => !(await phone.runnerRunning()), 'runner gone', 10_000);
    const phoneRow = rows().find((r) => r.target === phone.serial)!;
    expect(phoneRow.status).toBe('cancelled');
    const finished = rows().filter((r) => r.status === 'succeeded').map((r) => r.target);

    const countBefore = rows().length;
    h.service.resume(runId);
    await h.service.idle();
    run = h.store.runs.get(runId)!;
    expect(run.status).toBe('succeeded');
    const again = rows().slice(countBefore);
    console.log(`profile resumed: finished before ${JSON.stringify(finished)}; measured again ${JSON.stringify(again)}`);
    // Only the targets that had not finished are measured again (this computer, done in the first attempt, is kept).
    expect(again.map((r) => r.target).sort()).toEqual([phone.serial, 'host'].filter((t) => !finished.includes(t)).sort());
    expect(again.every((r) => r.status === 'succeeded')).toBe(true);
    const m = run.stages[2].metrics as Record<string, unknown>;
    expect(m[`${phone.serial}.status`]).toBe('succeeded');
    expect(m['host.status']).toBe('succeeded');
  });

  it('cancel while the benchmark is still being queued: nothing runs', async () => {
    const before = starts();
    const service = devicesHostServices({ bus }, () => lab)[BENCHMARK_SERVICE];
    const ac = new AbortController();
    const p = service({ modelPath: MODEL, artifactId: null, targets: [phone.serial], options: FAST }, { signal: ac.signal, progress: () => undefined }) as Promise<BenchmarkSummary[]>;
    // The run is cancelled while the lab hashes the model and creates the row (lab.queue has not returned).
    ac.abort();
    const [b] = await p;
    console.log(`phone, cancel while queueing: ${starts() - before} runner start(s), status ${b.status}`);
    expect(b.status).toBe('cancelled');
    expect(starts()).toBe(before);
  });

  it('cancel during a benchmark on this computer: no LiteRT run after it', async () => {
    let id = -1;
    let trialAt = 0;
    // The cancel arrives from the event loop (a click, an IPC message) shortly after the trial started.
    cancelOn(
      (p) => p.benchmarkId === id && p.phase === 'run',
      (p) => {
        trialAt = performance.now();
        setTimeout(() => lab.cancel(p.benchmarkId), 20);
      },
    );
    [id] = await lab.queue({ modelPath: MODEL, targets: ['host'], options: defaultsFor({ runs: 400, warmup: 0, trials: 1, threads: 1, cooldownMaxWaitS: 0, pinBigCores: false }) });
    const b = await lab.wait(id);
    const stored = lab.detail(id).trials;
    console.log(`this computer, 400 runs, cancel 20 ms into the trial: row stored ${(performance.now() - trialAt).toFixed(0)} ms after the trial started, status ${b.status}, ${stored.length} trial(s) stored (${stored[0]?.count ?? 0} runs)`);
    expect(b.status).toBe('cancelled');
    // The trial in flight stopped at its next run: nothing of it is stored as measured.
    expect(lab.detail(id).trials).toHaveLength(0);
  });
});

/** Bench options with the lab's defaults filled in (the lab is given parsed options by its callers). */
function defaultsFor(o: Record<string, unknown>) {
  return benchOptionsSchema.parse(o);
}
