/**
 * A real PostgreSQL server for tests: Debian's `postgresql` binaries, one server per test run
 * (every test file of a `vitest run` shares it; the first to ask starts it under a lock), listening
 * only on a unix socket in a private temp folder (`listen_addresses=''`, a random port number names
 * the socket), durability off (fsync, synchronous_commit) since it is thrown away. Each test gets
 * its own database (`freshDatabase`). `test/pg-global-setup.ts` gives the run its folder and stops
 * the server at the end. As root, initdb refuses to run: the server runs as the `postgres` user
 * (Debian's package creates it), else `nobody`.
 * Where PostgreSQL is not installed, `postgresBinDir()` is null and suites skip with that message.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PostgresDb } from '../../src-main/store/postgres';

export const POSTGRES_MISSING = 'PostgreSQL is not installed here (no initdb/pg_ctl; Debian: apt install postgresql): the PostgreSQL half of the store suites is skipped.';

export function postgresBinDir(): string | null {
  const fromEnv = process.env.POCKETBENCH_PG_BIN;
  if (fromEnv && fs.existsSync(path.join(fromEnv, 'initdb'))) return fromEnv;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (fs.existsSync(path.join(root, v, 'bin', 'initdb'))) return path.join(root, v, 'bin');
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  return which.status === 0 ? path.dirname(which.stdout.trim()) : null;
}

function serverUser(): string | null {
  if (process.getuid?.() !== 0) return null;
  return spawnSync('id', ['postgres']).status === 0 ? 'postgres' : 'nobody';
}

function asServerUser(bin: string, args: string[], user: string | null): void {
  const cmd = user ? 'runuser' : bin;
  const full = user ? ['-u', user, '--', bin, ...args] : args;
  const r = spawnSync(cmd, full, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${path.basename(bin)} failed (${r.status}): ${r.stderr || r.stdout}`);
}

/** The run's server folder (set by the global setup; a process of its own otherwise). */
function runDir(): string {
  let dir = process.env.POCKETBENCH_TEST_PG_DIR;
  if (!dir) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-pg-'));
    process.env.POCKETBENCH_TEST_PG_DIR = dir;
    process.once('exit', () => stopTestServer(dir!));
  }
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The admin URL of the run's server, starting it on first use. Throws when PostgreSQL is missing. */
export function testServerUrl(): string {
  const bin = postgresBinDir();
  if (!bin) throw new Error(POSTGRES_MISSING);
  const dir = runDir();
  const urlFile = path.join(dir, 'url');
  const lock = path.join(dir, 'starting');
  for (let waited = 0; ; waited += 100) {
    if (fs.existsSync(urlFile)) return fs.readFileSync(urlFile, 'utf8');
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (waited > 120_000) throw new Error(`The test PostgreSQL server in ${dir} did not start within 2 minutes.`);
      sleep(100);
    }
  }
  try {
    if (fs.existsSync(urlFile)) return fs.readFileSync(urlFile, 'utf8');
    const user = serverUser();
    if (user) fs.chmodSync(dir, 0o711); // the server's user must reach its folder inside
    const home = path.join(dir, 'server');
    fs.mkdirSync(home, { recursive: true });
    if (user) execFileSync('chown', [user, home]);
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    asServerUser(path.join(bin, 'initdb'), ['-D', path.join(home, 'data'), '-A', 'trust', '-U', 'pocketbench', '-E', 'UTF8', '--no-sync', '--no-instructions'], user);
    const opts = `-p ${port} -k ${home} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
    asServerUser(path.join(bin, 'pg_ctl'), ['-D', path.join(home, 'data'), '-o', opts, '-l', path.join(home, 'log'), '-w', '-t', '60', 'start'], user);
    const url = `postgresql://pocketbench@/postgres?host=${encodeURIComponent(home)}&port=${port}`;
    fs.writeFileSync(urlFile, url);
    return url;
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** A new empty database on the run's server; `drop()` removes it. */
export function freshDatabase(prefix = 'pb'): { url: string; drop(): void } {
  const admin = testServerUrl();
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const db = new PostgresDb(admin);
  try {
    db.exec(`CREATE DATABASE ${name}`);
  } finally {
    db.close();
  }
  const url = admin.replace('/postgres?', `/${name}?`);
  return {
    url,
    drop() {
      const a = new PostgresDb(admin);
      try {
        a.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        a.close();
      }
    },
  };
}

export function stopTestServer(dir: string): void {
  const data = path.join(dir, 'server', 'data');
  const bin = postgresBinDir();
  if (bin && fs.existsSync(path.join(data, 'postmaster.pid'))) {
    try {
      asServerUser(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], serverUser());
    } catch {
      // already gone
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/** The backends a store suite runs on: SQLite always, PostgreSQL where it is installed. */
export const storeBackends: { name: 'sqlite' | 'postgres'; skip: boolean }[] = [
  { name: 'sqlite', skip: false },
  { name: 'postgres', skip: postgresBinDir() === null },
];
if (postgresBinDir() === null) console.warn(POSTGRES_MISSING);

/** A history for a store suite: a SQLite file in `dir`, or a fresh database on the run's server. */
export function testHistory(backend: 'sqlite' | 'postgres', dir: string): { location: string; dispose(): void } {
  if (backend === 'sqlite') return { location: path.join(dir, 'h.sqlite'), dispose() {} };
  const db = freshDatabase();
  return { location: db.url, dispose: () => db.drop() };
}
