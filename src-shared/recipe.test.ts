import { describe, expect, it } from 'vitest';
import { presets } from './presets';
import { validateRecipe } from './recipe';

const base = { name: 'r', dataset: { kind: 'fashion-mnist' } };

describe('recipe validation', () => {
  it('accepts every preset, with defaults applied', () => {
    for (const p of presets) {
      const r = validateRecipe(p.recipe);
      expect(r.ok, `${p.id}: ${JSON.stringify(!r.ok && r.errors)}`).toBe(true);
    }
  });

  it('names the field and the allowed range', () => {
    const r = validateRecipe({ ...base, stages: [{ kind: 'train-teacher' }, { kind: 'distill', temperatures: [4, 400] }] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toContainEqual({ path: 'stages.1.temperatures.1', message: 'must be between 0.5 and 100' });
    const r2 = validateRecipe({ ...base, stages: [{ kind: 'train-teacher', epochs: 2.5 }] });
    expect(!r2.ok && r2.errors[0]).toMatchObject({ path: 'stages.0.epochs', message: expect.stringContaining('whole number') });
    const r3 = validateRecipe({ ...base, stages: [{ kind: 'nonsense' }] });
    expect(!r3.ok && r3.errors[0].path).toBe('stages.0.kind');
  });

  it('refuses impossible stage orders', () => {
    const r = validateRecipe({ ...base, stages: [{ kind: 'distill' }] });
    expect(!r.ok && r.errors[0].message).toContain('needs a teacher');
    const p = validateRecipe({ ...base, stages: [{ kind: 'train-teacher' }, { kind: 'profile' }] });
    expect(!p.ok && p.errors[0].message).toContain('add an export stage');
  });

  it('refuses a label count on both the dataset and the distill stage, naming the stage field', () => {
    const r = validateRecipe({ ...base, dataset: { kind: 'fashion-mnist', labeledCount: 500 }, stages: [{ kind: 'train-teacher' }, { kind: 'distill', labeledCount: 300 }] });
    expect(!r.ok && r.errors[0]).toMatchObject({ path: 'stages.1.labeledCount', message: expect.stringContaining('set the label count in one place') });
    expect(validateRecipe({ ...base, stages: [{ kind: 'train-teacher' }, { kind: 'distill', labeledCount: 300 }] }).ok).toBe(true);
  });

  it('refuses INT8 without calibration data and warns on too few samples', () => {
    const none = validateRecipe({ ...base, stages: [{ kind: 'train-teacher' }, { kind: 'quantize', calibrationSamples: 0 }] });
    expect(!none.ok && none.errors[0]).toMatchObject({ path: 'stages.1.calibrationSamples', message: expect.stringContaining('needs calibration data') });
    const few = validateRecipe({ ...base, stages: [{ kind: 'train-teacher' }, { kind: 'quantize', calibrationSamples: 20 }] });
    expect(few.ok && few.warnings[0].path).toBe('stages.1.calibrationSamples');
    const dyn = validateRecipe({ ...base, stages: [{ kind: 'train-teacher' }, { kind: 'quantize', mode: 'dynamic', calibrationSamples: 0 }] });
    expect(dyn.ok).toBe(true);
  });

  it('warns about the common mistakes', () => {
    const r = validateRecipe({
      ...base,
      stages: [
        { kind: 'train-teacher' },
        { kind: 'distill', temperatures: [0.5, 4, 50] },
        { kind: 'prune', targetSparsity: 0.9, schedule: { kind: 'one-shot' } },
      ],
    });
    expect(r.ok).toBe(true);
    const paths = r.ok ? r.warnings.map((w) => w.path) : [];
    expect(paths).toEqual(['stages.1.temperatures.0', 'stages.1.temperatures.2', 'stages.2.schedule']);
  });
});
