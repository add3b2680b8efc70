import { describe, expect, it } from 'vitest';
import { validateRecipe } from '../../../src-shared/recipe';
import { planSearch } from './plan';

const base = { dataset: { kind: 'fashion-mnist' }, teacher: { template: 'lenet' }, target: 'host' };

describe('search spec', () => {
  it('becomes a teacher + search recipe, with its rungs and candidate count', () => {
    const p = planSearch({ ...base, space: { widths: [0.25, 0.5, 0.75], resolutions: [28, 20, 14], sparsities: [0, 0.5], precisions: ['int8', 'fp16'] } });
    expect(p.errors).toEqual([]);
    expect(p.ok).toBe(true);
    expect(p.architectures).toBe(9);
    expect(p.rungs).toEqual([
      { size: 9, epochs: 1 },
      { size: 3, epochs: 3 },
      { size: 2, epochs: 8 },
    ]);
    expect(p.candidates).toBe(2 * 2 * 2);
    const r = validateRecipe(p.recipe);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.recipe.stages.map((s) => s.kind)).toEqual(['train-teacher', 'search']);
      expect(r.recipe.stages[1]).toMatchObject({ kind: 'search', target: 'host', budget: { maxAccuracyDrop: 1 } });
    }
    expect(validateRecipe(planSearch({ ...base, teacher: { artifactId: 7 } }).recipe).ok).toBe(true);
  });

  it('names the field and the allowed values of a bad spec', () => {
    expect(planSearch({ ...base, space: { precisions: ['int4'] } }).errors[0]).toMatchObject({ path: 'space.precisions.0', message: expect.stringContaining('must be one of fp32, fp16') });
    expect(planSearch({ ...base, budget: { maxAccuracyDrop: -1 } }).errors[0]).toMatchObject({ path: 'budget.maxAccuracyDrop', message: 'must be between 0 and 100' });
    expect(planSearch({ ...base, budget: {} }).errors[0]).toMatchObject({ path: 'stages.1.budget', message: expect.stringContaining('give at least one budget') });
    expect(planSearch({ ...base, strategy: { minEpochs: 5, maxEpochs: 2 } }).errors[0]).toMatchObject({ path: 'stages.1.strategy.maxEpochs' });
    expect(planSearch({ dataset: { kind: 'fashion-mnist' }, target: 'host' }).errors[0].path).toBe('teacher');
  });

  it('a search stage without a teacher before it is refused', () => {
    const r = validateRecipe({ name: 'x', dataset: { kind: 'fashion-mnist' }, stages: [{ kind: 'search' }] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0].message).toMatch(/distills students from a teacher/);
  });
});
