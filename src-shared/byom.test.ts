import { describe, expect, it } from 'vitest';
import { datasetForTeacher, isShrinkRecipe, SHRINK_STAGES, shrinkComparison, shrinkRecipe, studentSuggestions } from './byom';
import type { ImageInputConvention } from './model-io';
import { validateRecipe } from './recipe';

const tm: ImageInputConvention = { kind: 'image', size: [224, 224], channels: 3, normalization: { mean: [127.5], std: [127.5] }, dtype: 'float32' };

describe('students suggested for an imported teacher', () => {
  it('offers MobileNet widths 0.25–0.5 at 96–160 px and the teacher’s own resolution', () => {
    const s = studentSuggestions(tm);
    expect(s.map((x) => [x.width, x.size])).toEqual([[0.25, 96], [0.35, 128], [0.5, 160], [0.5, 224]]);
    expect(s.every((x) => x.width >= 0.25 && x.width <= 0.5)).toBe(true);
  });

  it('never suggests a resolution above a small teacher’s, and no repeats', () => {
    const s = studentSuggestions({ ...tm, size: [112, 112] });
    expect(s.every((x) => x.size <= 112)).toBe(true);
    expect(new Set(s.map((x) => `${x.width}@${x.size}`)).size).toBe(s.length);
  });

  it('sizes the dataset for both: pixels decoded at the teacher’s size, the student’s size, the teacher’s normalization', () => {
    const d = datasetForTeacher({ path: '/imgs' }, tm, 128) as Record<string, unknown>;
    expect(d).toMatchObject({ kind: 'image-folder', path: '/imgs', decodeSize: [224, 224], imageSize: [128, 128], channels: 3, normalization: { mean: [127.5], std: [127.5] } });
  });
});

describe('the "Shrink my Teachable Machine model" recipe', () => {
  it('is a valid recipe: original exported and profiled, distilled INT8 student exported (uint8 input) and profiled on the same targets', () => {
    const r = validateRecipe(shrinkRecipe({ teacher: { artifactId: 7 }, teacherInput: tm, folder: '/imgs', labelled: true, targets: ['host', 'emulator-5554'] }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const kinds = r.recipe.stages.map((s) => s.kind);
    expect(kinds).toEqual(['load-teacher', 'export', 'profile', 'distill', 'quantize', 'export', 'profile']);
    expect(r.recipe.stages[SHRINK_STAGES.studentExport]).toMatchObject({ precision: 'int8', io: 'uint8' });
    expect(r.recipe.stages[SHRINK_STAGES.teacherProfile]).toMatchObject({ targets: ['host', 'emulator-5554'] });
    expect(r.recipe.stages[SHRINK_STAGES.distill]).toMatchObject({ student: { template: 'mobilenet', width: 0.35 }, alphas: [0.7] });
    expect(r.recipe.dataset).toMatchObject({ imageSize: [128, 128], decodeSize: [224, 224] });
    expect(isShrinkRecipe(r.recipe)).toBe(true);
    expect(isShrinkRecipe({ ...r.recipe, stages: r.recipe.stages.slice(1) })).toBe(false);
  });

  it('distills on soft targets alone for an unlabelled folder', () => {
    const r = validateRecipe(shrinkRecipe({ teacher: { path: '/m/keras_model.h5' }, teacherInput: tm, folder: '/imgs', labelled: false, targets: [] }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.recipe.dataset).toMatchObject({ unlabeled: true });
    expect(r.recipe.stages[SHRINK_STAGES.distill]).toMatchObject({ alphas: [1] });
    expect(r.recipe.stages[SHRINK_STAGES.studentProfile]).toMatchObject({ targets: ['host'] });
  });
});

describe('the side-by-side columns', () => {
  const stages = [
    { metrics: { accuracy: 0.9, params: 500_000 } },
    { metrics: { bytes: 2_000_000, deployedAccuracy: 0.91 } },
    { metrics: { 'host.latencyMs': 20, 'pixel.latencyMs': 35, 'pixel.status': 'succeeded' } },
    { metrics: { accuracy: 0.86, fidelity: 0.93, params: 140_000 } },
    { metrics: {} },
    { metrics: { bytes: 200_000, deployedAccuracy: 0.85 } },
    { metrics: { 'host.latencyMs': 3 } },
  ];
  it('reads file bytes, parameters, the files’ accuracy, fidelity and latency per target', () => {
    const c = shrinkComparison(stages);
    expect(c.byTeacher).toBe(false);
    expect(c.original).toEqual({ fileBytes: 2_000_000, params: 500_000, accuracy: 0.91, accuracyOn: 'tflite', latencyMs: { host: 20, pixel: 35 } });
    expect(c.student).toEqual({ fileBytes: 200_000, params: 140_000, accuracy: 0.85, accuracyOn: 'tflite', fidelity: 0.93, fidelityOn: 'tfjs', latencyMs: { host: 3 } });
  });

  it('names the figures fidelity, never accuracy, when the targets came from the teacher', () => {
    const un = stages.map((s, i) => (i === 0 ? { metrics: { targets: 'teacher', params: 500_000 } } : i === 3 ? { metrics: { fidelity: 0.9, targets: 'teacher', params: 1 } } : i === 5 ? { metrics: { bytes: 1, deployedFidelity: 0.88, targets: 'teacher' } } : s));
    const c = shrinkComparison(un);
    expect(c.byTeacher).toBe(true);
    expect(c.original.accuracy).toBeUndefined();
    expect(c.student.accuracy).toBeUndefined();
    expect(c.student).toMatchObject({ fidelity: 0.88, fidelityOn: 'tflite' });
  });
});
