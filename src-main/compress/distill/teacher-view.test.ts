/**
 * An imported teacher at its own size and normalization, a smaller student at the dataset's, from one
 * image folder decoded once; and a folder without labels, distilled on the teacher's soft targets
 * alone and measured by fidelity. Through the pipeline service (a real worker process).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type PipelineHarness, pipelineHarness } from '../../../test/helpers/pipeline-harness';
import { writeColourFolder, writeColourTeacher } from '../../../test/fixtures/colour-folder';
import { loadModel } from '../../models';
import { useCpuBackendInWorkers } from '../../../test/helpers/cpu-workers';

const stagesModule = path.resolve(import.meta.dirname, '../../../test/helpers/byom-stages.ts');
let h: PipelineHarness;
let teacher: string;

useCpuBackendInWorkers();
beforeEach(async () => {
  h = pipelineHarness(stagesModule, 'pb-byom-');
  teacher = await writeColourTeacher(path.join(h.dir, 'teacher'), 16);
});
afterEach(() => h.close());

const distill = { kind: 'distill', student: { template: 'mlp', width: 1, options: { hidden: [12] } }, temperatures: [2], epochs: 4, batchSize: 16, optimizer: { name: 'adam', learningRate: 0.01 } };

async function run(dataset: Record<string, unknown>, more: Record<string, unknown>[] = []) {
  const { runId } = h.service.start({ name: 'byom', seed: 5, dataset, stages: [{ kind: 'load-teacher', path: teacher }, distill, ...more] } as never);
  await h.service.idle();
  return h.store.runs.get(runId)!;
}

describe('distilling an imported teacher from an image folder', { timeout: 180_000 }, () => {
  it('feeds the teacher 16-px x/127.5 − 1 images and the student 8-px [0, 1] ones from the same pixels; reports accuracy and fidelity', async () => {
    const folder = path.join(h.dir, 'colours');
    await writeColourFolder(folder, 20, 16);
    const r = await run({ kind: 'image-folder', path: folder, decodeSize: [16, 16], imageSize: [8, 8] });
    expect(r.error).toBeNull();
    const t = r.stages[0].metrics as { accuracy: number; outputs: { teacher: { artifactId: number } } };
    // The teacher is exact on its own convention: with the student's 8-px [0, 1] view it could not even be called.
    expect(t.accuracy).toBe(1);
    const d = r.stages[1].metrics as { accuracy: number; fidelity: number; targets?: string; outputs: { current: { artifactId: number } } };
    expect(d.targets).toBeUndefined();
    expect(d.accuracy).toBeGreaterThan(0.6);
    expect(d.fidelity).toBeGreaterThan(0.6);
    const student = h.store.artifacts.get(d.outputs.current.artifactId)!;
    const loaded = await loadModel(student.path);
    expect(loaded.model.inputs[0].shape).toEqual([null, 8, 8, 3]);
    loaded.model.dispose();
  });

  it('distills a folder without labels on soft targets alone and names every figure fidelity', async () => {
    const folder = path.join(h.dir, 'unlabelled');
    await writeColourFolder(folder, 20, 16, { labelled: false });
    const r = await run({ kind: 'image-folder', path: folder, unlabeled: true, decodeSize: [16, 16], imageSize: [8, 8] }, [{ kind: 'quantize', mode: 'int8', calibrationSamples: 32 }, { kind: 'export', precision: 'int8' }]);
    expect(r.error).toBeNull();
    const t = r.stages[0].metrics as Record<string, unknown>;
    expect(t.targets).toBe('teacher');
    expect(t.accuracy).toBeUndefined();
    const d = r.stages[1].metrics as Record<string, unknown> & { distill: { candidates: { name: string }[] } };
    expect(d.targets).toBe('teacher');
    expect(d.accuracy).toBeUndefined();
    expect(d.distilledAccuracy).toBeUndefined();
    expect(d.fidelity as number).toBeGreaterThan(0.6);
    expect(d.classes).toEqual(['red', 'green', 'blue']);
    // No labels-only control (there are no labels), soft targets alone.
    expect(d.distill.candidates.map((c) => c.name)).not.toContain('control');
    expect(d.distill.candidates.every((c) => (c as { alpha?: number }).alpha === 1)).toBe(true);
    // INT8 simulation and the exported file, run in LiteRT, are measured against the teacher's targets: fidelity.
    const q = r.stages[2].metrics as Record<string, unknown>;
    expect(Object.keys(q).filter((k) => k.startsWith('accuracy'))).toEqual([]);
    expect(q).toMatchObject({ targets: 'teacher', fidelityFloat: d.fidelity });
    expect(typeof q.fidelity).toBe('number');
    const e = r.stages[3].metrics as Record<string, unknown>;
    expect(e.targets).toBe('teacher');
    expect(e.deployedAccuracy).toBeUndefined();
    expect(e.accuracy).toBeUndefined();
    expect(e.deployedFidelity as number).toBeCloseTo(q.fidelity as number, 1);
  });

  it('refuses an unlabelled folder without a teacher to learn from', async () => {
    const folder = path.join(h.dir, 'alone');
    await writeColourFolder(folder, 5, 8, { labelled: false });
    const { runId } = h.service.start({ name: 'no teacher', dataset: { kind: 'image-folder', path: folder, unlabeled: true }, stages: [{ kind: 'train-teacher', model: { template: 'mlp', width: 0.25 }, epochs: 1 }] } as never);
    await h.service.idle();
    expect(h.store.runs.get(runId)!.error).toMatch(/no labels, so the run needs a teacher.*load teacher/);
    expect(fs.existsSync(path.join(h.dir, 'artifacts')) ? fs.readdirSync(path.join(h.dir, 'artifacts')).filter((f) => !f.startsWith('.')).length : 0).toBe(0);
  });
});
