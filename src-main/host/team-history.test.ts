/** The app on a team's PostgreSQL history: chosen by POCKETBENCH_DATABASE_URL or <data>/team.json. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freshDatabase, postgresBinDir } from '../../test/helpers/postgres';
import { createHost } from './index';
import { databaseUrlFor, resolvePaths, sharedArtifactsDir, TEAM_FILE } from './paths';

const saved = { url: process.env.POCKETBENCH_DATABASE_URL, art: process.env.POCKETBENCH_ARTIFACTS_DIR };
afterEach(() => {
  for (const [k, v] of [['POCKETBENCH_DATABASE_URL', saved.url], ['POCKETBENCH_ARTIFACTS_DIR', saved.art]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('team history settings', () => {
  it('reads the URL and shared artifact folder from the environment, else team.json; an empty variable means local', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-team-'));
    delete process.env.POCKETBENCH_DATABASE_URL;
    delete process.env.POCKETBENCH_ARTIFACTS_DIR;
    expect(databaseUrlFor(dir)).toBeNull();
    expect(resolvePaths(dir).artifactsDir).toBe(path.join(dir, 'artifacts'));
    fs.writeFileSync(path.join(dir, TEAM_FILE), JSON.stringify({ databaseUrl: 'postgres://lab/db', artifactsDir: '/mnt/team/artifacts' }));
    expect(databaseUrlFor(dir)).toBe('postgres://lab/db');
    expect(sharedArtifactsDir(dir)).toBe('/mnt/team/artifacts');
    process.env.POCKETBENCH_DATABASE_URL = '';
    expect(databaseUrlFor(dir)).toBeNull();
    process.env.POCKETBENCH_DATABASE_URL = 'postgresql://other/x';
    expect(resolvePaths(dir).databaseUrl).toBe('postgresql://other/x');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(postgresBinDir() === null)('Settings → Team: the name applies at once; a URL is saved only when the server answers, its password never shown', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-team-'));
    delete process.env.POCKETBENCH_DATABASE_URL;
    const host = createHost({ transport: 'websocket', dataDir: dir, warmBackend: false });
    const db = freshDatabase('settings');
    try {
      const call = (m: 'team.get' | 'team.set', a?: unknown) => (host.handlers[m] as (a: unknown, c: unknown) => unknown)(a, {});
      const r = (await call('team.set', { userName: 'Ana Lab' })) as { madeBy: string; active: string };
      expect(r).toMatchObject({ madeBy: 'Ana Lab', active: 'sqlite' });
      const run = host.store.runs.create({ name: 'mine', recipe: {}, recipeHash: 'h', seed: 1, appVersion: 't' });
      expect(host.store.runs.get(run)!.madeBy).toBe('Ana Lab');
      await expect(Promise.resolve().then(() => call('team.set', { databaseUrl: 'postgresql://nobody@/nowhere?host=/nonexistent-socket-dir' }))).rejects.toThrow(/Not saved: Cannot connect/);
      expect(fs.existsSync(path.join(dir, TEAM_FILE))).toBe(false);
      const withPassword = db.url.replace('pocketbench@', 'pocketbench:s3cret@');
      const saved = (await call('team.set', { databaseUrl: withPassword })) as { databaseUrl: string };
      expect(saved.databaseUrl).not.toContain('s3cret');
      expect(fs.statSync(path.join(dir, TEAM_FILE)).mode & 0o777).toBe(0o600);
      expect(databaseUrlFor(dir)).toBe(withPassword);
    } finally {
      await host.close();
      db.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(postgresBinDir() === null)('the host keeps its history on the server and this computer\'s settings in the local file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-team-'));
    const db = freshDatabase('host');
    process.env.POCKETBENCH_DATABASE_URL = db.url;
    const host = createHost({ transport: 'websocket', dataDir: dir, warmBackend: false });
    try {
      expect(host.store.dialect).toBe('postgres');
      expect(host.status().dbPath).toContain('/');
      const id = host.store.runs.create({ name: 'shared', recipe: {}, recipeHash: 'h', seed: 1, appVersion: 't' });
      host.store.settings.set('theme', 'dark');
      expect(host.store.runs.get(id)).toMatchObject({ madeBy: host.store.identity.madeBy, machine: os.hostname() });
    } finally {
      await host.close();
    }
    delete process.env.POCKETBENCH_DATABASE_URL;
    const local = createHost({ transport: 'websocket', dataDir: dir, warmBackend: false });
    try {
      expect(local.store.dialect).toBe('sqlite');
      expect(local.store.runs.list({ limit: 5, offset: 0 }).total).toBe(0); // the run is on the server
      expect(local.store.settings.get('theme', null)).toBe('dark'); // the setting stayed here
    } finally {
      await local.close();
      db.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
