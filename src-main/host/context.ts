/** What every area's handler factory receives from the host. */
import type { AppStatus } from '../../src-shared/types';
import type { SpawnWorker } from '../pipeline/worker-process';
import type { TaskPool } from '../tasks/pool';
import type { TaskName } from '../tasks/registry';
import type { Store } from '../store';
import type { EventBus } from './events';
import type { AppPaths } from './paths';

export interface CallContext {
  transport: 'electron' | 'websocket';
}

export interface FileDialogOptions {
  title?: string;
  directory: boolean;
  multiple: boolean;
  save: boolean;
  defaultName?: string;
  filters?: { name: string; extensions: string[] }[];
}

export interface HostOptions {
  transport: 'electron' | 'websocket';
  /** Base data folder (Electron's userData); env vars still win. */
  dataDir?: string;
  /** Native file dialog, only in the desktop app. */
  pickFiles?: (opts: FileDialogOptions) => Promise<string[]>;
  /** Reveal a file in the system file manager (desktop app only). */
  showInFolder?: (path: string) => void;
  /** Load the compute backend in the background at start (default true). */
  warmBackend?: boolean;
  /** Folder of the built main bundles (out/main), where the pipeline worker entry lives. */
  builtDir?: string;
  /** How to start a pipeline worker (the desktop app uses Electron's utilityProcess). */
  spawnWorker?: SpawnWorker;
  /** Module registering pipeline stage runners (tests swap in their own). */
  stagesModule?: string;
  /** Time limits of task workers' requests, replacing the defaults in tasks/pool.ts (tests). */
  taskLimitsMs?: Partial<Record<TaskName, number>>;
}

export interface HostDeps {
  store: Store;
  bus: EventBus;
  paths: AppPaths;
  opts: HostOptions;
  /** CPU-heavy work (model building, step timing, file parsing, LiteRT) runs here, never in the host process. */
  tasks: TaskPool;
  status(): AppStatus;
  /** Areas update the status bar (compute backend, ADB state); every UI is told. */
  patchStatus(patch: Partial<Pick<AppStatus, 'backend' | 'adb'>>): void;
  /** Cleanup to run when the host closes (trackers, workers, servers). */
  onClose(fn: () => void | Promise<void>): void;
  /** Work to finish before a run's rows go (the pipeline stops its worker and drops its checkpoints). */
  onRunDelete(fn: (runId: number) => void | Promise<void>): void;
  /** Runs the `onRunDelete` hooks. */
  beforeRunDelete(runId: number): Promise<void>;
}
