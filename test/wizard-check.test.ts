/** The wizard's guard rails: problems in words with the field to focus, defaults, list parsing, draft repair, data warnings. */
import { describe, expect, it } from 'vitest';
import { dataWarnings, defaultText, fieldDefault, locateProblem, parseNumberList, reviveDraft, runNameFor, templateForDataset } from '../src-renderer/src/lib/wizard-check';
import type { RecipeInput } from '../src-shared/recipe';

const fresh = (): RecipeInput => ({ name: 'New', seed: 42, dataset: { kind: 'fashion-mnist' }, stages: [{ kind: 'train-teacher' }] }) as RecipeInput;
const stages = [{ kind: 'train-teacher' }, { kind: 'distill' }, { kind: 'prune' }];

describe('locateProblem', () => {
  it('names the stage and field in words and gives the input to focus', () => {
    expect(locateProblem('stages.1.temperatures.0', stages)).toEqual({ step: 3, fieldId: 'distill-temperatures', where: 'Distill › Temperatures' });
    expect(locateProblem('stages.2.targetSparsity', stages)).toEqual({ step: 3, fieldId: 'prune-targetSparsity', where: 'Prune › Target sparsity' });
    expect(locateProblem('stages.2.schedule.stepFraction', stages).where).toBe('Prune › Share removed per step');
    expect(locateProblem('stages.0.optimizer.learningRate', stages)).toEqual({ step: 1, fieldId: 'teacher-optimizer-learningRate', where: 'Teacher › Learning rate' });
    expect(locateProblem('stages.1.student.width', stages)).toEqual({ step: 2, fieldId: 'student-student-width', where: 'Student width' });
    expect(locateProblem('dataset.path', stages)).toEqual({ step: 0, fieldId: 'ds-path', where: 'Dataset › Path' });
    expect(locateProblem('name', stages)).toEqual({ step: 4, fieldId: 'recipe-name', where: 'Run name' });
  });
});

describe('defaults and lists', () => {
  it('reads a blank field’s default from the recipe schema', () => {
    expect(fieldDefault('distill', 'batchSize')).toBe(64);
    expect(fieldDefault('distill', 'optimizer.learningRate')).toBe(0.001);
    expect(defaultText(fieldDefault('distill', 'alphas'))).toBe('0.7');
    expect(defaultText(fieldDefault('distill', 'temperatures'))).toBe('1, 2, 4, 8, 16');
  });
  it('keeps what was typed and names the parts that are not numbers', () => {
    expect(parseNumberList('2, 4;8')).toEqual({ value: [2, 4, 8], bad: [] });
    expect(parseNumberList('abc, xyz, 3')).toEqual({ value: ['abc', 'xyz', 3], bad: ['abc', 'xyz'] });
    expect(parseNumberList('  ')).toEqual({ value: undefined, bad: [] });
  });
});

describe('reviveDraft', () => {
  it('keeps a valid draft, and one that only lacks what the user has not typed yet', () => {
    const ok = { name: 'a', dataset: { kind: 'csv', path: '', labelColumn: 'label' }, stages: [{ kind: 'train-teacher' }] };
    expect(reviveDraft(JSON.stringify(ok), fresh)).toEqual({ recipe: ok });
  });
  it('repairs bad values by resetting them to defaults, with a notice in words', () => {
    const bad = { name: 'a', dataset: { kind: 'fashion-mnist' }, stages: [{ kind: 'train-teacher' }, { kind: 'distill', temperatures: ['abc', 'xyz'], epochs: -3 }] };
    const r = reviveDraft(JSON.stringify(bad), fresh);
    expect(r.recipe.stages[1]).toEqual({ kind: 'distill' });
    expect(r.notice).toContain('Distill › Temperatures');
    expect(r.notice).toContain('Distill › Epochs');
  });
  it('discards what it cannot show, with a notice', () => {
    expect(reviveDraft('{not json', fresh)).toMatchObject({ recipe: fresh(), notice: expect.stringContaining('could not be read') });
    expect(reviveDraft(JSON.stringify({ name: 'x', dataset: { kind: 'fashion-mnist' }, stages: [{ kind: 'distill' }] }), fresh).notice).toContain('discarded');
    expect(reviveDraft(JSON.stringify({ name: 'x', dataset: { kind: 'zip' }, stages: [{ kind: 'train-teacher' }] }), fresh).notice).toContain('discarded');
    expect(reviveDraft(null, fresh)).toEqual({ recipe: fresh() });
  });
});

describe('data-driven choices', () => {
  it('suggests an MLP for a table and names the run after the data', () => {
    expect(templateForDataset('csv')).toBe('mlp');
    expect(templateForDataset('image-folder')).toBe('lenet');
    expect(runNameFor({ kind: 'csv', path: '/data/iris.csv' })).toBe('iris');
    expect(runNameFor({ kind: 'image-folder', path: '/data/flowers/' })).toBe('flowers');
    expect(runNameFor({ kind: 'fashion-mnist' })).toBe('Fashion-MNIST');
  });
  it('warns about tiny classes and a tiny test split', () => {
    const w = dataWarnings({ kind: 'image-folder', path: '/x' }, [{ name: 'cat', count: 80 }, { name: 'dog', count: 10 }]);
    expect(w[0]).toContain('“dog” (10)');
    expect(w[1]).toContain('about 9 examples');
    expect(dataWarnings({ kind: 'fashion-mnist' }, [{ name: 'a', count: 7000 }])).toEqual([]);
  });
});
