/**
 * Who makes a run or benchmark and where, and whether the process that owns an unfinished one is
 * still alive. With one SQLite file the data folder's owner.lock already says so; with a history
 * shared by several machines, a run left `running` is reclaimed (marked interrupted) only when its
 * owner is gone: on this machine, its process no longer exists; on any machine, it stopped beating
 * (the owning app refreshes `heartbeat_at` every HEARTBEAT_MS while it has unfinished work).
 */
import os from 'node:os';

export interface Identity {
  /** The person: the Settings name, else POCKETBENCH_USER, else the OS user. */
  madeBy: string;
  /** This computer's host name. */
  machine: string;
  pid: number;
}

export const HEARTBEAT_MS = 20_000;
/** An owner silent this long is gone (a crash, a power cut, a machine taken off the network). */
export const OWNER_GONE_AFTER_MS = 5 * 60_000;

export function osUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER || process.env.USERNAME || 'unknown';
  }
}

export function currentIdentity(name?: string | null): Identity {
  const madeBy = (name ?? '').trim() || (process.env.POCKETBENCH_USER ?? '').trim() || osUser();
  return { madeBy, machine: os.hostname(), pid: process.pid };
}

/** Is process `pid` alive on this machine? (EPERM: it exists under another user.) */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
