/**
 * A place a model can be benchmarked: an Android phone over ADB, or "This computer" (LiteRT on the
 * desktop, src-main/devices/host-runner.ts). The lab queues jobs per target, stores results and
 * computes the statistics; a target only runs trials and reports what it measured.
 */
import type { z } from 'zod';
import { benchOptionsSchema } from '../../src-shared/contract/devices';
import type { LatencyStats, PeakMemKind } from '../../src-shared/types';
import type { AppError } from '../../src-shared/errors';
import type { OpProfileRow } from '../store';

/** Options of one job; the schema (with defaults and limits) is in the contract. */
export type BenchOptions = z.output<typeof benchOptionsSchema>;

export interface TargetJob {
  benchmarkId: number;
  modelPath: string;
  modelSha256: string;
  modelBytes: number;
  options: BenchOptions;
}

export interface TrialMeasurement {
  stats: LatencyStats;
  cooldownMs: number | null;
  cooldownTimedOut: boolean;
  tempBeforeC: number | null;
  tempAfterC: number | null;
}

export interface TargetResult {
  trials: TrialMeasurement[];
  runnerSha256: string | null;
  runnerVersion: string | null;
  /** A peak memory figure, MiB, of the kind `peakMemKind` names (never a delta from start). */
  peakMemMb: number | null;
  peakMemKind?: PeakMemKind | null;
  /** Sampled from /proc/PID/status while it ran. */
  vmHwmKb: number | null;
  vmRssKb: number | null;
  /** Effective CPU affinity read back (`Cpus_allowed_list`). */
  affinity: string | null;
  ops: OpProfileRow[];
  /** Anything else worth keeping (delegation, requested mask, model size…), stored in stats_json. */
  extra: Record<string, unknown>;
  conditionsBefore: { thermal: unknown; battery: unknown } | null;
  conditionsAfter: { thermal: unknown; battery: unknown } | null;
  rawOutput: string;
}

export interface TargetRunContext {
  signal: AbortSignal;
  progress(p: { phase: string; message: string; fraction?: number | null; trial?: number }): void;
}

export interface BenchmarkTarget {
  /** `host` or the ADB serial. */
  readonly key: string;
  readonly kind: 'android' | 'host';
  /** Store id of the device row this target's benchmarks belong to. */
  deviceId(): number;
  run(job: TargetJob, ctx: TargetRunContext): Promise<TargetResult>;
}

/** A failure that keeps what was measured before it (stored with the failed benchmark). */
export class BenchmarkFailure extends Error {
  constructor(
    readonly error: AppError,
    readonly partial: Partial<TargetResult>,
  ) {
    super(error.message);
  }
}

export const defaultBenchOptions: BenchOptions = benchOptionsSchema.parse({});
