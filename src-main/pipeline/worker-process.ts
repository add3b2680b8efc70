/**
 * Starting the pipeline worker. Node: a child process (`child_process.fork`). The desktop app
 * passes its own spawner built on Electron's `utilityProcess`, which behaves the same way.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FromWorker, ToWorker } from './protocol';

/** A worker process; `In`/`Out` are the messages to and from it (the pipeline's by default; task workers use their own). */
export interface WorkerHandle<In = ToWorker, Out = FromWorker> {
  send(msg: In): void;
  onMessage(cb: (msg: Out) => void): void;
  onExit(cb: (code: number | null, signal: string | null) => void): void;
  kill(): void;
  readonly pid: number | undefined;
}

/** Starts `entry` as a worker process; `name` is what the OS task manager shows (Electron). */
export type SpawnWorker = (entry: string, name?: string) => WorkerHandle<never, never>;

/** A spawned worker seen through the messages of its protocol. */
export function typedWorker<In, Out>(spawn: SpawnWorker, entry: string, name?: string): WorkerHandle<In, Out> {
  return spawn(entry, name) as unknown as WorkerHandle<In, Out>;
}

export const forkWorker: SpawnWorker = (entry) => {
  // Sources (tests, dev) run through tsx; the built bundle runs as plain JS.
  const execArgv = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = fork(entry, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  return {
    pid: child.pid,
    send: (m) => {
      if (child.connected) child.send(m);
    },
    onMessage: (cb) => child.on('message', (m) => cb(m as never)),
    onExit: (cb) => child.once('exit', (code, signal) => cb(code, signal)),
    kill: () => child.kill('SIGKILL'),
  };
};

/** The built worker next to the entry bundle, or the TypeScript source when running from sources. */
export function defaultWorkerEntry(builtDir?: string): string {
  if (builtDir) {
    const built = path.join(builtDir, 'pipeline-worker.js');
    if (fs.existsSync(built)) return built;
  }
  return path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker-main.ts');
}

interface ParentPort {
  on(ev: 'message', cb: (e: { data: unknown }) => void): void;
  postMessage(msg: unknown): void;
}

/**
 * Inside a worker: the channel to the process that started it (Electron's `parentPort` in a utility
 * process, Node's IPC in a child process).
 */
export function parentChannel<In, Out>(): { send(msg: Out): void; onMessage(cb: (msg: In) => void): void } {
  const electronPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
  return {
    send: (msg) => {
      if (electronPort) electronPort.postMessage(msg);
      else process.send?.(msg);
    },
    onMessage: (cb) => {
      if (electronPort) electronPort.on('message', (e) => cb(e.data as In));
      else process.on('message', (m) => cb(m as In));
    },
  };
}
