/**
 * N writer processes (team-writer.ts) on one history at once, then the check: every id a writer was
 * given is in the history once, with its writer's name, and nothing else is there.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Store } from '../../src-main/store';

export interface WritersOutcome {
  writers: number;
  ms: number;
  runs: number;
  benchmarks: number;
  lost: number;
  duplicated: number;
  foreign: number;
  devices: number;
}

const script = path.resolve(import.meta.dirname, 'team-writer.ts');

function writer(url: string, name: string, ms: number): Promise<{ name: string; runs: number[]; benchmarks: number[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, url, name, String(ms)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`writer ${name} exited with ${code}: ${err.slice(-2000)}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)!) as { name: string; runs: number[]; benchmarks: number[] });
    });
  });
}

export async function runWriters(url: string, n: number, ms: number): Promise<WritersOutcome> {
  const t0 = Date.now();
  const results = await Promise.all(Array.from({ length: n }, (_, k) => writer(url, `w${k}`, ms)));
  const elapsed = Date.now() - t0;
  const store = new Store(url);
  try {
    let lost = 0;
    let duplicated = 0;
    let foreign = 0;
    const count = (table: 'runs' | 'benchmarks', expected: Map<number, string>) => {
      const rows = store.db.prepare(`SELECT id, made_by FROM ${table}`).all() as { id: number; made_by: string }[];
      const seen = new Map<number, number>();
      for (const r of rows) {
        seen.set(r.id, (seen.get(r.id) ?? 0) + 1);
        if (expected.get(r.id) !== r.made_by) foreign++;
      }
      for (const id of expected.keys()) if (!seen.has(id)) lost++;
      for (const c of seen.values()) if (c > 1) duplicated += c - 1;
      return rows.length;
    };
    const given = (k: 'runs' | 'benchmarks') => {
      const m = new Map<number, string>();
      for (const r of results) for (const id of r[k]) {
        if (m.has(id)) duplicated++; // the same id handed to two writers
        m.set(id, r.name);
      }
      return m;
    };
    const runs = count('runs', given('runs'));
    const benchmarks = count('benchmarks', given('benchmarks'));
    const names = store.db.prepare('SELECT count(*) AS n, count(DISTINCT name) AS d FROM runs').get() as { n: number; d: number };
    duplicated += names.n - names.d;
    const devices = (store.db.prepare(`SELECT count(*) AS n FROM devices WHERE serial = 'shared-phone'`).get() as { n: number }).n;
    return { writers: n, ms: elapsed, runs, benchmarks, lost, duplicated, foreign, devices };
  } finally {
    store.close();
  }
}
