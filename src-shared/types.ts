/** Domain types shared by the UI and the backend. Plain data only (JSON-serialisable). */

/** Milliseconds since the Unix epoch. */
export type Millis = number;

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
export type StageStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

export interface BackendInfo {
  /** `tensorflow` (tfjs-node), `wasm`, or `cpu` (pure JS, slow). `null` before the engine first loads. */
  name: string | null;
  threads: number | null;
  /** Why a faster backend is not in use, in words. */
  note?: string;
  /** Which backend runs and why, in one short sentence for the status bar. */
  reason?: string;
}

export interface AdbStatus {
  state: 'unknown' | 'ready' | 'missing' | 'not-running' | 'error';
  version?: string;
  message?: string;
  serverPort?: number;
}

export interface AppStatus {
  version: string;
  transport: 'electron' | 'websocket';
  /** Native file dialogs exist only in the desktop app; the browser offers path entry and upload. */
  nativeDialogs: boolean;
  backend: BackendInfo;
  adb: AdbStatus;
  dbPath: string;
  dataDir: string;
  platform: string;
}

export interface RunSummary {
  id: number;
  name: string;
  status: RunStatus;
  seed: number;
  datasetId: number | null;
  recipeHash: string;
  createdAt: Millis;
  startedAt: Millis | null;
  finishedAt: Millis | null;
  backend: string | null;
  backendThreads: number | null;
  appVersion: string;
  error: string | null;
  stageCount: number;
  artifactCount: number;
  /** Who queued it (Settings name or OS user) and on which machine; null before this was recorded. */
  madeBy?: string | null;
  machine?: string | null;
}

export interface StageRow {
  id: number;
  runId: number;
  index: number;
  kind: string;
  status: StageStatus;
  params: unknown;
  metrics: Record<string, unknown> | null;
  curves: Record<string, number[]> | null;
  startedAt: Millis | null;
  finishedAt: Millis | null;
  durationMs: number | null;
  error: string | null;
}

export type ArtifactFormat = 'tfjs-layers' | 'tflite';
export type Precision = 'fp32' | 'fp16' | 'int8-dynamic' | 'int8' | 'mixed';

export interface ArtifactSummary {
  id: number;
  runId: number | null;
  stageId: number | null;
  parentId: number | null;
  name: string;
  format: ArtifactFormat;
  path: string;
  contentHash: string;
  bytes: number;
  gzipBytes: number | null;
  params: number | null;
  nonzeroParams: number | null;
  sparsity: number | null;
  precision: Precision | null;
  macs: number | null;
  metrics: Record<string, unknown> | null;
  createdAt: Millis;
}

export interface RunDetail extends RunSummary {
  recipe: unknown;
  stages: StageRow[];
  artifacts: ArtifactSummary[];
}

export interface DatasetSummary {
  id: number;
  name: string;
  kind: string;
  source: string;
  contentHash: string;
  classes: string[];
  counts: number[];
  inputShape: number[];
  createdAt: Millis;
}

export type DeviceKind = 'android' | 'host';

export interface DeviceSummary {
  id: number;
  serial: string;
  kind: DeviceKind;
  manufacturer: string | null;
  model: string | null;
  androidVersion: string | null;
  sdk: number | null;
  abis: string[];
  soc: string | null;
  ramBytes: number | null;
  facts: Record<string, unknown>;
  firstSeen: Millis;
  lastSeen: Millis;
}

export type BenchmarkStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface BenchmarkSummary {
  id: number;
  artifactId: number | null;
  deviceId: number;
  status: BenchmarkStatus;
  error: string | null;
  config: Record<string, unknown>;
  runnerSha256: string | null;
  /** Median of trial means, microseconds. */
  latencyUs: number | null;
  ciLowUs: number | null;
  ciHighUs: number | null;
  cv: number | null;
  initMs: number | null;
  /** A peak memory figure, MiB, of the kind `peakMemKind` says (never a delta). */
  peakMemMb: number | null;
  peakMemKind: PeakMemKind | null;
  /** What took the graph (may differ from the delegate asked for); null for rows stored before this was recorded. */
  ranDelegate: Delegate | null;
  /** Share of the model's nodes `ranDelegate` ran, 0..1, when the runner said. */
  delegatedShare: number | null;
  /** Probability that [ciLowUs, ciHighUs] covers the median (e.g. 0.9375 with 5 trials). */
  ciCoverage: number | null;
  /** `host` or the ADB serial it ran on. */
  target: string | null;
  /** Who asked for it and on which machine; null before this was recorded. */
  madeBy?: string | null;
  machine?: string | null;
  createdAt: Millis;
  finishedAt: Millis | null;
}

/**
 * Kinds of memory figure, never compared with each other: the runner's own peak report on a phone
 * (`Overall peak memory footprint … via periodic monitoring` / `Peak memory footprint`), and LiteRT's
 * WebAssembly heap on this computer. Sampled VmHWM (peak RSS) is kept separately (vmHwmKb).
 */
