/** Messages between the pipeline service (main process) and the worker that runs a recipe. */
import type { BackendInfo } from '../../src-shared/types';
import type { RunProgress } from '../../src-shared/contract/pipeline';

export interface StartMessage {
  type: 'start';
  runId: number;
  dbPath: string;
  dataDir: string;
  resume: boolean;
  /** Module that registers the stage runners (tests swap in their own). */
  stagesModule?: string;
}

export type ToWorker = StartMessage | { type: 'cancel' };

export type FromWorker =
  | { type: 'progress'; progress: RunProgress }
  | { type: 'changed' }
  | { type: 'backend'; info: BackendInfo }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { type: 'done'; status: 'succeeded' | 'failed' | 'cancelled'; error?: string };
