/** Compare groups by dataset, names artifacts apart, sorts with blanks last, and explains every point a chart cannot show. */
import { describe, expect, it } from 'vitest';
import { chartNotes, displayName, groupByDataset, sortRows } from '../src-renderer/src/lib/compare-view';
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
});
