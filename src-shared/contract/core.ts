/** Core methods and events: status, history (runs, artifacts, datasets, devices, benchmarks), settings, files. */
import { z } from 'zod';
import { event, method } from '../rpc';
import type {
  AppStatus,
  ArtifactSummary,
  BenchmarkSummary,
  DatasetSummary,
  DeviceSummary,
  Page,
  RunDetail,
  RunSummary,
} from '../types';
import { id, none, paging } from './common';

export const coreMethods = {
  'app.status': method<AppStatus>()(none, 'Versions, compute backend, ADB state, database location.'),

  'runs.list': method<Page<RunSummary>>()(
    z.object({ ...paging, status: z.string().optional() }).optional().default({ limit: 100, offset: 0 }),
    'Runs, newest first.',
  ),
  'runs.get': method<RunDetail>()(z.object({ id }), 'One run with its stages and artifacts.'),
  'runs.report': method<{ filename: string; html: string }>()(z.object({ id }), 'The run as one self-contained HTML report (tables and static charts, no scripts).'),
  'runs.delete': method<{ deletedFiles: number }>()(z.object({ id }), 'Delete a run, its stages, artifacts and their files.'),

  'artifacts.list': method<Page<ArtifactSummary>>()(
    z.object({ ...paging, runId: id.optional() }).optional().default({ limit: 100, offset: 0 }),
    'Artifacts, newest first.',
  ),
  'artifacts.delete': method<{ deletedFiles: number }>()(z.object({ id }), 'Delete an artifact and its file.'),

  'datasets.list': method<DatasetSummary[]>()(none, 'Datasets known to the history.'),

  'devices.list': method<DeviceSummary[]>()(none, 'Devices seen so far, with their stored facts.'),

  'benchmarks.list': method<Page<BenchmarkSummary>>()(
    z
      .object({ ...paging, artifactId: id.optional(), deviceId: id.optional() })
      .optional()
      .default({ limit: 100, offset: 0 }),
    'Benchmarks, newest first.',
  ),

  'settings.get': method<Record<string, unknown>>()(none, 'All settings.'),
  'settings.set': method<Record<string, unknown>>()(
    z.object({ key: z.string().min(1).max(100).regex(/^[a-zA-Z0-9_.-]+$/), value: z.unknown() }),
    'Change one setting; returns all settings.',
  ),

  'store.backup': method<{ path: string; bytes: number }>()(
    z.object({ path: z.string().min(1).max(4096).optional() }).optional(),
    'Write a consistent copy of the history database (to the backups folder unless a path is given).',
  ),

  'files.pick': method<{ paths: string[] }>()(
    z.object({
      title: z.string().max(200).optional(),
      directory: z.boolean().default(false),
      multiple: z.boolean().default(false),
      save: z.boolean().default(false),
      defaultName: z.string().max(255).optional(),
      filters: z.array(z.object({ name: z.string().max(100), extensions: z.array(z.string().max(20)).max(20) })).max(10).optional(),
    }),
    'Native file dialog (desktop app only; the browser uses path entry and upload instead).',
  ),
  'artifacts.read': method<{ filename: string; base64: string; bytes: number; path: string }>()(
    z.object({ id }),
    'The bytes of one artifact for a download over the authenticated connection in browser mode: a .tflite as it is, a TF.js model folder (model.json + its weight files) as one .zip; at most 256 MiB.',
  ),
  'artifacts.saveAs': method<{ path: string; bytes: number }>()(
    z.object({ id, path: z.string().min(1).max(4096) }),
    'Copy an artifact file (a TF.js model folder as one .zip) to a path the user chose (the desktop save dialog).',
  ),
  'files.showInFolder': method<{ shown: boolean }>()(z.object({ path: z.string().min(1).max(4096) }), 'Show a file in the system file manager (desktop app only).'),
  'files.stat': method<{ path: string; exists: boolean; kind: 'file' | 'directory' | null; bytes: number | null }>()(
    z.object({ path: z.string().min(1).max(4096) }),
    'Check a path typed by the user.',
  ),
  'files.upload': method<{ path: string; bytes: number }>()(
    z.object({
      uploadId: z.string().regex(/^[a-zA-Z0-9_-]{6,64}$/, 'must be 6-64 letters, digits, _ or -'),
      relativePath: z.string().min(1).max(1024),
      base64: z.string().max(24 * 1024 * 1024),
      append: z.boolean().default(false),
    }),
    'Upload a file (or one chunk of it) from the browser into the app data folder; returns where it landed.',
  ),
} as const;

export const coreEvents = {
  'app.status': event<AppStatus>('The status bar changed (backend loaded, ADB state).'),
  'runs.changed': event<{ runId: number }>('A run was created, updated or deleted.'),
  'devices.changed': event<DeviceSummary[]>('Devices attached, detached or changed state.'),
} as const;

