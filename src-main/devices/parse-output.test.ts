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

  it('reads the oldest "Average inference timings" order and ignores op-table Timings lines', () => {
    const r = parseBenchmarkOutput(fixture('tf-docs-old-average.txt'));
    expect(r.inferenceMeanUs).toBeCloseTo(79760.9);
    expect(r.warmupMeanUs).toBe(83235);
    expect(r.initMs).toBeCloseTo(38.467);
    expect(r.runs).toBeNull();
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