export type PeakMemKind = 'runner-peak' | 'runtime-heap';

export const PEAK_MEM_LABEL: Record<PeakMemKind, string> = {
  'runner-peak': "runner's peak footprint",
  'runtime-heap': 'LiteRT runtime heap',
};

export interface Page<T> {
  items: T[];
  total: number;
}

/**
 * Latency statistics of one benchmark trial, as TFLite's benchmark_model reports them (and as the
 * host runner computes them from its samples). Timings in microseconds unless named otherwise.
 */
export interface LatencyStats {
  /** Timed runs the runner measured (null when its output gave no count). */
  count: number | null;
  initMs: number | null;
  firstInferenceUs: number | null;
  warmupMeanUs: number | null;
  meanUs: number;
  stdUs: number | null;
  minUs: number | null;
  maxUs: number | null;
  p5Us: number | null;
  medianUs: number | null;
  p90Us?: number | null;
  p95Us: number | null;
  p99Us?: number | null;
  /** The warm-up runs' own statistics, when the runner printed them. */
  warmup?: { count: number; meanUs: number | null; stdUs: number | null; minUs: number | null; maxUs: number | null } | null;
}

export type Delegate = 'cpu' | 'xnnpack' | 'gpu' | 'nnapi';

/** One artifact, optionally with one of its benchmarks: a row of the Compare view. */
export interface CompareRow {
  artifactId: number;
  artifactName: string;
  runId: number | null;
  runName: string | null;
  parentId: number | null;
  format: ArtifactFormat;
  precision: Precision | null;
  bytes: number;
  gzipBytes: number | null;
  params: number | null;
  nonzeroParams: number | null;
  sparsity: number | null;
  macs: number | null;
  accuracy: number | null;
  deployedAccuracy: number | null;
  benchmarkId: number | null;
  deviceId: number | null;
  deviceName: string | null;
  threads: number | null;
  delegate: Delegate | null;
  /** Share of nodes the delegate in `delegate` ran, when the runner said (0..1). */
  delegatedShare: number | null;
  /** Median of the benchmark's trial means, µs. */
  latencyUs: number | null;
  ciLowUs: number | null;
  ciHighUs: number | null;
  /** Coverage of [ciLowUs, ciHighUs] (null for rows stored before it was recorded). */
  ciCoverage: number | null;
  cv: number | null;
  peakMemMb: number | null;
  peakMemKind: PeakMemKind | null;
  /** Who made the benchmark (else the run) and on which machine; null before this was recorded. */
  madeBy?: string | null;
  machine?: string | null;
  /** Label of the device source the phone came from (null without a benchmark). */
  deviceSource?: string | null;
  measuredAt: Millis;
}

export type TrendMetric = 'latencyUs' | 'peakMemMb' | 'accuracy' | 'deployedAccuracy' | 'bytes' | 'gzipBytes';

export interface TrendPoint {
  at: Millis;
  value: number;
  /** The interval of the median, when the metric has one (latency); `coverage` says how sure it is. */
  low: number | null;
  high: number | null;
  coverage?: number | null;
  /** CV of trial means and number of trials (benchmark metrics). */
  cv?: number | null;
  trials?: number | null;
  /** Kind of a peak memory figure. */
  kind?: PeakMemKind | null;
  runId: number | null;
  artifactId: number;
  benchmarkId: number | null;
  /**
   * Against the previous point: `changed` (intervals apart, both steady), `no-change`, `too-noisy`
   * (too few trials or CV above the limit on either side: no judgement), `not-comparable` (memory
   * of different kinds); null for the first point and metrics without an interval.
   */
  change: 'changed' | 'no-change' | 'too-noisy' | 'not-comparable' | null;
  /** `change === 'changed'`. */
  flagged: boolean;
}

/** The values Compare and Trends can filter on, as they occur in the history. */
export interface CompareFacets {
  people: string[];
  machines: string[];
  deviceSources: string[];
  /** Phone models measured on more than one device (a trend can follow the model across labs). */
  sharedModels: string[];
}

/** Settings → Team: where the shared history lives and who this person is. */
export interface TeamSettings {
  /** Saved in <data>/team.json (password shown as ***), or null. */
  databaseUrl: string | null;
  /** POCKETBENCH_DATABASE_URL is set: it wins over the saved URL. */
  databaseFromEnv: boolean;
  artifactsDir: string | null;
  /** The Settings name, null when the OS user is used. */
  userName: string | null;
  /** What this process records: the person and the machine. */
  madeBy: string;
  machine: string;
  /** The history in use now: 'sqlite' or 'postgres', and where (no password). */
  active: 'sqlite' | 'postgres';
  activeLocation: string;
}

export interface Lineage {
  runName: string;
  artifactName: string;
  deviceId: number | null;
  deviceName: string | null;
  points: number;
  lastAt: Millis;
}
