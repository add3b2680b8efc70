/**
 * One owner per data folder. The desktop app, `pocketbench serve` and `pocketbench run` each take
 * `<data>/owner.lock` (pid, host name, what, since) before touching runs: a second process would mark
 * the first one's live runs interrupted and its live benchmarks failed, and a resume would then put
 * two workers on one run and checkpoint folder. A lock whose process is gone (a crash, SIGKILL) is
 * taken over; a live one is refused with who holds it. Like Firefox's profile lock: the same
 * machine is checked by pid; a lock from another machine (a shared folder) is honoured as is.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../../src-shared/errors';
import { processAlive } from '../store/identity';

export const LOCK_FILE = 'owner.lock';

export interface LockOwner {
  pid: number;
  hostname: string;
  what: string;
  since: number;
}

export interface DataLock {
  readonly file: string;
  release(): void;
}

/** Locks this process holds, released on a normal exit too (a crash leaves a lock the next owner takes over). */
const held = new Set<DataLock>();
process.once('exit', () => {
  for (const l of [...held]) l.release();
});

function alive(owner: LockOwner): boolean {
  return owner.hostname !== os.hostname() || processAlive(owner.pid);
}

function readOwner(file: string): LockOwner | null {
  try {
    const o = JSON.parse(fs.readFileSync(file, 'utf8')) as LockOwner;
    return Number.isInteger(o.pid) && typeof o.hostname === 'string' ? o : null;
  } catch {
    return null;
  }
}

/** Takes the data folder for `what` (e.g. "pocketbench serve"), or throws DATA_FOLDER_IN_USE. */
export function acquireDataLock(dataDir: string, what: string): DataLock {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, hostname: os.hostname(), what, since: Date.now() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(me), { flag: 'wx' });
      const lock: DataLock = {
        file,
        release() {
          if (!held.delete(lock)) return;
          const o = readOwner(file);
          if (o && o.pid === me.pid && o.since === me.since) fs.rmSync(file, { force: true });
        },
      };
      held.add(lock);
      return lock;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readOwner(file);
    if (owner && alive(owner)) {
      throw new AppError(
        'DATA_FOLDER_IN_USE',
        `The data folder ${dataDir} is in use by ${owner.what} (process ${owner.pid} on ${owner.hostname}, since ${new Date(owner.since).toISOString()}). Close it first, or give this one another data folder (--data or POCKETBENCH_DATA_DIR).`,
        { dataDir, owner },
      );
    }
    // The owner is gone (or the file is unreadable): take it over.
    fs.rmSync(file, { force: true });
  }
  throw new AppError('DATA_FOLDER_IN_USE', `Could not take the data folder ${dataDir}: another process keeps taking it. Try again.`, { dataDir });
}
