/**
 * What the search measures: a `.tflite` file's latency on the target (through the host's device lab,
 * as the profile stage does, cached by the file's content hash so no file is measured twice on one
 * target with the same settings) and its top-1 predictions on a split in LiteRT (the exact file).
 */
import { cancelPoint } from '../../tf/cancel';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { BenchmarkProgress } from '../../../src-shared/contract/devices';
import { AppError } from '../../../src-shared/errors';
import type { BenchmarkSummary } from '../../../src-shared/types';
import type { SearchStageSpec } from '../../../src-shared/recipe';
import { BENCHMARK_SERVICE, type BenchmarkRequest } from '../../devices/pipeline-service';
import { loadTfliteModel } from '../../export/litert-node';
import { callHost } from '../../pipeline/host-call';
import type { Store } from '../../store';

export interface Latency {
  benchmarkId: number;
  /** The lab's figure: median of the trial means. */
  latencyUs: number;
  /**
   * The quietest trial: the smallest per-trial median run time. Other processes only ever add time,
   * so on a shared machine this is the steadiest estimate of what the file costs; the search ranks
   * and fits its latency model with it, and checks budgets and reports with the median.
   */
  bestUs: number;
  ciUs: [number, number] | null;
  cached: boolean;
}

type BenchSettings = SearchStageSpec['bench'];

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** A finished benchmark of the same file content on the same target with the same settings. */
export function cachedBenchmark(store: Store, modelSha256: string, target: string, s: BenchSettings): BenchmarkSummary | null {
  const rows = store.db
    .prepare(`SELECT id FROM benchmarks WHERE model_sha256 = ? AND target = ? AND status = 'succeeded' AND latency_us IS NOT NULL ORDER BY id DESC`)
    .all(modelSha256, target) as { id: number }[];
  for (const { id } of rows) {
    const b = store.benchmarks.get(id);
    const c = (b?.config ?? {}) as Record<string, unknown>;
    if (b && c.runs === s.runs && c.warmup === s.warmup && c.trials === s.trials && c.threads === s.threads) return b;
  }
  return null;
}

function quietestTrialUs(store: Store, b: BenchmarkSummary): number {
  const per = store.benchmarks.trials(b.id).map((t) => t.medianUs ?? t.meanUs).filter((v): v is number => typeof v === 'number' && v > 0);
  return per.length ? Math.min(...per) : b.latencyUs!;
}

const toLatency = (store: Store, b: BenchmarkSummary, cached: boolean): Latency => ({
  benchmarkId: b.id,
  latencyUs: b.latencyUs!,
  bestUs: quietestTrialUs(store, b),
  ciUs: b.ciLowUs !== null && b.ciHighUs !== null ? [b.ciLowUs, b.ciHighUs] : null,
  cached,
});

/**
 * Latency of `file` on `target`: from the cache (unless `fresh`), or measured by the host's lab. A failed benchmark
 * (phone unplugged, runner missing…) stops the search with the lab's message and says how to go on.
 */
export async function measureLatency(
  ctx: { store: Store; signal: AbortSignal },
  file: string,
  artifactId: number | null,
  target: string,
  s: BenchSettings,
  onProgress?: (message: string, fraction: number) => void,
  fresh = false,
): Promise<Latency> {
  // A cancel that came during the work before (a validation pass never yields) must not start a
  // whole benchmark on the target: check before asking the lab (the IPC cancel is not read yet).
  if (ctx.signal.aborted) throw new AppError('CANCELLED', 'Cancelled.');
  cancelPoint();
  const hit = fresh ? null : cachedBenchmark(ctx.store, sha256(file), target, s);
  if (hit) return toLatency(ctx.store, hit, true);
  const req: BenchmarkRequest = { modelPath: file, artifactId, targets: [target], options: { runs: s.runs, warmup: s.warmup, trials: s.trials, threads: s.threads } };
  // One signal per request, linked to the run's: callHost never removes its abort listener, and a search makes many requests.
  const link = new AbortController();
  const relay = () => link.abort();
  ctx.signal.addEventListener('abort', relay, { once: true });
  let b: BenchmarkSummary;
  try {
    [b] = await callHost<BenchmarkSummary[]>(BENCHMARK_SERVICE, req, {
      signal: link.signal,
      onProgress: (raw) => {
        const p = raw as BenchmarkProgress;
        onProgress?.(p.message ?? p.status, p.fraction ?? 0);
      },
    });
  } finally {
    ctx.signal.removeEventListener('abort', relay);
  }
  if (ctx.signal.aborted) throw new AppError('CANCELLED', 'Cancelled.');
  if (b.status !== 'succeeded' || b.latencyUs === null) {
    throw new AppError(
      'SEARCH_BENCHMARK_FAILED',
      `The benchmark on ${target === 'host' ? 'this computer' : target} ${b.status === 'cancelled' ? 'was cancelled' : 'failed'}: ${b.error ?? 'no latency was reported'}. Fix that, then resume the run: the candidates finished so far are kept and will not be trained or measured again.`,
      { benchmarkId: b.id },
    );
  }
  return toLatency(ctx.store, b, false);
}

/** Top-1 class of every sample of `split` from the .tflite at `file` (float input), in LiteRT on this computer. */
export async function tflitePredictions(file: string, split: { x: Float32Array; n: number; sampleShape: number[] }, signal?: AbortSignal): Promise<Int32Array> {
  const model = await loadTfliteModel(file);
  try {
    const per = split.sampleShape.reduce((a, b) => a * b, 1);
    const out = new Int32Array(split.n);
    for (let i = 0; i < split.n; i++) {
      if (signal?.aborted) throw new AppError('CANCELLED', 'Cancelled.');
      cancelPoint();
      const [y] = await model.run([split.x.subarray(i * per, (i + 1) * per)]);
      let best = 0;
      for (let j = 1; j < y.length; j++) if (y[j] > y[best]) best = j;
      out[i] = best;
    }
    return out;
  } finally {
    model.close();
  }
}

export function agreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return a.length ? same / a.length : 0;
}
