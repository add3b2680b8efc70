/**
 * Deleting a run that is running (issue 16): its worker is stopped before the rows go, its
 * checkpoints are removed, and a later run neither reuses its id nor resumes from its checkpoints.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunProgress } from '../../src-shared/contract/pipeline';
import { type HostHarness, hostHarness } from '../../test/helpers/host-harness';
import { checkpointRoot } from './runner';
import { forkWorker } from './worker-process';

const fakeStages = path.resolve(import.meta.dirname, '../../test/helpers/fake-stages.ts');
const recipe = (epochs: number) => ({ name: 'fake', dataset: { kind: 'fashion-mnist' }, stages: [{ kind: 'train-teacher', epochs }, { kind: 'export' }] });

let h: HostHarness;
/** A method's result, or its error thrown. */
async function call<T>(method: string, args: unknown): Promise<T> {
  const r = (await h.call(method, args)) as { ok: boolean; result?: T; error?: { message: string } };
  if (!r.ok) throw new Error(r.error?.message);
  return r.result as T;
}
afterEach(() => h?.close());

describe('runs.delete', () => {
  it('stops a running run before deleting it, removes its checkpoints, and the next run starts fresh under a new id', async () => {
    const exits: number[] = [];
    h = hostHarness('pb-delete-', {
      stagesModule: fakeStages,
      spawnWorker: (entry) => {
        const w = forkWorker(entry);
        w.onExit(() => exits.push(w.pid ?? -1));
        return w;
      },
    });
    const progress: RunProgress[] = [];
    h.host.bus.subscribe((e, p) => e === 'run.progress' && progress.push(p as RunProgress));
    const { runId } = await call<{ runId: number }>('runs.start', { recipe: recipe(500) });
    while (!progress.some((p) => p.runId === runId && (p.epoch ?? 0) >= 3)) await new Promise((r) => setTimeout(r, 20));
    expect(fs.existsSync(checkpointRoot(h.dir, runId))).toBe(true);

    await call('runs.delete', { id: runId });
    expect(exits).toHaveLength(1); // the worker had exited when delete answered
    expect(h.host.store.runs.get(runId)).toBeNull();
    expect(fs.existsSync(checkpointRoot(h.dir, runId))).toBe(false);
    const seen = progress.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(progress.length).toBe(seen); // nothing more from the deleted run

    const next = await call<{ runId: number }>('runs.start', { recipe: recipe(2) });
    expect(next.runId).toBeGreaterThan(runId);
    while (h.host.store.runs.get(next.runId)?.status !== 'succeeded') await new Promise((r) => setTimeout(r, 20));
    expect((h.host.store.runs.get(next.runId)!.stages[0].metrics as { startedFromEpoch?: number }).startedFromEpoch ?? 0).toBe(0);
  });
});
