/**
 * Issue 5 benchmarks: export time of a ~1M-parameter model (target ≤ 1 s), full-INT8 / FP32 file size
 * of the reference CNN (target ≤ 0.27), and host (LiteRT, this computer) latency of the INT8 file
 * against the FP32 one on the reference CNN, printed as a ratio.
 * Run: npm run bench -- export
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { calibrateMinMax } from '../src-main/compress/quantize/minmax';
import { readFashionMnist } from '../src-main/data';
import { benchmarkOnHost } from '../src-main/devices/host-runner';
import { exportTflite } from '../src-main/export/service';
import { buildTemplate, summarizeModel } from '../src-main/models';
import { initBackend } from '../src-main/tf';
import { recordResult } from './results';

const started = performance.now();
const { info } = await initBackend();
const dir = mkdtempSync(path.join(tmpdir(), 'pb-export-bench-'));
const raw = readFashionMnist();
const CAL = 256;
const cal = { x: Float32Array.from(raw.train.pixels.subarray(0, CAL * 784), (v) => v / 255), n: CAL, sampleShape: [28, 28, 1] };

// ~1M parameters: the LeNet-style CNN with a 640-unit hidden layer.
const big = buildTemplate({ template: 'lenet', inputShape: [28, 28, 1], numClasses: 10, dense: [640], seed: 1 });
const bigParams = summarizeModel(big).totals.params;
const bigQuant = calibrateMinMax(big, cal).params;
const time = (fn: () => void, repeats = 5) => {
  fn(); // first call pays for JIT warm-up
  const t: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[Math.floor(repeats / 2)];
};
const exportMsFp32 = time(() => exportTflite(big, { precision: 'fp32', outDir: dir }));
const exportMsInt8 = time(() => exportTflite(big, { precision: 'int8', quant: bigQuant, outDir: dir }));

// The reference CNN (issue 3): conv3×3(32)-pool-conv3×3(64)-pool-dense(128)-dense(10).
const ref = buildTemplate({ template: 'lenet', inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
const refQuant = calibrateMinMax(ref, cal).params;
const fp32 = exportTflite(ref, { precision: 'fp32', outDir: dir });
const int8 = exportTflite(ref, { precision: 'int8', quant: refQuant, outDir: dir });
const fp16 = exportTflite(ref, { precision: 'fp16', outDir: dir });
const dyn = exportTflite(ref, { precision: 'int8-dynamic', outDir: dir });
const RUNS = 300;
const WARMUP = 30;
const hostFp32 = await benchmarkOnHost(fp32.path, { warmup: WARMUP, runs: RUNS });
const hostInt8 = await benchmarkOnHost(int8.path, { warmup: WARMUP, runs: RUNS });
rmSync(dir, { recursive: true, force: true });

recordResult('export', {
  figures: {
    bigModelParams: bigParams,
    exportMsFp32: Number(exportMsFp32.toFixed(1)),
    exportMsInt8: Number(exportMsInt8.toFixed(1)),
    refCnnFp32Bytes: fp32.bytes.length,
    refCnnFp16Bytes: fp16.bytes.length,
    refCnnDynamicBytes: dyn.bytes.length,
    refCnnInt8Bytes: int8.bytes.length,
    int8OverFp32Size: Number((int8.bytes.length / fp32.bytes.length).toFixed(4)),
    hostFp32MedianUs: Number(hostFp32.stats.medianUs!.toFixed(1)),
    hostInt8MedianUs: Number(hostInt8.stats.medianUs!.toFixed(1)),
    hostInt8OverFp32Latency: Number((hostInt8.stats.medianUs! / hostFp32.stats.medianUs!).toFixed(3)),
  },
  targets: { exportMsFp32: '≤ 1000', exportMsInt8: '≤ 1000', int8OverFp32Size: '≤ 0.27' },
  conditions: {
    backend: info.name,
    exportTiming: 'median of 5 after one warm-up call; int8 excludes calibration',
    calibrationSamples: CAL,
    hostRuntime: 'LiteRT wasm, 1 thread, wall-clock per run() incl. input/output copies',
    hostRuns: RUNS,
    hostWarmup: WARMUP,
  },
  wallTimeS: Number(((performance.now() - started) / 1000).toFixed(1)),
});
