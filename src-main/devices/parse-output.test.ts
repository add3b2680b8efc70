/**
 * The parser against verbatim outputs of real `benchmark_model` runs (fixtures/*.txt, each opening
 * with its source). The simulated runner's output is tested elsewhere; it is no substitute for these.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBenchmarkOutput, parseStatLine, runnerErrorMessage, stripPrefix } from './parse-output';

const fixture = (name: string) =>
  fs
    .readFileSync(path.join(__dirname, 'fixtures', name), 'utf8')
    .split('\n')
    .filter((l, i) => !(i < 2 && l.startsWith('# ')))
    .join('\n');

describe('benchmark_model output parser', () => {
  it('reads the current format with INFO prefixes, skips the initialization profile, and keeps node types with spaces (tabs, no [start])', () => {
    const r = parseBenchmarkOutput(fixture('arm-tc2-op-profiling.txt'));
    expect(r.initMs).toBeCloseTo(16.772);
    expect(r.firstInferenceUs).toBe(8781);
    expect(r.warmupMeanUs).toBeCloseTo(7514.93);
    expect(r.inferenceMeanUs).toBeCloseTo(7454.97);
    expect(r.warmup?.avg).toBeCloseTo(7514.93);
    expect(r.runs).toMatchObject({ count: 67, first: 7176, min: 6373, max: 7775, std: 256 });
    expect(r.runs?.avg).toBeCloseTo(7454.97);
    expect(r.modelSizeMb).toBeCloseTo(1.86664);
    expect(r.memory).toEqual({ initMb: 8.44922, overallMb: 10.8789, kind: 'delta' });
    // Only the regular runs' table: ModifyGraphWithDelegate belongs to initialization.
    expect(r.ops.map((o) => o.nodeType)).toEqual(['Convolution (NHWC, QU8) IGEMM', 'Convolution (NHWC, QU8) DWConv', 'Convolution (NHWC, QU8) GEMM']);
    expect(r.ops[0]).toEqual({
      section: 'run_order',
      nodeType: 'Convolution (NHWC, QU8) IGEMM',
      nodeName: 'Delegate/Convolution (NHWC, QU8) IGEMM:0',
      count: 1,
      avgMs: 0.278,
      pct: 3.783,
      memKb: 0,
    });
    expect(r.errors).toEqual([]);
  });

  it('reads the 2019 format: space-separated table with a [start] column, bracketed names, older average line', () => {
    const r = parseBenchmarkOutput(fixture('mobilenet-v2-space-table.txt'));
    expect(r.initMs).toBeCloseTo(1.892);
    expect(r.inferenceMeanUs).toBe(115062);
    expect(r.warmupMeanUs).toBeCloseTo(86184.3);
    expect(r.warmup?.count).toBe(6);
    expect(r.runs).toMatchObject({ count: 50, min: 88216, max: 129193, avg: 115062, std: 7678 });
    expect(r.ops).toHaveLength(4);
    expect(r.ops[1]).toEqual({
      section: 'run_order',
      nodeType: 'DEPTHWISE_CONV_2D',
      nodeName: 'MobilenetV2/expanded_conv/depthwise/Relu6',
      count: 1,
      avgMs: 3.726,
      pct: 3.243,
      memKb: 0,
    });
  });

  it('reads logcat threadtime prefixes, p5/median/p95 and the delegated share', () => {
    const r = parseBenchmarkOutput(fixture('logcat-yolo-p5-median.txt'));
    expect(r.initMs).toBeCloseTo(92.318);
    expect(r.runs).toMatchObject({ count: 25, p5: 140545, median: 141253, p95: 187533, avg: 145528 });
    expect(r.warmup).toMatchObject({ count: 3, median: 200386 });
    expect(r.delegations).toEqual([{ delegate: 'TfLiteXNNPackDelegate', replaced: 539, total: 548, partitions: 19 }]);
    expect(r.delegatedShare).toBeCloseTo(539 / 548);
    expect(r.modelSizeMb).toBeCloseTo(3.06409);
    expect(r.memory).toEqual({ initMb: 54.2852, overallMb: 73.4102, kind: 'delta' });
  });

  it('reads logcat "time" prefixes and numbers with exponents', () => {
    const r = parseBenchmarkOutput(fixture('logcat-time-exponent.txt'));
    expect(r.runs?.avg).toBe(2.71985e6);
    expect(r.inferenceMeanUs).toBe(2719850);
    expect(r.warmupMeanUs).toBe(2732150);
    expect(r.initMs).toBeCloseTo(458.883);
    // count=1 line: a single sample, its value is min, max and mean.
    expect(r.warmup).toMatchObject({ count: 1, curr: 2732148, avg: 2732148, median: 2732148 });
  });

  it('reads the older "Peak memory footprint" line', () => {
    const r = parseBenchmarkOutput(fixture('yolov5-peak-memory.txt'));
    expect(r.memory).toEqual({ initMb: 4.92969, overallMb: 138.809, kind: 'peak' });
    expect(r.initMs).toBeCloseTo(16.242);
    expect(r.runs?.count).toBe(50);
    expect(r.warmup).toBeNull();
  });

  it('reads periodic peak memory and VERBOSE delegate lines', () => {
    const r = parseBenchmarkOutput(fixture('periodic-monitoring-xnnpack.txt'));
    expect(r.peakMemMb).toBeCloseTo(93.2383);
    expect(r.delegatedShare).toBe(1);
    expect(r.runs?.count).toBe(1061);
    expect(r.warmup?.count).toBe(9);
  });

  it('reads the oldest "Average inference timings" order and takes the runs from the profiler\'s Timings line', () => {
    const r = parseBenchmarkOutput(fixture('tf-docs-old-average.txt'));
    expect(r.inferenceMeanUs).toBeCloseTo(79760.9);
    expect(r.warmupMeanUs).toBe(83235);
    expect(r.initMs).toBeCloseTo(38.467);
    expect(r.runs).toMatchObject({ count: 50, first: 79449, min: 77385, max: 88213, avg: 79732, std: 1929 });
    expect(r.runsSource).toBe('profiler');
    expect(r.problems).toEqual([]);
  });

  it('reads the TF 1.x stat_summarizer Timings line behind TF-logging prefixes', () => {
    const r = parseBenchmarkOutput(fixture('tf1-stat-summarizer-timings.txt'));
    expect(r.runs).toMatchObject({ count: 1000, first: 375, min: 14, max: 375, avg: 20.376, std: 12 });
    expect(r.inferenceMeanUs).toBeCloseTo(20.376);
  });

  it('reads the last of two benchmarks in one output, every statistic from its own lines, and skips the init profile\'s Timings', () => {
    const r = parseBenchmarkOutput(fixture('mcu-two-runs-init-profile.txt'));
    expect(r.initMs).toBeCloseTo(2.45);
    expect(r.inferenceMeanUs).toBeCloseTo(58.311);
    // The regular runs' stat line, not the profiler's total (avg 45.5) nor the init profile (count=1 curr=147).
    expect(r.runs).toMatchObject({ count: 2254, first: 85, min: 51, max: 85, avg: 58.311, std: 2 });
    expect(r.runsSource).toBe('benchmark');
    expect(r.warmup).toMatchObject({ count: 6746, avg: 39.1513, max: 1039 });
    expect(r.ops.filter((o) => o.section === 'by_type').map((o) => [o.nodeType, o.count])).toEqual([
      ['FULLY_CONNECTED', 4],
      ['TANH', 4],
    ]);
  });

  it('never mixes a stat line with a summary it does not belong to', () => {
    // The observed failure: mean 80660 stored with min = max = median = 1200 from another line.
    const out = 'INFO: count=1 curr=1200\nINFO: Inference timings in us: Init: 5000, First inference: 90000, Warmup (avg): 85000, Inference (avg): 80660\n';
    const r = parseBenchmarkOutput(out);
    expect(r.inferenceMeanUs).toBe(80660);
    expect(r.runs).toBeNull();
    expect(r.warnings[0]).toMatch(/does not belong/);
  });

  it('lists figures that contradict themselves (min <= mean <= max, p5 <= median <= p95)', () => {
    const r = parseBenchmarkOutput('count=50 first=100 curr=100 min=120 max=150 avg=110 std=3 p5=100 median=140 p95=130\nInference timings in us: Init: 1, First inference: 100, Warmup (avg): 100, Inference (avg): 110\n');
    expect(r.problems).toEqual(expect.arrayContaining(['measured runs: min 120 > mean 110', 'measured runs: median 140 > p95 130', 'measured runs: min 120 > first 100']));
    expect(parseBenchmarkOutput(fixture('logcat-yolo-p5-median.txt')).problems).toEqual([]);
  });

  it('reads a completely applied GPU delegate', () => {
    const r = parseBenchmarkOutput(fixture('gpu-fully-delegated.txt'));
    expect(r.requested).toEqual(['gpu']);
    expect(r.delegates).toEqual([expect.objectContaining({ kind: 'gpu', applied: 'full', share: 1 })]);
    expect(r.runs).toMatchObject({ count: 50, avg: 119375 });
    expect(r.warmup).toMatchObject({ count: 4, avg: 122373 });
  });

  it('reads the GPU delegate\'s refused operators and the share it ran', () => {
    const a = parseBenchmarkOutput(fixture('gpu-unsupported-op-logcat.txt'));
    expect(a.requested).toEqual(['gpu']);
    expect(a.delegates[0]).toMatchObject({ kind: 'gpu', unsupported: ['UNPACK: Operation is not supported.'] });
    const b = parseBenchmarkOutput(fixture('gpu-no-ops-type-mismatch.txt'));
    expect(b.delegates).toEqual([
      expect.objectContaining({ kind: 'gpu', applied: 'none', share: 0, note: 'No operations will run on the GPU, and all 31 operations will run on the CPU.' }),
    ]);
    expect(b.delegates[0].unsupported).toHaveLength(5);
    expect(b.delegates[0].unsupported[0]).toBe("AVERAGE_POOL_2D: OP is supported, but tensor type isn't matched!");
  });

  it('reads a partial GPU delegation from the Replacing lines, XNNPack share from its first report', () => {
    const r = parseBenchmarkOutput(fixture('gpu-partial-replacing.txt'));
    const gpu = r.delegates.find((d) => d.kind === 'gpu')!;
    expect(gpu.share).toBeCloseTo(29 / 65);
    expect(gpu.applied).toBe('partial');
    expect(r.delegates.find((d) => d.kind === 'xnnpack')!.share).toBeCloseTo(52 / 65);
  });

  it('reads an NNAPI delegate that was not applied, with the tool\'s reason', () => {
    const r = parseBenchmarkOutput(fixture('nnapi-not-applied-logcat.txt'));
    expect(r.requested).toEqual(['nnapi']);
    expect(r.delegates).toEqual([
      { kind: 'nnapi', applied: 'none', share: 0, unsupported: [], note: 'Though NNAPI delegate is explicitly applied, the model graph will not be executed by the delegate.' },
    ]);
  });

  it('reads "Memory status" VmRSS lines', () => {
    const r = parseBenchmarkOutput(fixture('memory-status-vmrss.txt'));
    expect(r.memoryStatus).toEqual({ vmRssMb: 25, rssAnonMb: 18, rssFileShmemMb: 7 });
    expect(r.peakMemMb).toBeCloseTo(25.0508);
    expect(r.memory).toEqual({ initMb: 2.4375, overallMb: 20.543, kind: 'delta' });
    expect(r.modelSizeMb).toBeCloseTo(0.007588);
  });

  it('reads the all-same statistics line', () => {
    // Format from tensorflow/core/util/stats_calculator.h (Stat::OutputToStream): "count=N curr=V(all same)".
    expect(parseStatLine('count=20 curr=500(all same)')).toMatchObject({ count: 20, curr: 500, min: 500, max: 500, avg: 500, std: 0, allSame: true });
    expect(parseStatLine('count=10 curr=30(all same) p5=30 median=30 p95=30')).toMatchObject({ count: 10, avg: 30, p5: 30, median: 30, allSame: true });
    const r = parseBenchmarkOutput('INFO: count=3 curr=500(all same)\n\nINFO: count=20 curr=480(all same)\nINFO: Inference timings in us: Init: 10, First inference: 20, Warmup (avg): 500, Inference (avg): 480\n');
    expect(r.runs).toMatchObject({ count: 20, avg: 480, std: 0 });
    expect(r.warmup).toMatchObject({ count: 3, avg: 500 });
  });

  it('turns error lines into the runner\'s own message', () => {
    // Messages as tflite prints them (tensorflow/lite/model_builder.cc, benchmark_tflite_model.cc).
    const out = "INFO: STARTING!\nERROR: Could not open '/data/local/tmp/missing.tflite'.\nERROR: Failed to mmap model /data/local/tmp/missing.tflite\n";
    expect(parseBenchmarkOutput(out).errors).toEqual(["Could not open '/data/local/tmp/missing.tflite'.", 'Failed to mmap model /data/local/tmp/missing.tflite']);
    expect(runnerErrorMessage(out)).toContain('Could not open');
    expect(runnerErrorMessage('07-14 13:14:52.097 22838 22838 E tflite  : Didn\'t find op for builtin opcode \'CONV_2D\' version \'6\'\n')).toContain("Didn't find op");
    expect(runnerErrorMessage('')).toBe('it printed nothing');
  });

  it('strips each prefix kind', () => {
    expect(stripPrefix('2017-11-27 08:56:35.518009: I tensorflow/tools/benchmark/benchmark_model.cc:324] count=65 first=1').text).toBe('count=65 first=1');
    expect(stripPrefix('07-08 15:33:58.992 E/tflite  ( 5395): boom')).toEqual({ text: 'boom', error: true });
  });
});
