/** Compare groups by dataset, names artifacts apart, sorts with blanks last, and explains every point a chart cannot show. */
import { describe, expect, it } from 'vitest';
import { chartNotes, deviceText, displayName, groupByDataset, latencyInterval, rowKey, sortRows } from '../src-renderer/src/lib/compare-view';
import type { CompareRow, DatasetSummary } from '../src-shared/types';

const row = (o: Partial<CompareRow>): CompareRow =>
  ({ artifactId: 1, artifactName: 'teacher', runId: 1, runName: 'Quick check', parentId: null, format: 'tfjs-layers', precision: 'fp32', bytes: 1000, gzipBytes: null, params: 10, nonzeroParams: 10, sparsity: 0, macs: null, accuracy: 0.5, deployedAccuracy: null, benchmarkId: null, deviceId: null, deviceName: null, threads: null, delegate: null, latencyUs: null, ciLowUs: null, ciHighUs: null, cv: null, peakMemMb: null, measuredAt: 0, ...o }) as CompareRow;
const ds = (id: number, name: string, kind: string) => ({ id, name, kind, source: '', contentHash: '', classes: ['a', 'b'], counts: [1, 1], inputShape: [2], createdAt: 0 }) as DatasetSummary;

describe('compare view', () => {
  const a = row({ artifactId: 5, artifactName: 'INT8 (minmax) · int8.tflite', format: 'tflite', precision: 'int8', parentId: 4, deployedAccuracy: 0.53, bytes: 19000, benchmarkId: 1, latencyUs: 1200 });
  const b = row({ artifactId: 9, runId: 2, runName: 'iris', artifactName: 'INT8 (minmax) · int8.tflite', format: 'tflite', precision: 'int8', parentId: 8, accuracy: null, bytes: 900 });
  const c = row({ artifactId: 11, runId: null, runName: null, artifactName: 'mobilenet.tflite', format: 'tflite', precision: 'fp32' });

  it('names artifacts apart by run, stage, precision and parent', () => {
    expect(displayName(a)).toBe('Quick check #1 · INT8 (minmax) · .tflite INT8 · from #4 (#5)');
    expect(displayName(b)).toBe('iris #2 · INT8 (minmax) · .tflite INT8 · from #8 (#9)');
    expect(displayName(c)).toBe('imported · mobilenet.tflite · .tflite FP32 (#11)');
  });
  it('groups by dataset, never mixing two datasets', () => {
    const g = groupByDataset([a, b, c], new Map([[1, 10], [2, 20]]), [ds(10, 'Fashion-MNIST', 'fashion-mnist'), ds(20, 'iris', 'csv')]);
    expect(g.map((x) => [x.title, x.rows.map((r) => r.artifactId)])).toEqual([
      ['Fashion-MNIST · image classification, 2 classes', [5]],
      ['iris · table classification, 2 classes', [9]],
      ['Imported files (no dataset)', [11]],
    ]);
  });
  it('sorts either way with blanks last', () => {
    expect(sortRows([b, a, c], 'latency', 'desc').map((r) => r.artifactId)[0]).toBe(5);
    expect(sortRows([a, b, c], 'bytes', 'asc').map((r) => r.artifactId)).toEqual([9, 11, 5]);
    expect(sortRows([a, b, c], 'accuracy', 'asc').map((r) => r.artifactId)).toEqual([11, 5, 9]);
  });
  it('says why a row is missing from a chart', () => {
    expect(chartNotes([a, b, c], 'latency')).toEqual([
      'iris #2 · INT8 (minmax) · .tflite INT8 · from #8 (#9): not shown, no accuracy was measured and it has not been benchmarked.',
      'imported · mobilenet.tflite · .tflite FP32 (#11): not shown, it has not been benchmarked.',
    ]);
    expect(chartNotes([a, b], 'size')).toEqual(['iris #2 · INT8 (minmax) · .tflite INT8 · from #8 (#9): not shown, no accuracy was measured.']);
  });
  it('labels the latency interval with the coverage stored with it, never a nominal 95 %', () => {
    expect(latencyInterval({ ciLowUs: 1440, ciHighUs: 1545, ciCoverage: 0.96875 })).toEqual({ label: '96.9 % interval', range: '1.44–1.54 ms' });
    expect(latencyInterval({ ciLowUs: 534.8, ciHighUs: 796.3, ciCoverage: 0.5 })).toEqual({ label: '50 % interval', range: '0.535–0.796 ms' });
    expect(latencyInterval({ ciLowUs: 980, ciHighUs: 1020, ciCoverage: 0.9375 })).toEqual({ label: '93.8 % interval', range: '0.980–1.02 ms' });
    // Stored before the coverage was recorded: no figure is invented.
    expect(latencyInterval({ ciLowUs: 1000, ciHighUs: 1100, ciCoverage: null })).toEqual({ label: 'interval', range: '1.00–1.10 ms' });
    expect(latencyInterval({ ciLowUs: null, ciHighUs: null, ciCoverage: null })).toBeNull();
  });
  it('says where a row ran, or that it was not benchmarked', () => {
    expect(deviceText(row({ benchmarkId: 3, deviceName: 'Pixel 7', delegate: 'gpu', delegatedShare: 0.45, threads: 4, madeBy: 'ana', machine: 'lab-1' }))).toBe('Pixel 7 · ran on gpu, 45 % of nodes · 4 thr. · by ana on lab-1');
    expect(deviceText(row({ madeBy: 'ana' }))).toBe('not benchmarked · by ana');
    expect(rowKey(a)).toBe('5:1');
    expect(rowKey(b)).toBe('9:-');
  });
});
