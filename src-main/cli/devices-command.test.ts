/** The text `pocketbench bench` prints: memory figures named by kind, intervals with their real coverage. */
import { describe, expect, it } from 'vitest';
import type { BenchmarkDetail } from '../../src-shared/contract/devices';
import type { BenchmarkSummary } from '../../src-shared/types';
import { benchmarkReport, linkNote, memoryLine } from './devices-command';

const summary = (o: Partial<BenchmarkSummary> = {}): BenchmarkSummary => ({
  id: 7, artifactId: null, deviceId: 1, status: 'succeeded', error: null, config: {}, runnerSha256: null,
  latencyUs: 145528, ciLowUs: 140000, ciHighUs: 150000, cv: 0.02, initMs: 92.3, peakMemMb: null, peakMemKind: null,
  ranDelegate: 'xnnpack', delegatedShare: 0.98, ciCoverage: null, target: 'S1', createdAt: 1, finishedAt: 2, ...o,
});
const detail = (s: BenchmarkSummary, stats: Record<string, unknown>, trials = 5): BenchmarkDetail => ({
  summary: s, target: 'S1', modelSha256: null, affinity: '4-7', vmHwmKb: 81920, vmRssKb: 80000, stats,
  trials: Array.from({ length: trials }, (_, idx) => ({ idx, meanUs: 145528, count: 25 })), ops: [],
  batteryBefore: null, batteryAfter: null, thermalBefore: null, thermalAfter: null,
});

describe('bench report', () => {
  it('never calls a delta from the start of the tool peak memory', () => {
    // The observed output: "Memory footprint delta from the start of the tool (MB): init=54.2852 overall=73.4102".
    const d = detail(summary(), { memory: { deltaFromStartMb: { init: 54.2852, overall: 73.4102 }, vmRssAtEndMb: 25 } });
    expect(memoryLine(d)).toBe("peak RSS sampled 80.0 MiB; delta from the runner's start 73.4 MiB (init 54.3 MiB); VmRSS at the runner's end 25.0 MiB");
    expect(benchmarkReport(d)).not.toMatch(/peak memory/);
  });

  it('names the runner peak and the runtime heap by kind', () => {
    expect(memoryLine(detail(summary({ peakMemMb: 93.2383, peakMemKind: 'runner-peak' }), {}))).toMatch(/^runner's peak footprint 93\.2 MiB; peak RSS sampled/);
    expect(memoryLine(detail(summary({ peakMemMb: 16.8, peakMemKind: 'runtime-heap' }), {}))).toMatch(/^LiteRT runtime heap 16\.8 MiB; app process peak RSS/);
  });

  it('states the coverage the interval really has', () => {
    expect(benchmarkReport(detail(summary(), {}, 5))).toMatch(/ 93\.75 % interval: 140\.000 ms – 150\.000 ms/);
    expect(benchmarkReport(detail(summary({ ciCoverage: 0.96875 }), {}, 6))).toMatch(/ 96\.88 % interval/);
  });

  it('says what ran when the delegate asked for was not applied', () => {
    const d = detail(summary({ status: 'failed', ranDelegate: 'cpu' }), { ran: { requested: 'nnapi', delegate: 'cpu', share: 0, reason: 'Though NNAPI delegate is explicitly applied, the model graph will not be executed by the delegate.' }, notes: ['The phone has no taskset'] });
    const text = benchmarkReport(d);
    expect(text).toMatch(/ran on: cpu — nnapi asked, not applied: Though NNAPI delegate/);
    expect(text).toMatch(/note: The phone has no taskset/);
  });

  it('says whether the benchmark is linked to a stored artifact (only linked ones reach Compare)', () => {
    expect(linkNote({ path: 'm.tflite', artifactId: null, linkedBy: null })).toMatch(/^m\.tflite is not a stored artifact: .* not in Compare \(benchmark artifact:N to link one\)\.$/);
    expect(linkNote({ path: '/a/x.tflite', name: 'INT8 · x.tflite', artifactId: 5, linkedBy: 'reference' })).toBe('Benchmarking artifact #5 INT8 · x.tflite: the result shows in Compare.');
    expect(linkNote({ path: 'x.tflite', name: 'INT8 · x.tflite', artifactId: 9, linkedBy: 'content', others: [5] })).toBe('Benchmarking artifact #9 INT8 · x.tflite (the file has its bytes; so do #5: name one with artifact:N): the result shows in Compare.');
    expect(benchmarkReport(detail(summary({ artifactId: 5 }), {}))).toMatch(/^Benchmark #7 on S1 of artifact #5: succeeded/);
  });
});
