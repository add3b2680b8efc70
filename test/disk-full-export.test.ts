/**
 * The host's disk fills during an export (issue 16, fault table): the artifacts folder is a small
 * tmpfs this test mounts (root), filled just before the export stage writes its .tflite; where
 * mounting is not allowed, the write fails with ENOSPC at the fs layer instead. The user reads that
 * the disk is full and what to do; no partial .tflite is left or recorded; the history is intact;
 * after space is freed, a resume finishes the run.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeFakeFashionMnist } from './fixtures/data-fixtures';
import { setEnv } from './helpers/env';
import { type PipelineHarness, pipelineHarness } from './helpers/pipeline-harness';

const stagesModule = path.resolve(import.meta.dirname, 'helpers/disk-full-stages.ts');
let restoreEnv: () => void;
let h: PipelineHarness;
let artifacts: string;
let mounted = false;

function tryMount(dir: string): boolean {
  if (process.env.POCKETBENCH_TEST_NO_MOUNT) return false; // to walk the injected-fault path on a root machine
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

beforeAll(() => {
  // The worker inherits them; MLPs keep the cpu backend fast.
  restoreEnv = setEnv({ POCKETBENCH_BACKEND: 'cpu', POCKETBENCH_TEST_DISK: undefined });
});
afterAll(() => restoreEnv());
beforeEach(() => {
  h = pipelineHarness(stagesModule, 'pb-diskfull-');
  artifacts = path.join(h.dir, 'artifacts');
  fs.mkdirSync(artifacts, { recursive: true });
  mounted = tryMount(artifacts);
  if (!mounted) console.log('mount not allowed here: ENOSPC is injected at the fs write layer instead of a real full tmpfs');
  process.env.POCKETBENCH_TEST_DISK = mounted ? 'fill' : 'inject';
});
afterEach(async () => {
  await h.service.close();
  if (mounted) execFileSync('umount', ['-l', artifacts]);
  await h.close();
});

describe('the disk fills during an export', { timeout: 180_000 }, () => {
  it('says the disk is full and what to do, keeps no partial .tflite, keeps the history, and resumes once space is free', async () => {
    const fm = path.join(h.dir, 'fmnist');
    writeFakeFashionMnist(fm, 300, 60);
    const { runId } = h.service.start({
      name: 'disk full',
      seed: 2,
      dataset: { kind: 'fashion-mnist', path: fm, validationFraction: 0.2 },
      stages: [
        { kind: 'train-teacher', model: { template: 'mlp', width: 0.25 }, epochs: 1, batchSize: 32 },
        { kind: 'export', precision: 'fp32', desktopAccuracy: false },
      ],
    });
    await h.service.idle();

    const run = h.store.runs.get(runId)!;
    expect(run.status).toBe('failed');
    expect(run.stages.map((s) => s.status)).toEqual(['succeeded', 'failed']);
    expect(run.stages[1].error).toMatch(/^The disk is full: the [\d.]+ KiB \.tflite file could not be written to .*artifacts, and no partial file was kept\. Free some space on that disk \(or move the data folder in Settings\), then resume the run/);
    // Nothing partial on disk, nothing recorded for it; the teacher's files and rows are intact.
    const files = fs.readdirSync(artifacts, { recursive: true }).map(String);
    expect(files.filter((f) => f.endsWith('.tflite') || f.includes('.partial'))).toEqual([]);
    const recorded = h.store.artifacts.list({ runId, limit: 100, offset: 0 }).items;
    expect(recorded.map((a) => a.format)).toEqual(['tfjs-layers']);
    expect(fs.existsSync(recorded[0].path)).toBe(true);
    const db = new Database(h.store.file, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();

    // Space is freed (the filler removed, or the fault gone with the worker): resume finishes the run.
    fs.rmSync(path.join(artifacts, 'filler'), { force: true });
    delete process.env.POCKETBENCH_TEST_DISK;
    h.service.resume(runId);
    await h.service.idle();
    const resumed = h.store.runs.get(runId)!;
    expect(resumed.status).toBe('succeeded');
    const tflite = h.store.artifacts.list({ runId, limit: 100, offset: 0 }).items.find((a) => a.format === 'tflite')!;
    expect(fs.statSync(tflite.path).size).toBe(tflite.bytes);
  });
});
