/** Contract area: devices (device lab, runners, benchmarks). Handlers: src-main/devices/handlers.ts. */
import { z } from 'zod';
import { event, method } from '../rpc';
import type { BenchmarkSummary, DeviceSummary } from '../types';
import { id, none } from './common';

const int = (min: number, max: number) => z.number().int(`must be a whole number from ${min} to ${max}`).min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

/** Options of one benchmark job (the same on every target). */
export const benchOptionsSchema = z.object({
  threads: int(1, 16).default(4),
  runs: int(1, 100_000).default(50),
  warmup: int(0, 10_000).default(5),
  trials: int(1, 50).default(5),
  xnnpack: z.boolean().default(true),
  gpu: z.boolean().default(false),
  nnapi: z.boolean().default(false),
  opProfiling: z.boolean().default(false),
  peakMemory: z.boolean().default(true),
  pinBigCores: z.boolean().default(true),
  cooldownMaxTempC: z.number().min(20, 'must be at least 20 °C').max(95, 'must be at most 95 °C').default(45),
  cooldownMaxWaitS: int(0, 3600).default(60),
});
export type BenchOptionsInput = z.input<typeof benchOptionsSchema>;

export type LiveState = 'device' | 'unauthorized' | 'authorizing' | 'connecting' | 'offline' | 'absent' | 'emulator' | 'unknown' | 'ready';

/** A target as the Devices page shows it: state, what to do, facts, conditions, runner. */
export interface LiveDevice {
  key: string;
  kind: 'android' | 'host';
  label: string;
  state: LiveState;
  /** What the user should do, in words (accept the prompt, reconnect…); null when ready. */
  hint: string | null;
  device: DeviceSummary | null;
  batteryPct: number | null;
  charging: boolean | null;
  thermalStatus: string | null;
  maxTempC: number | null;
  /** Runner for this phone's ABI: null for the host. */
  runner: { abi: string | null; sha256: string | null; ready: boolean } | null;
  unavailable: string[];
  queued: number;
}

export interface RunnerInfo {
  abi: string;
  path: string | null;
  sha256: string | null;
  bytes: number | null;
  source: 'file' | 'download' | null;
  elfMachine: string | null;
  downloadable: boolean;
}

export interface QueueEntry {
  benchmarkId: number;
  target: string;
  modelName: string;
  status: 'queued' | 'running';
  phase: string | null;
  message: string | null;
  fraction: number | null;
}

export interface BenchmarkProgress extends QueueEntry {
  trial: number | null;
  trials: number;
}

/** One trial as stored: latency in microseconds, the cooldown before it, temperatures around it. */
export interface TrialInfo {
  idx: number;
  count?: number | null;
  meanUs?: number | null;
  stdUs?: number | null;
  minUs?: number | null;
  maxUs?: number | null;
  p5Us?: number | null;
  medianUs?: number | null;
  p95Us?: number | null;
  cooldownMs?: number | null;
  cooldownTimedOut?: boolean;
  tempBeforeC?: number | null;
  tempAfterC?: number | null;
  warmupCount?: number | null;
  warmupMeanUs?: number | null;
  warmupStdUs?: number | null;
  warmupMinUs?: number | null;
  warmupMaxUs?: number | null;
}

export interface BenchmarkDetail {
  summary: BenchmarkSummary;
  target: string | null;
  modelSha256: string | null;
  affinity: string | null;
  vmHwmKb: number | null;
  vmRssKb: number | null;
  /** Interval coverage, CV note, delegation, requested mask… */
  stats: Record<string, unknown> | null;
  trials: TrialInfo[];
  ops: { section: string; nodeType: string; nodeName?: string | null; count?: number | null; avgMs?: number | null; pct?: number | null; memKb?: number | null }[];
  batteryBefore: unknown;
  batteryAfter: unknown;
  thermalBefore: unknown;
  thermalAfter: unknown;
}

const serial = z.string().min(1).max(200);

export const devicesMethods = {
  'devices.live': method<LiveDevice[]>()(none, 'Targets now: attached phones with their state and what to do, and this computer. Starts ADB tracking.'),
  'devices.connect': method<{ serial: string }>()(
    z.object({ host: z.string().min(1).max(253).regex(/^[A-Za-z0-9.:\-\[\]]+$/, 'must be a host name or IP address'), port: int(1, 65535).default(5555) }),
    'Add a remote phone by address (adb connect HOST:PORT), e.g. from a device farm.',
  ),
  'devices.refreshFacts': method<DeviceSummary>()(z.object({ serial }), 'Read a phone\'s facts again (model, SoC, clusters, RAM, battery, thermal).'),
  'runners.list': method<RunnerInfo[]>()(none, 'The benchmark_model binary chosen for each ABI, with its SHA-256.'),
  'runners.set': method<RunnerInfo>()(z.object({ abi: z.string().min(1).max(20), path: z.string().min(1).max(4096) }), 'Use this file as benchmark_model for an ABI (checked: ELF for the right architecture).'),
  'runners.download': method<RunnerInfo>()(z.object({ abi: z.string().min(1).max(20) }), 'Download the official benchmark_model build for an ABI (needs internet; resumable). Installed only when its SHA-256 is pinned; another build is kept aside (RUNNER_UNPINNED, details.path) for the user to select deliberately.'),
  'benchmarks.start': method<{ benchmarkIds: number[] }>()(
    z
      .object({
        artifactId: id.optional(),
        path: z.string().min(1).max(4096).optional(),
        targets: z.array(serial).min(1, 'pick at least one device').max(50),
        options: benchOptionsSchema.prefault({}),
      })
      .refine((a) => a.artifactId !== undefined || a.path !== undefined, { message: 'give an artifact or a .tflite path', path: ['path'] }),
    'Queue a benchmark of one .tflite on one or more targets (one queue per device).',
  ),
  'benchmarks.cancel': method<{ cancelled: boolean }>()(z.object({ id }), 'Cancel a queued or running benchmark (stops the runner on the phone).'),
  'benchmarks.queue': method<QueueEntry[]>()(none, 'Benchmarks queued or running, per device.'),
  'benchmarks.get': method<BenchmarkDetail>()(z.object({ id }), 'One benchmark with its trials, op profile, conditions and statistics.'),
} as const;

export const devicesEvents = {
  'devices.live': event<LiveDevice[]>('A phone attached, detached, changed state or was re-read.'),
  'benchmark.progress': event<BenchmarkProgress>('A benchmark moved on (push, cooldown, trial) or finished.'),
  'runners.progress': event<{ abi: string; bytes: number; total: number | null }>('Runner download progress.'),
} as const;
