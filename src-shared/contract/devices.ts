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

export type LiveState = 'device' | 'unauthorized' | 'authorizing' | 'connecting' | 'offline' | 'absent' | 'emulator' | 'unknown' | 'ready' | 'in-use';

// ---- device sources (issue 19): the local ADB server, remote ADB servers, DeviceFarmer STF farms ----

export type SourceKind = 'local' | 'adb' | 'stf';

/** `host:port` or `[ipv6]:port` → parts; null when it is not one. */
export function parseHostPort(s: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)):(\d{1,5})$/.exec(s.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2], port };
}

const label = z.string().trim().max(60, 'must be at most 60 characters').optional();
export const hostPortSchema = z
  .string()
  .trim()
  .min(1, 'give the ADB server as host:port, e.g. 127.0.0.1:5038')
  .max(260)
  .refine((s) => parseHostPort(s) !== null, { message: 'must be host:port (e.g. 127.0.0.1:5038 or lab-3.example.org:5037) with a port from 1 to 65535' });
export const stfUrlSchema = z
  .string()
  .trim()
  .max(2000)
  .refine((s) => /^https?:\/\/[^\s/]+/.test(s) && URL.canParse(s), { message: 'must be the farm\'s web address, e.g. https://stf.example.org' });

/** What the user adds in Settings → Device sources. */
export const sourceInputSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('adb'), label, address: hostPortSchema }),
  z.object({ kind: z.literal('stf'), label, url: stfUrlSchema, token: z.string().trim().min(8, 'paste the access token from STF\'s Settings → Keys').max(1000) }),
]);
export type SourceInput = z.input<typeof sourceInputSchema>;

/** A source as stored in settings (`devices.sources`). The local ADB server is always there and not stored. */
export type SourceConfig = { id: string; kind: 'adb'; label: string; address: string } | { id: string; kind: 'stf'; label: string; url: string; token: string };

/** A source now (never the STF token). */
export interface SourceStatus {
  id: string;
  kind: SourceKind;
  label: string;
  /** host:port of the ADB server, or the farm's URL. */
  address: string;
  state: 'connected' | 'connecting' | 'unreachable';
  /** Why it is unreachable, in words. */
  message: string | null;
  devices: number;
}

/** A target as the Devices page shows it: state, what to do, facts, conditions, runner. */
export interface LiveDevice {
  key: string;
  kind: 'android' | 'host';
  label: string;
  state: LiveState;
  /** Where the device comes from (null for this computer). */
  source: { id: string; kind: SourceKind; label: string } | null;
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
  'sources.list': method<SourceStatus[]>()(none, 'Device sources: the local ADB server, remote ADB servers and device farms, with their state.'),
  'sources.add': method<SourceStatus[]>()(sourceInputSchema, 'Add a remote ADB server (host:port, e.g. an SSH-tunnelled lab machine) or a DeviceFarmer STF farm (URL + access token); kept in settings.'),
  'sources.remove': method<SourceStatus[]>()(z.object({ id: z.string().min(1).max(300) }), 'Remove a device source (its devices stay in the history).'),
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
  'sources.status': event<SourceStatus[]>('A device source connected, went away or was added or removed.'),
  'runners.progress': event<{ abi: string; bytes: number; total: number | null }>('Runner download progress.'),
} as const;
