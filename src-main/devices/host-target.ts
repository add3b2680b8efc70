/**
 * "This computer" as a device-lab `BenchmarkTarget` (key `host`): the lab queues jobs and stores and
 * summarises results as for a phone; this target runs each trial in LiteRT on the desktop
 * (host-runner.ts). LiteRT here is single-threaded WebAssembly on the CPU: the thread count, GPU,
 * NNAPI, core pinning and cool-down options do not apply and are recorded as such.
 */
import { AppError } from '../../src-shared/errors';
import { MIB } from '../../src-shared/format';
import { liteRtHeapBytes } from '../export/litert-node';
import type { Store } from '../store';
import type { LatencyStats } from '../../src-shared/types';
import { benchmarkOnHost, hostDevice, HOST_SERIAL, describeHost, type HostFacts } from './host-runner';
import { BenchmarkFailure, type BenchmarkTarget, type TargetJob, type TargetResult, type TargetRunContext, type TrialMeasurement } from './target';

/**
 * Options a job asked for that LiteRT on this computer does not apply (single-threaded WebAssembly
 * on the CPU, no delegates, no core pinning, no thermal cool-down): named, never silently dropped.
 */
export function notAppliedOnHost(o: TargetJob['options']): string[] {
  const out: string[] = [];
  if (o.threads !== 1) out.push(`threads (${o.threads} asked; LiteRT here runs on 1 thread)`);
  if (o.gpu) out.push('GPU delegate');
  if (o.nnapi) out.push('NNAPI delegate');
  if (!o.xnnpack) out.push('XNNPACK off (LiteRT here always uses its CPU kernels)');
  if (o.opProfiling) out.push('per-operator times');
  if (o.pinBigCores) out.push('core pinning');
  if (o.cooldownMaxWaitS > 0) out.push('thermal cool-down');
  return out;
}

/** One trial in LiteRT, and the memory figures of the process that ran it. */
export interface HostTrial {
  stats: LatencyStats;
  facts: HostFacts;
  heapBytes: number;
  maxRssKb: number;
  rssKb: number;
}

/** One trial in this process (a task worker in the app, see devices/index.ts; tests of the target itself). */
export async function hostTrial(path: string, o: { warmup: number; runs: number }, signal?: AbortSignal): Promise<HostTrial> {
  const { stats } = await benchmarkOnHost(path, { ...o, signal });
  return { stats, facts: await describeHost(), heapBytes: await liteRtHeapBytes(), maxRssKb: process.resourceUsage().maxRSS, rssKb: Math.round(process.memoryUsage().rss / 1024) };
}

export function createHostTarget(deps: {
  store: Store;
  /** Runs one trial (default: in this process); the app passes one that uses a task worker. */
  trial?: (path: string, o: { warmup: number; runs: number }, signal: AbortSignal) => Promise<HostTrial>;
  /** Records this computer in the devices table (default: in this process). */
  describe?: () => Promise<unknown>;
}): BenchmarkTarget {
  const trial = deps.trial ?? hostTrial;
  let deviceId: number | null = null;
  // Registered synchronously so the lab can list it; facts are filled in on first run.
  const ensureRow = () => (deviceId ??= deps.store.devices.upsert(HOST_SERIAL, 'host', { model: 'This computer' }));
  return {
    key: HOST_SERIAL,
    kind: 'host',
    deviceId: ensureRow,
    async run(job: TargetJob, ctx: TargetRunContext): Promise<TargetResult> {
      ensureRow();
      await (deps.describe ? deps.describe() : hostDevice(deps.store));
      const { options } = job;
      const trials: TrialMeasurement[] = [];
      const lines: string[] = [];
      let last: HostTrial | null = null;
      try {
        for (let t = 0; t < options.trials; t++) {
          if (ctx.signal.aborted) throw new AppError('CANCELLED', 'The benchmark was cancelled.');
          ctx.progress({ phase: 'run', message: `Trial ${t + 1} of ${options.trials} on this computer`, fraction: t / options.trials, trial: t + 1 });
          last = await trial(job.modelPath, { warmup: options.warmup, runs: options.runs }, ctx.signal);
          const { stats } = last;
          trials.push({ stats, cooldownMs: null, cooldownTimedOut: false, tempBeforeC: null, tempAfterC: null });
          lines.push(`trial ${t + 1}: count=${stats.count} init=${stats.initMs?.toFixed(2)}ms first=${stats.firstInferenceUs?.toFixed(0)}us mean=${stats.meanUs.toFixed(1)}us median=${stats.medianUs?.toFixed(1)}us p95=${stats.p95Us?.toFixed(1)}us`);
        }
      } catch (err) {
        const error = err instanceof AppError ? err : new AppError('INTERNAL', `LiteRT on this computer failed: ${(err as Error).message}`);
        throw new BenchmarkFailure(error, { trials, rawOutput: lines.join('\n') });
      }
      const facts = last?.facts ?? (await describeHost());
      return {
        trials,
        runnerSha256: null,
        runnerVersion: facts.runtime,
        // The runtime's WebAssembly heap only grows, so its size is the peak of everything it ran.
        peakMemMb: (last?.heapBytes ?? 0) / MIB,
        peakMemKind: 'runtime-heap',
        vmHwmKb: last?.maxRssKb ?? null,
        vmRssKb: last?.rssKb ?? null,
        affinity: null,
        ops: [],
        extra: {
          runtime: facts.runtime,
          cpu: facts.cpu,
          threads: 1,
          // Full statistics of every trial (p90/p99 and warm-up mean included), as measured.
          trialStats: trials.map((t) => t.stats),
          delegate: 'cpu',
          ran: { requested: 'cpu', delegate: 'cpu', share: null, applied: null, reason: null, unsupported: [] },
          // Only the options this target applies are used; the others, if asked for, are named here.
          notApplied: notAppliedOnHost(options),
          peakMemory: 'LiteRT WebAssembly heap (MiB); the peak RSS of the process that ran it (not the model alone) in vmHwmKb',
        },
        conditionsBefore: null,
        conditionsAfter: null,
        rawOutput: lines.join('\n'),
      };
    },
  };
}
