import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeBackends, testHistory } from '../../test/helpers/postgres';
import { Store } from './index';

let dir: string;
let store: Store;
let history: { location: string; dispose(): void };

// The same suite on SQLite and on a real PostgreSQL server (skipped, with a message, where it is not installed).
describe.each(storeBackends.filter((b) => !b.skip))('Store on $name', ({ name: backend }) => {
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-store-'));
  history = testHistory(backend, dir);
  store = new Store(history.location);
});
afterEach(() => {
  store.close();
  history.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

function seedRun(name = 'r') {
  return store.runs.create({ name, recipe: { stages: [] }, recipeHash: 'abc', seed: 7, appVersion: '0.1.0', stages: [{ kind: 'train-teacher' }, { kind: 'distill', params: { T: 4 } }] });
}

describe('Store', () => {
  it.runIf(backend === 'sqlite')('opens in WAL mode with foreign keys on', () => {
    expect(store.sqlite!.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.sqlite!.pragma('foreign_keys', { simple: true })).toBe(1);
  });

  it('creates runs with their stages and tracks status and timings', () => {
    const id = seedRun();
    store.runs.setStatus(id, 'running', { backend: 'wasm', backendThreads: 1 });
    store.runs.updateStage(id, 0, { status: 'running' });
    store.runs.updateStage(id, 0, { status: 'succeeded', metrics: { accuracy: 0.9 }, curves: { loss: [1, 0.5] } });
    store.runs.setStatus(id, 'succeeded');
    const run = store.runs.get(id)!;
    expect(run.status).toBe('succeeded');
    expect(run.backend).toBe('wasm');
    expect(run.startedAt).not.toBeNull();
    expect(run.finishedAt).not.toBeNull();
    expect(run.stages.map((s) => s.kind)).toEqual(['train-teacher', 'distill']);
    expect(run.stages[0]).toMatchObject({ status: 'succeeded', metrics: { accuracy: 0.9 }, curves: { loss: [1, 0.5] } });
    expect(run.stages[0].durationMs).toBeGreaterThanOrEqual(0);
    expect(run.stages[1].params).toEqual({ T: 4 });
  });

  it('records the dataset a run trained on', () => {
    const runId = store.runs.create({ name: 'r', recipe: {}, recipeHash: 'h', seed: 1, appVersion: 't' });
    expect(store.runs.get(runId)!.datasetId).toBeNull();
    const ds = store.datasets.upsert({ name: 'iris', kind: 'csv', source: '/d/iris.csv', contentHash: 'c1', classes: ['a', 'b'], counts: [5, 5], inputShape: [4] });
    store.runs.setDataset(runId, ds);
    expect(store.runs.get(runId)!.datasetId).toBe(ds);
    expect(store.runs.list({ limit: 10, offset: 0 }).items[0].datasetId).toBe(ds);
  });

  it('follows lineage through parent artifacts', () => {
    const run = seedRun();
    const a = store.artifacts.create({ runId: run, name: 'teacher', format: 'tfjs-layers', path: '/x/a/model.json', contentHash: 'h1', bytes: 100 });
    const b = store.artifacts.create({ runId: run, parentId: a, name: 'student', format: 'tfjs-layers', path: '/x/b/model.json', contentHash: 'h2', bytes: 50 });
    const c = store.artifacts.create({ runId: run, parentId: b, name: 'int8', format: 'tflite', path: '/x/c.tflite', contentHash: 'h3', bytes: 20, precision: 'int8' });
    expect(store.artifacts.lineage(c).map((x) => x.id)).toEqual([c, b, a]);
  });

  it('deleting a run cascades to stages, artifacts and benchmarks and reports only unshared files', () => {
    const r1 = seedRun('one');
    const r2 = seedRun('two');
    store.artifacts.create({ runId: r1, name: 'a', format: 'tflite', path: '/d/shared.tflite', contentHash: 'h', bytes: 1 });
    const own = store.artifacts.create({ runId: r1, name: 'b', format: 'tflite', path: '/d/own.tflite', contentHash: 'h2', bytes: 1 });
    store.artifacts.create({ runId: r2, name: 'a', format: 'tflite', path: '/d/shared.tflite', contentHash: 'h', bytes: 1 });
    const dev = store.devices.upsert('emulator-1', 'android', { model: 'Pixel' });
    const bench = store.benchmarks.create({ artifactId: own, deviceId: dev, config: { threads: 4 } });
    store.benchmarks.finish(bench, { status: 'succeeded', latencyUs: 1000 }, [{ meanUs: 1000 }], [{ section: 'by_type', nodeType: 'CONV_2D', avgMs: 0.5 }]);

    const res = store.runs.delete(r1);
    expect(res.found).toBe(true);
    expect(res.orphanedPaths).toEqual(['/d/own.tflite']);
    expect(store.runs.get(r1)).toBeNull();
    expect(store.db.prepare('SELECT count(*) n FROM stages WHERE run_id = ?').get(r1)).toEqual({ n: 0 });
    expect(store.benchmarks.get(bench)).toBeNull();
    expect(store.db.prepare('SELECT count(*) n FROM benchmark_trials').get()).toEqual({ n: 0 });
    expect(store.db.prepare('SELECT count(*) n FROM op_profiles').get()).toEqual({ n: 0 });
    expect(store.runs.get(r2)).not.toBeNull();
    expect(store.runs.delete(9999).found).toBe(false);
  });

  it('never reuses the id of a deleted run (a new run must not inherit its checkpoints), across reopening', () => {
    const a = seedRun('a');
    const b = seedRun('b');
    store.runs.delete(b);
    const c = seedRun('c');
    expect(c).toBeGreaterThan(b);
    store.runs.delete(c);
    store.close();
    store = new Store(history.location);
    expect(seedRun('d')).toBeGreaterThan(c);
    expect(store.runs.get(a)?.name).toBe('a');
  });

  it('upserts devices by serial without losing known facts', () => {
    const id = store.devices.upsert('SER1', 'android', { manufacturer: 'Google', model: 'Pixel 7', abis: ['arm64-v8a'] });
    const again = store.devices.upsert('SER1', 'android', { sdk: 34 });
    expect(again).toBe(id);
    expect(store.devices.get(id)).toMatchObject({ manufacturer: 'Google', model: 'Pixel 7', sdk: 34, abis: ['arm64-v8a'] });
  });

  it('stores benchmark trials and op profiles atomically', () => {
    const dev = store.devices.upsert('S', 'host');
    const b = store.benchmarks.create({ artifactId: null, deviceId: dev, config: {} });
    store.benchmarks.finish(b, { status: 'succeeded', latencyUs: 10, ciLowUs: 9, ciHighUs: 11, cv: 0.02 }, [{ meanUs: 10 }, { meanUs: 11, cooldownTimedOut: true }], [
      { section: 'run_order', nodeType: 'FULLY_CONNECTED', nodeName: 'dense', avgMs: 0.1 },
    ]);
    expect(store.benchmarks.get(b)).toMatchObject({ status: 'succeeded', latencyUs: 10, cv: 0.02 });
    expect(store.benchmarks.trials(b).map((t) => [t.meanUs, t.cooldownTimedOut])).toEqual([
      [10, false],
      [11, true],
    ]);
    expect(store.benchmarks.ops(b)[0]).toMatchObject({ nodeType: 'FULLY_CONNECTED', nodeName: 'dense' });
  });

  it('keeps settings as JSON values', () => {
    store.settings.set('theme', 'dark');
    store.settings.set('runner', { abi: 'arm64-v8a' });
    expect(store.settings.all()).toEqual({ runner: { abi: 'arm64-v8a' }, theme: 'dark' });
    store.settings.set('theme', null);
    expect(store.settings.get('theme', 'system')).toBe('system');
  });

  it('reclaims only unfinished runs and benchmarks whose owner is gone (shared history)', () => {
    const t = Date.now();
    const other = (who: { machine: string; pid: number }, name: string, heartbeat: number) => {
      const s = new Store(history.location, { identity: { madeBy: 'x', ...who } });
      try {
        const id = s.runs.create({ name, recipe: {}, recipeHash: 'h', seed: 1, appVersion: 't' });
        s.runs.setStatus(id, 'running');
        s.db.prepare('UPDATE runs SET heartbeat_at = ? WHERE id = ?').run(heartbeat, id);
        const dev = s.devices.upsert('D', 'android');
        const b = s.benchmarks.create({ artifactId: null, deviceId: dev, config: {} });
        s.db.prepare('UPDATE benchmarks SET heartbeat_at = ? WHERE id = ?').run(heartbeat, b);
        return { id, b };
      } finally {
        s.close();
      }
    };
    const me = store.identity.machine;
    const livePeer = other({ machine: me, pid: process.ppid }, 'same machine, live process', t); // the test runner: alive
    const deadPeer = other({ machine: me, pid: 2 ** 22 + 7 }, 'same machine, dead process', t); // above Linux's pid_max
    const farLive = other({ machine: 'lab-far', pid: 1 }, 'other machine, beating', t);
    const farGone = other({ machine: 'lab-far', pid: 1 }, 'other machine, silent', t - 10 * 60_000);
    expect(store.runs.markInterrupted()).toBe(2);
    expect(store.benchmarks.markInterrupted()).toBe(2);
    const status = (x: { id: number; b: number }) => [store.runs.get(x.id)!.status, store.benchmarks.get(x.b)!.status];
    expect(status(livePeer)).toEqual(['running', 'queued']);
    expect(status(farLive)).toEqual(['running', 'queued']);
    expect(status(deadPeer)).toEqual(['interrupted', 'failed']);
    expect(status(farGone)).toEqual(['interrupted', 'failed']);
  });

  it('marks runs left running as interrupted', () => {
    const id = seedRun();
    store.runs.setStatus(id, 'running');
    expect(store.runs.markInterrupted()).toBe(1);
    expect(store.runs.get(id)!.status).toBe('interrupted');
  });

  it.runIf(backend === 'postgres')('sends backups of a server history to the server', async () => {
    await expect(store.backup(path.join(dir, 'b.sqlite'))).rejects.toThrow(/pg_dump/);
    expect(store.integrityCheck()).toBe('ok');
  });

  it.runIf(backend === 'sqlite')('backs up to a consistent copy', async () => {
    seedRun();
    const dest = path.join(dir, 'backups', 'b.sqlite');
    const r = await store.backup(dest);
    expect(r.bytes).toBeGreaterThan(0);
    const copy = new Store(dest);
    expect(copy.runs.list({ limit: 10, offset: 0 }).total).toBe(1);
    expect(copy.integrityCheck()).toBe('ok');
    copy.close();
  });

  it.runIf(backend === 'sqlite')('explains a damaged or foreign database file', () => {
    const bad = path.join(dir, 'bad.sqlite');
    fs.writeFileSync(bad, 'this is not a database at all, just some text '.repeat(200));
    expect(() => new Store(bad)).toThrow(/damaged.*Restore a backup/);
  });
});
});
