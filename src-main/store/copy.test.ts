import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freshDatabase, POSTGRES_MISSING, postgresBinDir } from '../../test/helpers/postgres';
import { main } from '../cli';
import { HISTORY_TABLES, copyHistory, verifyCopy } from './copy';
import { Store } from './index';

const skip = postgresBinDir() === null;
if (skip) console.warn(POSTGRES_MISSING);

describe.skipIf(skip)('db migrate-to: SQLite history → PostgreSQL', () => {
  let dir: string;
  let file: string;
  const made: { drop(): void }[] = [];
  const target = () => {
    const d = freshDatabase('copy');
    made.push(d);
    return d.url;
  };

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-copy-'));
    file = path.join(dir, 'history.sqlite');
    const s = new Store(file);
    const ds = s.datasets.upsert({ name: 'fm', kind: 'fashion-mnist', source: '/d', contentHash: 'c', classes: ['a'], counts: [1], inputShape: [28, 28, 1] });
    const run = s.runs.create({ name: 'r', recipe: { x: 1 }, recipeHash: 'h', seed: 3, appVersion: 't', datasetId: ds, stages: [{ kind: 'distill', params: { T: 4 } }] });
    s.runs.updateStage(run, 0, { status: 'succeeded', metrics: { accuracy: 0.91 } });
    // a child created before its parent's id would be inserted (parent id higher): the copy must not trip on it
    const child = s.artifacts.create({ runId: run, name: 'int8', format: 'tflite', path: '/a/c.tflite', contentHash: 'h1', bytes: 10, sparsity: 0.5 });
    const parent = s.artifacts.create({ runId: run, name: 'student', format: 'tfjs-layers', path: '/a/p.json', contentHash: 'h2', bytes: 20 });
    s.db.prepare('UPDATE artifacts SET parent_id = ? WHERE id = ?').run(parent, child);
    const dev = s.devices.upsert('SER', 'android', { model: 'Pixel 7', abis: ['arm64-v8a'] });
    const b = s.benchmarks.create({ artifactId: child, deviceId: dev, config: { threads: 4, xnnpack: true } });
    s.benchmarks.finish(b, { status: 'succeeded', latencyUs: 1234.5678, ciLowUs: 1200, ciHighUs: 1300.25, cv: 0.0123 }, [{ meanUs: 1234.5 }, { meanUs: 1240, cooldownTimedOut: true }], [{ section: 'by_type', nodeType: 'CONV_2D', avgMs: 0.5, pct: 41.5 }]);
    const gone = s.runs.create({ name: 'deleted', recipe: {}, recipeHash: 'h', seed: 1, appVersion: 't' });
    s.runs.delete(gone); // its id must never be handed out again, in PostgreSQL either
    s.settings.set('theme', 'dark');
    s.close();
  });
  afterAll(() => {
    for (const d of made) d.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('copies every table with ids kept, verified by counts and checksums, and ids continue past every id used', () => {
    const url = target();
    const src = new Store(file);
    const dst = new Store(url);
    try {
      const tables = copyHistory(src.db, dst.db);
      expect(tables.map((t) => t.table)).toEqual([...HISTORY_TABLES]);
      expect(Object.fromEntries(tables.map((t) => [t.table, t.rows]))).toMatchObject({ runs: 1, stages: 1, artifacts: 2, devices: 1, benchmarks: 1, benchmark_trials: 2, op_profiles: 1, datasets: 1 });
      expect(dst.runs.get(1)).toMatchObject({ name: 'r', stageCount: 1, artifactCount: 2 });
      expect(dst.artifacts.lineage(1).map((a) => a.name)).toEqual(['int8', 'student']);
      expect(dst.benchmarks.get(1)).toMatchObject({ latencyUs: 1234.5678, ciHighUs: 1300.25, cv: 0.0123 });
      expect(dst.compare.rows({ limit: 10, includeUnbenchmarked: false })[0]).toMatchObject({ threads: 4, delegate: 'xnnpack', latencyUs: 1234.5678 });
      expect(dst.settings.get('theme', null)).toBeNull(); // settings stay on this computer
      // the check can fail: a changed value on the server is caught, naming the table
      dst.db.prepare('UPDATE benchmarks SET latency_us = 1234.5679 WHERE id = 1').run();
      const plan = HISTORY_TABLES.map((table) => ({ table, cols: (src.db.prepare(`SELECT name FROM pragma_table_info('${table}')`).all() as { name: string }[]).map((r) => r.name) }));
      expect(() => verifyCopy(src.db, dst.db, plan)).toThrow(/differs from the original in: benchmarks \(1 rows/);
      expect(dst.runs.create({ name: 'next', recipe: {}, recipeHash: 'h', seed: 1, appVersion: 't' })).toBe(3);
      expect(dst.devices.upsert('SER2', 'android')).toBe(2);

    } finally {
      src.close();
      dst.close();
    }
  });

  it('from the command line: refuses a target that holds history unless --replace, and loses nothing on refusal', async () => {
    const url = target();
    const cli = (...args: string[]) => main(['node', 'pocketbench', '--data', dir, 'db', 'migrate-to', url, ...args]);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      await cli('--json');
      expect(process.exitCode ?? 0).toBe(0);
      const report = JSON.parse(log.mock.calls.at(-1)![0] as string) as { verified: boolean; tables: { table: string; rows: number }[]; to: string };
      expect(report.verified).toBe(true);
      expect(report.tables.find((t) => t.table === 'benchmark_trials')!.rows).toBe(2);

      const dst = new Store(url);
      dst.runs.create({ name: 'made on the server', recipe: {}, recipeHash: 'h', seed: 1, appVersion: 't' });
      dst.close();
      await cli();
      expect(process.exitCode).toBe(1);
      expect(String(err.mock.calls.at(-1)![0])).toMatch(/already holds \d+ rows\. Nothing was copied.*--replace/);
      const kept = new Store(url);
      expect(kept.runs.list({ limit: 10, offset: 0 }).items.map((r) => r.name)).toContain('made on the server');
      kept.close();

      process.exitCode = 0;
      await cli('--replace');
      expect(process.exitCode).toBe(0);
      const replaced = new Store(url);
      expect(replaced.runs.list({ limit: 10, offset: 0 }).items.map((r) => r.name)).toEqual(['r']);
      replaced.close();
    } finally {
      process.exitCode = 0;
      log.mockRestore();
      err.mockRestore();
    }
  });
});
