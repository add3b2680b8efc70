/**
 * "This computer" as a profiling target: runs a `.tflite` in LiteRT (WebAssembly, CPU) with warm-up
 * and N timed runs, and reports the statistics TFLite's benchmark_model prints on a phone (init time,
 * first inference, warm-up mean, mean, std, min, max, p5, median, p95) plus p90/p99 from its samples.
 * Results go into the same benchmarks table as phone runs, the host described as a device (kind 'host'),
 * through the device lab's queue: host-target.ts is the lab's `BenchmarkTarget` for this computer.
 *
 * Timing is wall-clock around `run()`, which includes copying the input into the runtime and the
 * output back (as benchmark_model does not): on small models that copy is a visible share.
 */
import { cpus, totalmem, type as osType, release, arch } from 'node:os';
import { AppError } from '../../src-shared/errors';
import type { DeviceSummary, LatencyStats } from '../../src-shared/types';
import { loadLiteRt, loadTfliteModel, type LiteRtArray } from '../export/litert-node';
import type { Store } from '../store';

export const HOST_SERIAL = 'host';

export interface HostFacts {
  os: string;
  arch: string;
  cpu: string;
  cores: number;
  ramBytes: number;
  node: string;
  runtime: string;
}

export async function describeHost(): Promise<HostFacts> {
  const { info } = await loadLiteRt();
  const c = cpus();
  return {
    os: `${osType()} ${release()}`,
    arch: arch(),
    cpu: c[0]?.model?.trim() || 'unknown CPU',
    cores: c.length,
    ramBytes: totalmem(),
    node: process.versions.node,
    runtime: `LiteRT ${info.build.replace(/\.js$/, '')} (single-threaded WebAssembly)`,
  };
}

/** Records (or refreshes) this computer in the devices table and returns it. */
export async function hostDevice(store: Store): Promise<DeviceSummary> {
  const f = await describeHost();
  const id = store.devices.upsert(HOST_SERIAL, 'host', {
    manufacturer: null,
    model: `This computer (${f.cpu})`,
    abis: [f.arch],
    soc: f.cpu,
    ramBytes: f.ramBytes,
    facts: { ...f },
  });
  return store.devices.get(id)!;
}

/** Deterministic input for timing: values in [0, 1) (contents do not change the work done). */
function inputsFor(model: { inputs: readonly { dtype: string; shape: number[] }[] }): LiteRtArray[] {
  return model.inputs.map((t) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.dtype === 'float32') return Float32Array.from({ length: n }, (_, i) => ((i * 2654435761) % 1000) / 1000);
    if (t.dtype === 'int32') return new Int32Array(n);
    return new Uint8Array(n);
  });
}

/** One inference with given (or generated) inputs. */
export async function runOnHost(path: string, inputs?: LiteRtArray[]): Promise<LiteRtArray[]> {
  const model = await loadTfliteModel(path);
  try {
    return await model.run(inputs ?? inputsFor(model));
  } finally {
    model.close();
  }
}

/** Linear-interpolated percentile of sorted values (q in 0..100). */
export function percentile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  const pos = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function latencyStats(samplesUs: readonly number[], extra: { initMs: number | null; firstInferenceUs: number | null; warmupMeanUs: number | null }): LatencyStats {
  if (!samplesUs.length) throw new AppError('INVALID_ARGS', 'No timed runs: ask for at least one run.');
  const sorted = [...samplesUs].sort((a, b) => a - b);
  const mean = samplesUs.reduce((a, b) => a + b, 0) / samplesUs.length;
  const std = Math.sqrt(samplesUs.reduce((a, b) => a + (b - mean) ** 2, 0) / samplesUs.length);
  return {
    count: samplesUs.length,
    ...extra,
    meanUs: mean,
    stdUs: std,
    minUs: sorted[0],
    maxUs: sorted[sorted.length - 1],
    p5Us: percentile(sorted, 5),
    medianUs: percentile(sorted, 50),
    p90Us: percentile(sorted, 90),
    p95Us: percentile(sorted, 95),
    p99Us: percentile(sorted, 99),
  };
}

export interface HostBenchmarkOptions {
  warmup: number;
  runs: number;
  signal?: AbortSignal;
}

/** How long LiteRT runs at most without letting the event loop read a cancel, ms (outside the timed region). */
const YIELD_EVERY_MS = 5;

/** Loads the model, one first inference, `warmup` more, then `runs` timed runs. */
export async function benchmarkOnHost(path: string, opts: HostBenchmarkOptions): Promise<{ stats: LatencyStats; samplesUs: number[] }> {
  if (!Number.isInteger(opts.runs) || opts.runs < 1) throw new AppError('INVALID_ARGS', `The number of timed runs must be a whole number of at least 1 (got ${opts.runs}).`);
  if (!Number.isInteger(opts.warmup) || opts.warmup < 0) throw new AppError('INVALID_ARGS', `The number of warm-up runs must be a whole number of at least 0 (got ${opts.warmup}).`);
  const model = await loadTfliteModel(path);
  try {
    const inputs = inputsFor(model);
    const time = async () => {
      const t0 = performance.now();
      await model.run(inputs);
      return (performance.now() - t0) * 1000;
    };
    // LiteRT's run() resolves without ever giving the event loop a turn, so a cancel (an IPC message,
    // a click, a timer) would only be read after the last run: hand it a turn, between two timed runs,
    // at least every YIELD_EVERY_MS.
    let lastYield = performance.now();
    const checkCancel = async () => {
      if (performance.now() - lastYield >= YIELD_EVERY_MS) {
        await new Promise<void>((r) => setImmediate(r));
        lastYield = performance.now();
      }
      if (opts.signal?.aborted) throw new AppError('CANCELLED', 'The benchmark was cancelled.');
    };
    const firstInferenceUs = await time();
    const warm: number[] = [];
    for (let i = 0; i < opts.warmup; i++) {
      await checkCancel();
      warm.push(await time());
    }
    const samplesUs: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      await checkCancel();
      samplesUs.push(await time());
    }
    const warmupMeanUs = warm.length ? warm.reduce((a, b) => a + b, 0) / warm.length : null;
    return { stats: latencyStats(samplesUs, { initMs: model.initMs, firstInferenceUs, warmupMeanUs }), samplesUs };
  } finally {
    model.close();
  }
}
