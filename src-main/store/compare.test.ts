import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeBackends, testHistory } from '../../test/helpers/postgres';
import { Store } from './index';

let dir: string;
let store: Store;
let history: { location: string; dispose(): void };

// The same queries on SQLite and on a real PostgreSQL server.
describe.each(storeBackends.filter((b) => !b.skip))('on $name', ({ name: backend }) => {
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-cmp-'));
  history = testHistory(backend, dir);
  store = new Store(history.location, { identity: { madeBy: 'ana', machine: 'lab-1', pid: process.pid } });
});
afterEach(() => {
  store.close();
  history.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

function runWithTflite(name: string, accuracy: number) {
  const runId = store.runs.create({ name, recipe: {}, recipeHash: 'h', seed: 1, appVersion: 't' });
  const artifactId = store.artifacts.create({ runId, name: 'student-int8.tflite', format: 'tflite', path: `/a/${runId}.tflite`, contentHash: `h${runId}`, bytes: 1000, precision: 'int8', metrics: { accuracy, deployedAccuracy: accuracy - 0.001 } });
  return { runId, artifactId };
}

function bench(artifactId: number, deviceId: number, latencyUs: number, half: number, config: Record<string, unknown> = { threads: 4, xnnpack: true }, o: { cv?: number; trials?: number; ranDelegate?: 'cpu' | 'gpu' | 'nnapi' | 'xnnpack' } = {}) {
  const b = store.benchmarks.create({ artifactId, deviceId, config });
  const trials = Array.from({ length: o.trials ?? 6 }, () => ({ meanUs: latencyUs }));
  store.benchmarks.finish(b, { status: 'succeeded', latencyUs, ciLowUs: latencyUs - half, ciHighUs: latencyUs + half, cv: o.cv ?? 0.01, ranDelegate: o.ranDelegate }, trials);
  return b;
}

describe('compare queries', () => {
  it('joins artifacts with benchmarks and filters by device, delegate and threads', () => {
    const phone = store.devices.upsert('SER', 'android', { manufacturer: 'Google', model: 'Pixel 7' });
    const host = store.devices.upsert('host', 'host');
    const { artifactId } = runWithTflite('chain', 0.9);
    bench(artifactId, phone, 1000, 10);
    bench(artifactId, phone, 3000, 10, { threads: 1, xnnpack: false });
    bench(artifactId, host, 500, 5, { threads: 4, gpu: true });
    const unbenched = runWithTflite('other', 0.8).artifactId;

    const all = store.compare.rows({ limit: 100 });
    expect(all).toHaveLength(4);
    expect(all.find((r) => r.artifactId === unbenched)).toMatchObject({ benchmarkId: null, accuracy: 0.8 });
    const cpu = store.compare.rows({ limit: 100, delegate: 'cpu', includeUnbenchmarked: false });
    expect(cpu.map((r) => [r.deviceName, r.threads, r.delegate, r.latencyUs])).toEqual([['Google Pixel 7', 1, 'cpu', 3000]]);
    const gpu = store.compare.rows({ limit: 100, deviceId: host, includeUnbenchmarked: false });
    expect(gpu.map((r) => [r.deviceName, r.delegate])).toEqual([['This computer', 'gpu']]);
    expect(store.compare.rows({ limit: 100, threads: 4, includeUnbenchmarked: false })).toHaveLength(2);
    expect(store.compare.rows({ limit: 100, artifactIds: [unbenched] })).toHaveLength(1);
  });

  it('lists lineages per recipe, artifact and device with their counts; an artifact never measured counts once, on no device', () => {
    const phone = store.devices.upsert('SER', 'android', { manufacturer: 'Google', model: 'Pixel 7' });
    const host = store.devices.upsert('host', 'host');
    const first = runWithTflite('chain', 0.9).artifactId;
    const second = runWithTflite('chain', 0.91).artifactId;
    bench(first, phone, 1000, 10);
    bench(second, phone, 1000, 10);
    bench(second, host, 500, 5);
    const failed = store.benchmarks.create({ artifactId: second, deviceId: phone, config: {} });
    store.benchmarks.finish(failed, { status: 'failed', error: 'x' }, []);
    runWithTflite('chain', 0.92);
    runWithTflite('other', 0.8);
    const lin = store.compare.lineages().map((l) => [l.runName, l.deviceName, l.points]);
    expect(lin.sort()).toEqual([
      ['chain', 'Google Pixel 7', 2],
      ['chain', 'This computer', 1],
      ['chain', null, 1],
      ['other', null, 1],
    ].sort());
  });

  it.runIf(backend === 'postgres')('lineages on PostgreSQL: parallel settings last only for the query, and a dropped connection is read again', () => {
    const phone = store.devices.upsert('SER', 'android', { manufacturer: 'Google', model: 'Pixel 7' });
    bench(runWithTflite('chain', 0.9).artifactId, phone, 1000, 10);
    const setting = () => (store.db.prepare('SHOW min_parallel_table_scan_size').get() as { minParallelTableScanSize?: string; min_parallel_table_scan_size?: string });
    const before = setting();
    expect(store.compare.lineages().map((l) => [l.runName, l.points])).toEqual([['chain', 1]]);
    expect(setting()).toEqual(before); // SET LOCAL: gone with the query's transaction
    const pid = (store.db.prepare('SELECT pg_backend_pid() AS pid').get() as { pid: number }).pid;
    const admin = new Store(history.location);
    try {
      expect(admin.db.prepare('SELECT pg_terminate_backend(?, 10000) AS ok').get(pid)).toEqual({ ok: true });
    } finally {
      admin.close();
    }
    expect(store.compare.lineages().map((l) => [l.runName, l.points])).toEqual([['chain', 1]]);
  });

  it('filters and labels by what ran: a GPU benchmark whose delegate was not applied is CPU', () => {
    const phone = store.devices.upsert('SER', 'android');
    const { artifactId } = runWithTflite('chain', 0.9);
    bench(artifactId, phone, 900, 10, { threads: 4, gpu: true }, { ranDelegate: 'cpu' });
    bench(artifactId, phone, 400, 10, { threads: 4, gpu: true }, { ranDelegate: 'gpu' });
    expect(store.compare.rows({ limit: 10, delegate: 'gpu', includeUnbenchmarked: false }).map((r) => r.latencyUs)).toEqual([400]);
    expect(store.compare.rows({ limit: 10, delegate: 'cpu', includeUnbenchmarked: false }).map((r) => [r.delegate, r.latencyUs])).toEqual([['cpu', 900]]);
  });

  it('says "too noisy to tell" instead of flagging when either side has few trials or a high CV', () => {
    const phone = store.devices.upsert('SER', 'android');
    // The observed case: the same file twice on a loaded host, CV 43 % and 60 %, 2 trials each.
    for (const [lat, cv] of [[170, 0.43], [1030, 0.6]]) bench(runWithTflite('noisy', 0.9).artifactId, phone, lat, 5, undefined, { cv, trials: 2 });
    // Steady sides but one with 3 trials only.
    bench(runWithTflite('noisy', 0.9).artifactId, phone, 2000, 5, undefined, { cv: 0.01, trials: 3 });
    bench(runWithTflite('noisy', 0.9).artifactId, phone, 3000, 5, undefined, { cv: 0.01, trials: 6 });
    bench(runWithTflite('noisy', 0.9).artifactId, phone, 4000, 5, undefined, { cv: 0.01, trials: 6 });
    const s = store.compare.series({ runName: 'noisy', artifactName: 'student-int8.tflite', deviceId: phone, metric: 'latencyUs' });
    expect(s.map((p) => p.change)).toEqual([null, 'too-noisy', 'too-noisy', 'too-noisy', 'changed']);
    expect(s.map((p) => p.flagged)).toEqual([false, false, false, false, true]);
    expect(s[1]).toMatchObject({ cv: 0.6, trials: 2 });
  });

  it('flags a trend point only when the change exceeds the combined intervals', () => {
    const phone = store.devices.upsert('SER', 'android');
    const points = [
      [1000, 20], // first point: never flagged
      [1030, 20], // change 30 <= 20 + 20: within noise
      [1100, 20], // change 70 > 40: flagged
      [1095, 1], // change 5 <= 21
      [1000, 1], // change 95 > 2: flagged
    ];
    for (const [lat, half] of points) {
      const { artifactId } = runWithTflite('lineage', 0.9);
      bench(artifactId, phone, lat, half);
    }
    const s = store.compare.series({ runName: 'lineage', artifactName: 'student-int8.tflite', deviceId: phone, metric: 'latencyUs' });
    expect(s.map((p) => p.value)).toEqual([1000, 1030, 1100, 1095, 1000]);
    expect(s.map((p) => p.flagged)).toEqual([false, false, true, false, true]);
    expect(s.map((p) => p.change)).toEqual([null, 'no-change', 'changed', 'no-change', 'changed']);
    const acc = store.compare.series({ runName: 'lineage', artifactName: 'student-int8.tflite', deviceId: null, metric: 'accuracy' });
    expect(acc.length).toBeGreaterThanOrEqual(5);
    expect(acc.every((p) => !p.flagged)).toBe(true);
    const lin = store.compare.lineages();
    expect(lin[0]).toMatchObject({ runName: 'lineage', artifactName: 'student-int8.tflite', deviceId: phone, points: 5 });
  });
});

  it('filters by person, machine and device source, and lists the choices', () => {
    const local = store.devices.upsert('SER', 'android', { manufacturer: 'Google', model: 'Pixel 7' });
    const remote = store.devices.upsert('lab2:5037/SER2', 'android', { model: 'Pixel 7', facts: { source: { id: 'lab2:5037', kind: 'adb', label: 'Lab 2' } } });
    const { artifactId } = runWithTflite('team', 0.9);
    bench(artifactId, local, 1000, 10);
    const bob = new Store(history.location, { identity: { madeBy: 'bob', machine: 'lab-2', pid: process.pid } });
    try {
      const b = bob.benchmarks.create({ artifactId, deviceId: remote, config: { threads: 4 } });
      bob.benchmarks.finish(b, { status: 'succeeded', latencyUs: 2000 }, [{ meanUs: 2000 }]);
    } finally {
      bob.close();
    }
    const rows = (f: Partial<Parameters<typeof store.compare.rows>[0]>) =>
      store.compare.rows({ limit: 100, includeUnbenchmarked: false, ...f }).map((r) => [r.latencyUs, r.madeBy, r.machine, r.deviceSource]);
    expect(rows({ madeBy: 'bob' })).toEqual([[2000, 'bob', 'lab-2', 'Lab 2']]);
    expect(rows({ machine: 'lab-1' })).toEqual([[1000, 'ana', 'lab-1', "This computer's ADB server"]]);
    expect(rows({ deviceSource: 'Lab 2' })).toEqual([[2000, 'bob', 'lab-2', 'Lab 2']]);
    expect(rows({ madeBy: 'bob', machine: 'lab-1' })).toEqual([]);
    expect(store.compare.facets()).toEqual({ people: ['ana', 'bob'], machines: ['lab-1', 'lab-2'], deviceSources: ['Lab 2', "This computer's ADB server"], sharedModels: ['Pixel 7'] });
    expect(store.runs.list({ limit: 5, offset: 0 }).items[0]).toMatchObject({ madeBy: 'ana', machine: 'lab-1' });
  });

  it('follows a trend across every phone of one model (several labs) and by person', () => {
    const here = store.devices.upsert('A', 'android', { model: 'Pixel 7' });
    const there = store.devices.upsert('lab2:5037/B', 'android', { model: 'Pixel 7', facts: { source: { id: 'lab2', kind: 'adb', label: 'Lab 2' } } });
    const other = store.devices.upsert('C', 'android', { model: 'Galaxy S23' });
    for (const [dev, lat] of [[here, 1000], [there, 1010], [other, 5000], [there, 1020]] as const) bench(runWithTflite('lab', 0.9).artifactId, dev, lat, 5);
    const s = (q: Partial<Parameters<typeof store.compare.series>[0]>) =>
      store.compare.series({ runName: 'lab', artifactName: 'student-int8.tflite', deviceId: here, metric: 'latencyUs', ...q }).map((p) => p.value);
    expect(s({})).toEqual([1000]);
    expect(s({ deviceModel: 'Pixel 7' })).toEqual([1000, 1010, 1020]);
    expect(s({ deviceModel: 'Pixel 7', deviceSource: 'Lab 2' })).toEqual([1010, 1020]);
    expect(s({ deviceModel: 'Pixel 7', madeBy: 'nobody' })).toEqual([]);
    expect(s({ deviceModel: 'Pixel 7', madeBy: 'ana', machine: 'lab-1' })).toEqual([1000, 1010, 1020]);
    expect(store.compare.facets().sharedModels).toEqual(['Pixel 7']);
  });
});
