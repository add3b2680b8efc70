/** The result-first summary and the shared metric labels (same strings for UI, report and CLI). */
import { describe, expect, it } from 'vitest';
import { formatMetric, listedMetrics, metricLabel } from './metric-labels';
import { runSummary } from './run-summary';
import type { RunDetail } from './types';

const stage = (id: number, index: number, kind: string, metrics: Record<string, unknown>) => ({ id, index, kind, status: 'succeeded', metrics }) as unknown as RunDetail['stages'][number];
const run = {
  status: 'succeeded',
  stages: [
    stage(1, 0, 'train-teacher', { accuracy: 0.5733, bytes: 230518, ece: 0.2891 }),
    stage(2, 1, 'distill', { accuracy: 0.53, bytes: 61295 }),
    stage(4, 3, 'export', { precision: 'int8', bytes: 19410, deployedAccuracy: 0.5333 }),
    stage(5, 4, 'profile', { 'host.latencyMs': 1.2585, 'host.ciLowMs': 0.0848, 'host.ciHighMs': 2.4322, 'host.cv': 1.319, 'host.peakMemMb': 16.8125 }),
  ],
  artifacts: [
    { id: 1, stageId: 1, format: 'tfjs-layers', bytes: 230518, precision: 'fp32' },
    { id: 5, stageId: 4, format: 'tflite', bytes: 19410, precision: 'int8' },
  ],
} as unknown as RunDetail;

describe('metric labels', () => {
  it('gives every figure a human label and one unit', () => {
    expect(metricLabel('ece')).toBe('Calibration error (ECE)');
    expect(formatMetric('ece', 0.2891074)).toBe('28.91 %');
    expect(metricLabel('host.ciLowMs')).toBe('Latency, interval low · this computer');
    // The coverage two trials give, and memory in MiB with what was measured, in words.
    expect([metricLabel('host.ciCoverage'), formatMetric('host.ciCoverage', 0.5)]).toEqual(['Interval coverage · this computer', '50.00 %']);
    expect(formatMetric('host.peakMemMb', 16.8125)).toBe('16.8 MiB');
    expect([metricLabel('host.peakMemKind'), formatMetric('host.peakMemKind', 'runtime-heap')]).toEqual(['Peak memory measured as · this computer', 'LiteRT runtime heap']);
    expect([metricLabel('host.ranOn'), formatMetric('host.benchmarkId', 12)]).toEqual(['Ran on · this computer', '#12']);
    expect(formatMetric('host.cv', 1.319)).toBe('131.90 %');
    expect(formatMetric('gain', -0.18333)).toBe('−18.33 points');
    expect(formatMetric('bytes', 19410)).toBe('19.0 KiB');
    expect(formatMetric('stoppedEarly', false)).toBe('no');
    expect(formatMetric('unknownThing', 0.123456)).toBe('0.1235');
    expect(listedMetrics({ note: 'x', confusion: [[1]], topK: 0.95 })).toEqual([{ key: 'topK', label: 'Top-k accuracy', value: '95.00 %', help: expect.any(String) }]);
  });
});

describe('runSummary', () => {
  it('puts the .tflite accuracy, size and latency first, each against the teacher, with a verdict', () => {
    const s = runSummary(run)!;
    expect(s.figures.map((f) => [f.label, f.value, f.change])).toEqual([
      ['Accuracy of the .tflite', '53.33 %', '−4.00 points vs the teacher'],
      ['.tflite file size (INT8)', '19.0 KiB', '11.9× smaller than the teacher'],
      ['Latency on this computer', '1.258 ms', 'interval 0.085 ms–2.432 ms'],
    ]);
    expect(s.verdict).toBe('The INT8 .tflite is 11.9× smaller than the teacher, 4.00 points less accurate (53.33 %), runs in 1.258 ms on this computer. It loses more than 2 points: try a wider student, more epochs, or quantization-aware training.');
  });
  it('states the interval at the coverage its trials give, never a nominal 95 %', () => {
    const withCoverage = (c: number) => ({ ...run, stages: run.stages.map((s) => (s.kind === 'profile' ? { ...s, metrics: { ...s.metrics, 'host.ciCoverage': c } } : s)) }) as RunDetail;
    expect(runSummary(withCoverage(0.5))!.figures[2].change).toBe('50 % interval 0.085 ms–2.432 ms');
    expect(runSummary(withCoverage(0.96875))!.figures[2].change).toBe('96.9 % interval 0.085 ms–2.432 ms');
  });
  it('compares with the imported model when the run started from one, and says when the run is unfinished', () => {
    const imported = { ...run, status: 'failed', stages: [{ ...run.stages[0], kind: 'load-teacher' }, run.stages[1]], artifacts: [run.artifacts[0]] } as RunDetail;
    const s = runSummary(imported)!;
    expect(s.figures[0]).toMatchObject({ label: 'Accuracy (TF.js, not exported)', change: '−4.33 points vs the imported model' });
    expect(s.verdict).toContain('The run is failed');
  });
  it('has nothing to say before a stage finished', () => {
    expect(runSummary({ status: 'running', stages: [], artifacts: [] })).toBeNull();
  });
});

describe('runSummary without labels', () => {
  it('reports the .tflite fidelity to the teacher instead of an accuracy', () => {
    const s = runSummary({
      status: 'succeeded',
      stages: [stage(1, 0, 'load-teacher', { bytes: 1000 }), stage(2, 1, 'distill', { fidelity: 0.9, bytes: 400 }), stage(3, 2, 'export', { deployedFidelity: 0.88, bytes: 200 })],
      artifacts: [{ id: 3, stageId: 3, format: 'tflite', bytes: 200, precision: 'int8' }],
    } as unknown as RunDetail)!;
    expect(s.figures[0]).toMatchObject({ label: 'Agreement of the .tflite with the teacher', value: '88.00 %', change: undefined });
    expect(s.verdict).toBe('The INT8 .tflite is 5.0× smaller than the imported model, agrees with the teacher on 88.00 % of the images.');
  });
});
