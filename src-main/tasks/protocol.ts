/** Messages between the host process's task pool (tasks/pool.ts) and a task worker (tasks/worker-main.ts). */
import type { ErrorInfo } from '../../src-shared/errors';
import type { AppPaths } from '../host/paths';

/** One task: `name` is a key of the worker's registry (tasks/registry.ts), `args` plain data. */
export interface TaskRequest {
  type: 'task';
  id: number;
  name: string;
  args: unknown;
  paths: AppPaths;
}

export type ToTaskWorker = TaskRequest;

export type FromTaskWorker =
  | { type: 'result'; id: number; ok: true; result: unknown }
  | { type: 'result'; id: number; ok: false; error: ErrorInfo }
  /** An event for every UI (relayed to the host's bus), e.g. dataset download progress. */
  | { type: 'event'; name: string; payload: unknown }
  /** Progress of the running task (relayed to the caller's `onProgress`). */
  | { type: 'progress'; id: number; progress: unknown };
