/**
 * Upgrading a populated database from the first schema keeps every row and ends at the latest
 * version. As migrations are added, this test keeps proving that old histories survive.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { latestVersion, migrate, migrations } from './migrations';
import { Store } from './index';
import { PostgresDb } from './postgres';
import { freshDatabase, postgresBinDir } from '../../test/helpers/postgres';

describe('migrations', () => {
  it('are numbered 1..N without gaps', () => {
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
  });

  it('upgrade a populated first-schema database to the latest', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-mig-'));
    const file = path.join(dir, 'old.sqlite');
    const db = new Database(file);
    db.pragma('foreign_keys = ON');
    expect(migrate(db, 1)).toEqual([1]);
    // Populate with the first schema's columns only.
    db.prepare(`INSERT INTO datasets (name, kind, source, content_hash, created_at) VALUES ('fm', 'fashion-mnist', '/d', 'h', 1)`).run();
    db.prepare(`INSERT INTO runs (name, recipe_json, recipe_hash, seed, status, dataset_id, created_at, app_version) VALUES ('r', '{}', 'x', 1, 'succeeded', 1, 1, '0.0.1')`).run();
    db.prepare(`INSERT INTO stages (run_id, idx, kind, status) VALUES (1, 0, 'distill', 'succeeded')`).run();
    db.prepare(`INSERT INTO artifacts (run_id, name, format, path, content_hash, bytes, created_at) VALUES (1, 'a', 'tflite', '/a.tflite', 'h', 10, 1)`).run();
    db.prepare(`INSERT INTO devices (serial, kind, first_seen, last_seen) VALUES ('S1', 'android', 1, 1)`).run();
    db.prepare(`INSERT INTO benchmarks (artifact_id, device_id, status, created_at, latency_us) VALUES (1, 1, 'succeeded', 1, 123.5)`).run();
    db.prepare(`INSERT INTO benchmark_trials (benchmark_id, idx, mean_us) VALUES (1, 0, 123.5)`).run();
    db.prepare(`INSERT INTO settings (key, value_json, updated_at) VALUES ('k', '"v"', 1)`).run();
    db.close();

    const store = new Store(file); // opening migrates
    expect(store.sqlite!.pragma('user_version', { simple: true })).toBe(latestVersion);
    expect(store.runs.get(1)).toMatchObject({ name: 'r', status: 'succeeded', stageCount: 1, artifactCount: 1 });
    expect(store.benchmarks.get(1)).toMatchObject({ latencyUs: 123.5 });
    expect(store.benchmarks.trials(1)).toHaveLength(1);
    expect(store.devices.bySerial('S1')).not.toBeNull();
    expect(store.settings.get('k', '')).toBe('v');
    expect(store.integrityCheck()).toBe('ok');
    expect(store.sqlite!.pragma('foreign_key_check')).toEqual([]);
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('version 3 keeps only real peaks in peak_mem_mb and names their kind', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-mig-'));
    const db = new Database(path.join(dir, 'v2.sqlite'));
    migrate(db, 2);
    db.prepare(`INSERT INTO devices (serial, kind, first_seen, last_seen) VALUES ('S1', 'android', 1, 1), ('host', 'host', 1, 1)`).run();
    const ins = db.prepare(`INSERT INTO benchmarks (device_id, status, created_at, peak_mem_mb, raw_output, target) VALUES (?, 'succeeded', 1, ?, ?, ?)`);
    ins.run(1, 73.41, 'INFO: Memory footprint delta from the start of the tool (MB): init=54.2852 overall=73.4102', 'S1');
    ins.run(1, 93.24, 'INFO: Overall peak memory footprint (MB) via periodic monitoring: 93.2383', 'S1');
    ins.run(2, 16.8, 'trial 1: count=50', 'host');
    migrate(db);
    const rows = db.prepare('SELECT peak_mem_mb AS mb, peak_mem_kind AS kind FROM benchmarks ORDER BY id').all();
    // The delta was never a peak: dropped (the raw output still has it); the others are named.
    expect(rows).toEqual([{ mb: null, kind: null }, { mb: 93.24, kind: 'runner-peak' }, { mb: 16.8, kind: 'runtime-heap' }]);
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('backs an existing history up before migrating it, and migrates under the write lock', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-mig-'));
    const file = path.join(dir, 'history.sqlite');
    const db = new Database(file);
    migrate(db, 2);
    db.prepare(`INSERT INTO settings (key, value_json, updated_at) VALUES ('k', '"before"', 1)`).run();
    // Another process holding the write lock: the migration waits for it instead of racing it.
    const other = new Database(file);
    other.pragma('busy_timeout = 0');
    db.pragma('busy_timeout = 0');
    other.prepare('BEGIN IMMEDIATE').run();
    expect(() => migrate(db)).toThrow(/locked|busy/i);
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    other.prepare('ROLLBACK').run();
    other.close();
    expect(migrate(db)).toEqual(migrations.filter((m) => m.version > 2).map((m) => m.version));
    db.close();
    const backups = fs.readdirSync(path.join(dir, 'backups'));
    // One copy per attempt, each the version-2 history as it was.
    expect(backups.length).toBeGreaterThanOrEqual(1);
    for (const b of backups) {
      expect(b).toMatch(new RegExp(`^history-schema-2-before-${latestVersion}-.*\\.sqlite$`));
      const copy = new Database(path.join(dir, 'backups', b), { readonly: true });
      expect(copy.pragma('user_version', { simple: true })).toBe(2);
      expect(copy.prepare(`SELECT value_json v FROM settings WHERE key = 'k'`).get()).toEqual({ v: '"before"' });
      copy.close();
    }
    // A new history has nothing to back up.
    fs.mkdirSync(path.join(dir, 'fresh'));
    const fresh = new Database(path.join(dir, 'fresh', 'h.sqlite'));
    migrate(fresh);
    fresh.close();
    expect(fs.existsSync(path.join(dir, 'fresh', 'backups'))).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuse a database from a newer PocketBench', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-mig-'));
    const file = path.join(dir, 'new.sqlite');
    const db = new Database(file);
    db.pragma(`user_version = ${latestVersion + 5}`);
    db.close();
    expect(() => new Store(file)).toThrow(/newer PocketBench/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(postgresBinDir() === null)('upgrade a populated schema-2 PostgreSQL history to the latest, the same migrations', () => {
    const pg = freshDatabase('mig');
    try {
      const db = new PostgresDb(pg.url);
      expect(migrate(db, 2)).toEqual([1, 2]);
      db.prepare(`INSERT INTO runs (name, recipe_json, recipe_hash, seed, status, created_at, app_version) VALUES ('r', '{}', 'x', 1, 'running', 1700000000123, '0.0.1')`).run();
      db.prepare(`INSERT INTO devices (serial, kind, first_seen, last_seen) VALUES ('S1', 'android', 1, 1)`).run();
      db.prepare(`INSERT INTO benchmarks (device_id, status, created_at, latency_us, peak_mem_mb, target, raw_output) VALUES (1, 'succeeded', 1, 123.456789, 7.5, 'host', '')`).run();
      db.close();
      const store = new Store(pg.url); // opening migrates
      expect((store.db.prepare('SELECT max(version) AS v FROM pocketbench_schema').get() as { v: number }).v).toBe(latestVersion);
      expect(store.runs.get(1)).toMatchObject({ name: 'r', createdAt: 1700000000123, madeBy: null });
      // migration 3 ran its UPDATEs on PostgreSQL too: a host figure is a runtime heap
      expect(store.benchmarks.get(1)).toMatchObject({ latencyUs: 123.456789, peakMemMb: 7.5, peakMemKind: 'runtime-heap' });
      // a run from before migration 5 has no owner: the next instance reclaims it
      expect(store.runs.markInterrupted()).toBe(1);
      expect(migrate(store.db)).toEqual([]);
      store.close();
    } finally {
      pg.drop();
    }
  });
});
