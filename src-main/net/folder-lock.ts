/**
 * One downloader per folder across processes: the wizard's preview (app process) and a run's
 * worker may both want Fashion-MNIST on first use, and two writers appending to one `.part` file
 * would corrupt it. The lock is a file created with O_EXCL holding the owner's pid; a lock whose
 * process is gone (a crash, a killed worker) is taken over.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../src-shared/errors';

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Run `fn` holding `<dir>/<name>`; while another live process holds it, wait (calling `onWait`). */
export async function withFolderLock<T>(dir: string, name: string, fn: () => Promise<T>, opts: { signal?: AbortSignal; onWait?: () => void; pollMs?: number } = {}): Promise<T> {
  const lock = path.join(dir, name);
  for (;;) {
    if (opts.signal?.aborted) throw new AppError('CANCELLED', 'Cancelled while waiting for another PocketBench process to finish the same download.');
    let fd: number;
    try {
      fd = fs.openSync(lock, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = Number.NaN;
      try {
        owner = Number(fs.readFileSync(lock, 'utf8').trim());
      } catch {
        // Removed between our open and read: try again at once.
        continue;
      }
      if (!alive(owner) && owner !== process.pid) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      opts.onWait?.();
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
      continue;
    }
    fs.writeSync(fd, String(process.pid));
    fs.closeSync(fd);
    try {
      return await fn();
    } finally {
      fs.rmSync(lock, { force: true });
    }
  }
}
