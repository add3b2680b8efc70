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
    // Two seeds, two candidates: +5 and +3 points on validation are not separable from seed noise.
    expect(s.evidence).toBe('no-evidence');
    expect(s.distillationHelped).toBe(false);
    expect(verdict(s)).toMatch(/^No evidence that distillation helped: the paired validation difference, .* includes 0\. T=4 α=0\.7 is the stage's output/);
  });

  it('says "helped" only when the paired gain clears the seed-noise margin for the best of N', () => {
    const ctl = [0.8, 0.81, 0.79, 0.8, 0.82];
    const run = (gains: number[], candidates = 1) =>
      summarize(
        [
          { plan: { kind: 'control', name: 'control' }, perSeed: ctl.map((v) => seed(v, v)) },
          ...Array.from({ length: candidates }, (_, c) => ({
            plan: { kind: 'kd' as const, name: `T=${c + 2} α=0.5`, temperature: c + 2, alpha: 0.5 },
            perSeed: ctl.map((v, i) => seed(v + gains[i] - c * 0.001, v + gains[i])),
          })),
        ],
        [1, 2, 3, 4, 5],
      );
    const clear = run([0.02, 0.025, 0.018, 0.022, 0.02]);
    expect(clear).toMatchObject({ evidence: 'helped', distillationHelped: true, output: 'distilled' });
    expect(clear.margin!.low).toBeGreaterThan(0);
    expect(verdict(clear)).toMatch(/^Distillation helped: .*paired difference \+1\.\d\d to \+2\.\d\d points \(one-sided 5\.00 % each way, best of 1\)/);
    // The observed case: +0.08 ± 0.66 points is noise.
    const noisy = run([0.0075, -0.0035, 0.0085, -0.0065, 0.0080]);
    expect(noisy.evidence).toBe('no-evidence');
    expect(noisy.distillationHelped).toBe(false);
    // Selection: the same paired gains with 20 candidates face a wider margin.
    const borderline = [0.012, 0.001, 0.006, 0.01, 0.003];
    expect(run(borderline, 1).evidence).toBe('helped');
    expect(run(borderline, 20).evidence).toBe('no-evidence');
    // A consistent loss is "hurt": the control is handed on and the verdict says distillation did not help.
    const hurt = run([-0.02, -0.025, -0.018, -0.022, -0.02]);
    expect(hurt).toMatchObject({ evidence: 'hurt', output: 'control', distillationHelped: false });
    expect(verdict(hurt)).toMatch(/^Distillation did not help/);
  });

  it('is never "helped" without a control', () => {
    const s = summarize([{ plan: { kind: 'kd', name: 'T=4 α=0.7', temperature: 4, alpha: 0.7 }, perSeed: [seed(0.9, 0.9)] }], [1]);
    expect(s).toMatchObject({ distillationHelped: false, evidence: 'no-control', output: 'distilled' });
    expect(verdict(s)).toMatch(/no control was trained/);
  });

  it('hands on the control when distillation does not beat it on validation, and one seed is no evidence', () => {
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
    expect(verdict(s)).toMatch(/^No evidence that distillation helped: one seed cannot tell a gain from seed noise .*The control is the stage's output/);
  });
});
