/**
 * Starting the pipeline worker. Node: a child process (`child_process.fork`). The desktop app
 * passes its own spawner built on Electron's `utilityProcess`, which behaves the same way.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FromWorker, ToWorker } from './protocol';

export interface WorkerHandle {
  send(msg: ToWorker): void;
  onMessage(cb: (msg: FromWorker) => void): void;
  onExit(cb: (code: number | null, signal: string | null) => void): void;
  kill(): void;
  readonly pid: number | undefined;
}

export type SpawnWorker = (entry: string) => WorkerHandle;

export const forkWorker: SpawnWorker = (entry) => {
  // Sources (tests, dev) run through tsx; the built bundle runs as plain JS.
  const execArgv = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = fork(entry, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  return {
    pid: child.pid,
    send: (m) => {
      if (child.connected) child.send(m);
    },
    onMessage: (cb) => child.on('message', (m) => cb(m as FromWorker)),
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
