/** `pocketbench run` names stages in words (as the app and the HTML report do), in its table, its progress line and its notes. */
import { describe, expect, it } from 'vitest';
import { stageLabel } from '../../src-shared/metric-labels';
import type { StageRow } from '../../src-shared/types';
import { progressLine, stageTable, stageTitle } from './run-command';

const stage = (index: number, kind: string, metrics: Record<string, unknown> | null = null): StageRow => ({
  id: index + 1, runId: 1, index, kind, status: 'succeeded', params: {}, metrics, curves: null, startedAt: 0, finishedAt: 1, durationMs: 1500, error: null,
});

describe('run command text', () => {
  it('titles a stage with its number and the shared label', () => {
    expect(stageTitle({ index: 0, kind: 'train-teacher' })).toBe('1. Train the teacher');
    expect(stageTitle({ index: 4, kind: 'profile' })).toBe('5. Measure latency and memory');
    // A kind without a label (a future stage) still prints, as its kind.
    expect(stageTitle({ index: 2, kind: 'mystery' })).toBe('3. mystery');
  });

  it('prints the stage table in words, never the raw kinds', () => {
    const kinds = ['train-teacher', 'distill', 'quantize', 'export', 'profile'];
    const text = stageTable({ stages: kinds.map((k, i) => stage(i, k, k === 'export' ? { accuracy: 0.5367, deployedAccuracy: 0.5333, bytes: 19_456 } : k === 'profile' ? { 'host.latencyMs': 0.666 } : null)) });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^Stage\s+Status\s+Duration/);
    kinds.forEach((k, i) => expect(lines[i + 2]).toMatch(new RegExp(`^${i + 1}\\. ${stageLabel(k).replace('.', '\\.')}\\s+succeeded\\s+1\\.5 s`)));
    expect(lines[2]).toMatch(/^1\. Train the teacher /);
    expect(lines[5]).toMatch(/^4\. Export to \.tflite .*53\.67 %\s+53\.33 %.*19\.0 KiB/);
    expect(lines[6]).toMatch(/this computer 0\.666 ms/);
    for (const k of kinds) expect(text).not.toMatch(new RegExp(`\\d\\. ${k}\\b`));
  });

  it('names the stage in words on the progress line', () => {
    expect(progressLine({ runId: 1, stageIndex: 1, stageKind: 'distill', phase: 'T=4 α=0.7', epoch: 1, epochs: 3, batch: 4, batches: 22, fraction: 0.5 })).toBe('2. Distill into the student · T=4 α=0.7 · epoch 1/3 · batch 4/22 · [##########..........] 50%');
  });
});
