import { describe, expect, it } from 'vitest';
import { distillStage } from '../../../src-shared/recipe';
import { type CandidateResults, planCandidates, sampleStd, summarize, verdict } from './sweep';

const seed = (val: number, test: number) => ({ valAccuracy: val, testAccuracy: test, valCurve: [val], epochs: 1 });

describe('sweep plan and verdict', () => {
  it('plans the control first, then every (α, T) pair', () => {
    const plan = planCandidates(distillStage.parse({ kind: 'distill', temperatures: [2, 4], alphas: [0.5, 0.9] }));
    expect(plan.map((p) => p.name)).toEqual(['control', 'T=2 α=0.5', 'T=4 α=0.5', 'T=2 α=0.9', 'T=4 α=0.9']);
    expect(planCandidates(distillStage.parse({ kind: 'distill', control: false, self: { mode: 'progressive' } })).map((p) => p.kind)).toEqual(['self-progressive']);
  });

  it('chooses by validation accuracy, not test accuracy, and reports the gain per seed', () => {
    const results: CandidateResults[] = [
      { plan: { kind: 'control', name: 'control' }, perSeed: [seed(0.8, 0.79), seed(0.81, 0.8)] },
      // Best on test but worse on validation: must not be chosen.
      { plan: { kind: 'kd', name: 'T=2 α=0.7', temperature: 2, alpha: 0.7 }, perSeed: [seed(0.82, 0.9), seed(0.82, 0.9)] },
      { plan: { kind: 'kd', name: 'T=4 α=0.7', temperature: 4, alpha: 0.7 }, perSeed: [seed(0.85, 0.83), seed(0.84, 0.82)] },
    ];
    const s = summarize(results, [1, 2]);
    expect(s.chosen).toBe('T=4 α=0.7');
    expect(s.output).toBe('distilled');
    expect(s.gain).toBeCloseTo(0.03, 10);
    expect(s.gainSpread).toBeCloseTo(sampleStd([0.04, 0.02]), 10);
    expect(s.sweep).toEqual([
      { temperature: 2, alpha: 0.7, valAccuracy: 0.82 },
      { temperature: 4, alpha: 0.7, valAccuracy: expect.closeTo(0.845, 10) },
    ]);
    expect(verdict(s)).toMatch(/^Distillation helped/);
  });

  it('hands on the control and says so when distillation does not beat it on validation', () => {
    const s = summarize(
      [
        { plan: { kind: 'control', name: 'control' }, perSeed: [seed(0.9, 0.89)] },
        { plan: { kind: 'kd', name: 'T=4 α=0.7', temperature: 4, alpha: 0.7 }, perSeed: [seed(0.9, 0.895)] },
      ],
      [1],
    );
    expect(s.distillationHelped).toBe(false);
    expect(s.output).toBe('control');
    expect(s.gainSpread).toBe(0);
    expect(verdict(s)).toMatch(/^Distillation did not help/);
  });
});
