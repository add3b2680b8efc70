/**
 * The profile stage runs in the pipeline worker and asks the host's lab to benchmark the exported
 * model: the request, the relayed progress and the stored result go through the real worker.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunProgress } from '../../src-shared/contract/pipeline';
import { EventBus } from '../host/events';
import { resolvePaths } from '../host/paths';
import { PipelineService } from '../pipeline/service';
import { defaultWorkerEntry } from '../pipeline/worker-process';
import { Store } from '../store';
import { Adbc } from './adb';
import { DeviceLab } from './lab';
import { devicesHostServices } from './pipeline-service';
import type { BenchmarkTarget, TargetJob, TargetRunContext } from './target';

let dir: string;
let store: Store;
let bus: EventBus;
let lab: DeviceLab;
let service: PipelineService;
const seenJobs: TargetJob[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-profile-'));
  store = new Store(path.join(dir, 'h.sqlite'));
  bus = new EventBus();
  const target: BenchmarkTarget = {
    key: 'fake-phone',
    kind: 'android',
    deviceId: () => store.devices.upsert('fake-phone', 'android', { model: 'Fake' }),
    run: async (job: TargetJob, ctx: TargetRunContext) => {
      seenJobs.push(job);
      const trials = [];
      for (let i = 0; i < job.options.trials; i++) {
        ctx.progress({ phase: 'run', message: `Trial ${i + 1}`, fraction: i / job.options.trials, trial: i + 1 });
        const m = 1000 + i * 10;
        trials.push({ stats: { count: job.options.runs, initMs: 1, firstInferenceUs: m, warmupMeanUs: m, meanUs: m, stdUs: 1, minUs: m, maxUs: m, p5Us: null, medianUs: m, p95Us: null }, cooldownMs: 0, cooldownTimedOut: false, tempBeforeC: null, tempAfterC: null });
      }
      return { trials, runnerSha256: 'c'.repeat(64), runnerVersion: null, peakMemMb: 3, vmHwmKb: null, vmRssKb: null, affinity: null, ops: [], extra: {}, conditionsBefore: null, conditionsAfter: null, rawOutput: '' };
    },
  };
  lab = new DeviceLab({ store, bus, dataDir: dir, adb: new Adbc(1), extraTargets: (k) => (k === 'fake-phone' ? target : null) });
  service = new PipelineService({
    store,
    bus,
    paths: { ...resolvePaths(dir), dataDir: dir },
    workerEntry: defaultWorkerEntry(),
    stagesModule: path.resolve(import.meta.dirname, '../../test/helpers/profile-stages.ts'),
    hostServices: devicesHostServices({ bus }, () => lab),
  });
});
afterEach(async () => {
  await service.close();
  await lab.close();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('profile stage', () => {
  it('asks the host lab to benchmark the exported model and stores the figures with the run', async () => {
    const progress: RunProgress[] = [];
    bus.subscribe((ev, p) => ev === 'run.progress' && progress.push(p as RunProgress));
    const { runId } = service.start({
      name: 'profile me',
      dataset: { kind: 'fashion-mnist' },
      stages: [{ kind: 'load-teacher', path: 'teacher/model.json' }, { kind: 'export' }, { kind: 'profile', targets: ['fake-phone'], trials: 3, runs: 7, threads: 2 }],
    });
    await service.idle();
    const run = store.runs.get(runId)!;
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    const profile = run.stages.find((s) => s.kind === 'profile')!;
    expect(profile.metrics).toMatchObject({ 'fake-phone.status': 'succeeded', 'fake-phone.latencyMs': 1.01 });
    expect(seenJobs[0].options).toMatchObject({ trials: 3, runs: 7, threads: 2 });
    const b = store.benchmarks.get(profile.metrics!['fake-phone.benchmarkId'] as number)!;
    expect(b).toMatchObject({ status: 'succeeded', latencyUs: 1010, artifactId: run.artifacts[0].id });
    expect(progress.some((p) => p.stageKind === 'profile' && /fake-phone: Trial 2/.test(p.message ?? ''))).toBe(true);
  });
});
