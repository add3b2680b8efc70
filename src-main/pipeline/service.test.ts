import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunProgress } from '../../src-shared/contract/pipeline';
import { type PipelineHarness, pipelineHarness } from '../../test/helpers/pipeline-harness';
import type { EventBus } from '../host/events';
import type { Store } from '../store';
import { checkpointRoot } from './runner';
import type { PipelineService } from './service';
import type { WorkerHandle } from './worker-process';

const fakeStages = path.resolve(import.meta.dirname, '../../test/helpers/fake-stages.ts');
let h: PipelineHarness;
let dir: string;
let store: Store;
let bus: EventBus;
let service: PipelineService;
let workers: WorkerHandle<never, never>[];

const recipe = (epochs: number) => ({ name: 'fake', dataset: { kind: 'fashion-mnist' }, stages: [{ kind: 'train-teacher', epochs }, { kind: 'export' }] });

beforeEach(() => {
  h = pipelineHarness(fakeStages);
  ({ dir, store, bus, service, workers } = h);
});
afterEach(() => h.close());

describe('PipelineService', () => {
  it('runs a recipe in a worker, relays progress, stores results and removes checkpoints', async () => {
    const progress: RunProgress[] = [];
    bus.subscribe((e, p) => e === 'run.progress' && progress.push(p as RunProgress));
    const { runId } = service.start(recipe(3));
    await service.idle();
    const run = store.runs.get(runId)!;
    expect(run.status).toBe('succeeded');
    expect(run.backend).toMatch(/wasm|cpu|tensorflow/);
    expect(run.stages.map((s) => s.status)).toEqual(['succeeded', 'succeeded']);
    expect(run.stages[0].metrics).toMatchObject({ epochs: 3, outputs: { teacher: { format: 'tfjs-layers' } } });
    expect(run.stages[1].metrics).toMatchObject({ from: run.artifacts[0].id });
    expect(progress.map((p) => p.epoch)).toEqual([1, 2, 3]);
    expect(fs.existsSync(checkpointRoot(dir, runId))).toBe(false);
  });

  it('refuses an invalid recipe, naming the field', () => {
    expect(() => service.start({ name: 'x', dataset: { kind: 'fashion-mnist' }, stages: [{ kind: 'train-teacher', epochs: 0 }] })).toThrow(
      /stages\.0\.epochs: must be at least 1/,
    );
  });

  it('cancels a running stage and keeps the run resumable', async () => {
    const { runId } = service.start(recipe(200));
    await new Promise<void>((r) => bus.subscribe((e, p) => e === 'run.progress' && (p as RunProgress).epoch === 2 && r()));
    expect(service.cancel(runId)).toBe(true);
    await service.idle();
    const run = store.runs.get(runId)!;
    expect(run.status).toBe('cancelled');
    expect(run.stages[0].status).toBe('cancelled');
  });

  it('marks a run interrupted when its worker dies, and resume continues from the checkpoint', async () => {
    const { runId } = service.start(recipe(12));
    await new Promise<void>((r) => bus.subscribe((e, p) => e === 'run.progress' && (p as RunProgress).epoch === 5 && r()));
    workers[0].kill(); // SIGKILL, like a crash or the OS killing it
    await service.idle();
    let run = store.runs.get(runId)!;
    expect(run.status).toBe('interrupted');
    expect(run.error).toMatch(/resume/);
    service.resume(runId);
    await service.idle();
    run = store.runs.get(runId)!;
    expect(run.status).toBe('succeeded');
    const m = run.stages[0].metrics as { startedFromEpoch: number; epochs: number };
    expect(m.startedFromEpoch).toBeGreaterThanOrEqual(5);
    expect(m.epochs).toBe(12);
  });

  it('a worker that stops answering (stuck in a loop) is stopped and its run left resumable', async () => {
    await h.close();
    h = pipelineHarness(fakeStages, 'pb-pipe-', { stuckAfterMs: 8000 });
    ({ store, bus, service } = h);
    process.env.FAKE_HANG_AT_EPOCH = '3';
    let runId: number;
    try {
      runId = service.start(recipe(6)).runId;
      await service.idle();
    } finally {
      delete process.env.FAKE_HANG_AT_EPOCH;
    }
    let run = store.runs.get(runId)!;
    expect(run.status).toBe('interrupted');
    expect(run.error).toMatch(/The worker stopped answering for 8 s and was stopped\. .* resume to continue/);
    service.resume(runId);
    await service.idle();
    run = store.runs.get(runId)!;
    expect(run.status).toBe('succeeded');
    expect((run.stages[0].metrics as { startedFromEpoch: number }).startedFromEpoch).toBe(2);
  });

  it('queues runs one at a time', async () => {
    const a = service.start(recipe(2)).runId;
    const b = service.start(recipe(2)).runId;
    expect(store.runs.get(b)!.status).toBe('queued');
    await service.idle();
    expect([store.runs.get(a)!.status, store.runs.get(b)!.status]).toEqual(['succeeded', 'succeeded']);
    expect(store.runs.get(b)!.startedAt!).toBeGreaterThanOrEqual(store.runs.get(a)!.finishedAt!);
  });
});
