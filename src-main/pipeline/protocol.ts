/** Messages between the pipeline service (main process) and the worker that runs a recipe. */
import type { ErrorInfo } from '../../src-shared/errors';
import type { BackendInfo } from '../../src-shared/types';
import type { RunProgress } from '../../src-shared/contract/pipeline';

export interface StartMessage {
  type: 'start';
  runId: number;
  /** The history: a SQLite file or a `postgres://` URL (then `localDbPath` holds this computer's settings). */
  dbPath: string;
  localDbPath?: string;
  dataDir: string;
  resume: boolean;
  /** Module that registers the stage runners (tests swap in their own). */
  stagesModule?: string;
}

/**
 * A stage asks the host process for a service it owns (the device lab: ADB lives in the host).
 * The host answers with `host-reply`, may stream `host-progress` first, and stops the work on
 * `host-cancel`. Services are registered in PipelineOptions.hostServices; see pipeline/host-call.ts.
 */
export type HostReply = { type: 'host-reply'; requestId: number; ok: true; result: unknown } | { type: 'host-reply'; requestId: number; ok: false; error: ErrorInfo };
export type HostProgress = { type: 'host-progress'; requestId: number; progress: unknown };

export type ToWorker = StartMessage | { type: 'cancel' } | HostReply | HostProgress;

export type FromWorker =
  | { type: 'progress'; progress: RunProgress }
  | { type: 'changed' }
  | { type: 'backend'; info: BackendInfo }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { type: 'done'; status: 'succeeded' | 'failed' | 'cancelled'; error?: string }
  | { type: 'host-request'; requestId: number; service: string; payload: unknown }
  | { type: 'host-cancel'; requestId: number }
  /** Sent every HEARTBEAT_MS while the worker's event loop runs (a stage stuck in a loop stops it). */
  | { type: 'heartbeat' };

export const HEARTBEAT_MS = 1000;
