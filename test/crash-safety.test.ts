/**
 * Kill a writer with SIGKILL in the middle of a burst of writes, then reopen: the database passes
 * its integrity check, every run the writer reported as committed is there, and no transaction
 * is half-applied.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from '../src-main/store';

describe('crash safety', () => {
  it('survives SIGKILL during a burst of writes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-crash-'));
    const file = path.join(dir, 'h.sqlite');
    new Store(file).close(); // create the schema first so the child only writes rows
    const writer = path.resolve(import.meta.dirname, 'helpers/crash-writer.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', writer, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    const committed: number[] = [];
    let buf = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk) => {
        buf += chunk;
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) {
          const m = /^committed (\d+)$/.exec(l);
          if (m) committed.push(Number(m[1]));
        }
        if (committed.length >= 300 && !child.killed) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((r) => child.once('exit', r));
    expect(child.signalCode).toBe('SIGKILL');

    const store = new Store(file);
    expect(store.integrityCheck()).toBe('ok');
    const ids = new Set((store.db.prepare('SELECT id FROM runs').all() as { id: number }[]).map((r) => r.id));
    for (const id of committed) expect(ids.has(id)).toBe(true);
    // No partial rows: every run has exactly its 5 stages; runs whose second transaction committed have both artifacts.
    const bad = store.db
      .prepare(
        `SELECT r.id, (SELECT count(*) FROM stages s WHERE s.run_id = r.id) AS st, (SELECT count(*) FROM artifacts a WHERE a.run_id = r.id) AS ar, r.error
         FROM runs r WHERE st != 5 OR ar NOT IN (0, 2) OR (ar = 2) != (r.error IS NOT NULL)`,
      )
      .all();
    expect(bad).toEqual([]);
    for (const id of committed) expect((store.db.prepare('SELECT count(*) n FROM artifacts WHERE run_id = ?').get(id) as { n: number }).n).toBe(2);
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
