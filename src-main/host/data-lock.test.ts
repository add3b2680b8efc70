import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHost } from './index';
import { LOCK_FILE, acquireDataLock } from './data-lock';
import { Store } from '../store';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-lock-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

// The folder comes from each test, not the environment.
delete process.env.POCKETBENCH_DATA_DIR;
delete process.env.POCKETBENCH_DB;

describe('one owner per data folder', () => {
  it('a second owner is refused with who holds the folder; released, it can be taken', () => {
    const dir = tmp();
    const lock = acquireDataLock(dir, 'pocketbench serve');
    expect(() => acquireDataLock(dir, 'pocketbench run')).toThrow(new RegExp(`in use by pocketbench serve \\(process ${process.pid} on ${os.hostname()}, since .*\\)\\. Close it first, or give this one another data folder`));
    lock.release();
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    acquireDataLock(dir, 'pocketbench run').release();
  });

  it('a lock left by a process that is gone (a crash) is taken over', () => {
    const dir = tmp();
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: Number(dead.stdout.trim()), hostname: os.hostname(), what: 'the PocketBench app', since: 1 }));
    const lock = acquireDataLock(dir, 'pocketbench serve');
    expect(JSON.parse(fs.readFileSync(lock.file, 'utf8'))).toMatchObject({ pid: process.pid, what: 'pocketbench serve' });
    lock.release();
  });

  it("a second host on the folder fails at start and leaves the owner's live run alone", async () => {
    const dir = tmp();
    const first = createHost({ transport: 'websocket', warmBackend: false, dataDir: dir });
    const runId = first.store.runs.create({ name: 'live', recipe: {}, recipeHash: 'h', seed: 1, appVersion: 'x', status: 'running', stages: [] });
    expect(() => createHost({ transport: 'websocket', warmBackend: false, dataDir: dir })).toThrow(/is in use by pocketbench serve/);
    expect(first.store.runs.get(runId)?.status).toBe('running');
    await first.close();
    // Closed, the folder is free; a new owner reclaims the run the old one left running.
    const second = createHost({ transport: 'websocket', warmBackend: false, dataDir: dir });
    expect(second.store.runs.get(runId)?.status).toBe('interrupted');
    await second.close();
    const store = new Store(path.join(dir, 'history.sqlite'));
    expect(store.runs.get(runId)?.status).toBe('interrupted');
    store.close();
  });
});
