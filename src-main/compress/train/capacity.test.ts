import { beforeAll, describe, expect, it } from 'vitest';
import { buildTemplate, summarizeModel, type TemplateSpec } from '../../models';
import { initBackend } from '../../tf';
import { capacityCheck, SEVERE_RATIO, WARN_RATIO } from './capacity';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const summary = (spec: Partial<TemplateSpec> & Pick<TemplateSpec, 'template'>) => {
  const m = buildTemplate({ inputShape: [28, 28, 1], numClasses: 10, seed: 1, ...spec } as TemplateSpec);
  try {
    return summarizeModel(m);
  } finally {
    m.dispose();
  }
};

describe('capacity rule', () => {
  let teacher: ReturnType<typeof summary>;
  beforeAll(() => {
    teacher = summary({ template: 'lenet', width: 1 });
  });

  it('passes a student at a quarter width (about 1/16 of the parameters)', () => {
    const r = capacityCheck(summary({ template: 'lenet', width: 0.25 }), teacher, 10);
    expect(r.comparison.paramsRatio).toBeGreaterThan(WARN_RATIO);
    expect(r.level).toBe('ok');
    expect(r.findings).toEqual([]);
  });

  it('warns below 1/30 of the teacher', () => {
    // width 1/8: parameters scale with width², about 1/64 of the teacher's.
    const r = capacityCheck(summary({ template: 'lenet', width: 1 / 8 }), teacher, 10);
    expect(r.comparison.paramsRatio).toBeLessThan(WARN_RATIO);
    expect(r.comparison.paramsRatio).toBeGreaterThanOrEqual(SEVERE_RATIO);
    expect(r.level).toBe('warn');
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0].message).toMatch(/1\/\d+ of the teacher’s/);
  });

  it('flags convolutions with fewer than 4 output channels', () => {
    // width 3/32: conv1 has 3 channels.
    const r = capacityCheck(summary({ template: 'lenet', width: 3 / 32 }), teacher, 10);
    expect(r.findings.some((f) => f.level === 'warn' && /conv1 \(3\).*fewer than 4 output channels/.test(f.message))).toBe(true);
  });

  it('is severe below 1/100 and when the classifier sees fewer than classes − 1 features', () => {
    const big = summary({ template: 'mlp', inputShape: [28, 28, 1], hidden: [1024, 512] } as never);
    const tiny = summary({ template: 'mlp', inputShape: [28, 28, 1], hidden: [6] } as never);
    const r = capacityCheck(tiny, big, 10);
    expect(r.level).toBe('severe');
    expect(r.findings[0].level).toBe('severe');
    expect(r.findings.map((f) => f.message).join(' ')).toMatch(/far too small/);
    expect(r.findings.map((f) => f.message).join(' ')).toMatch(/Only 6 features reach the final classifier, fewer than the 9/);
    // 9 features for 10 classes is enough.
    expect(capacityCheck(summary({ template: 'mlp', hidden: [9] } as never), summary({ template: 'mlp', hidden: [12] } as never), 10).level).toBe('ok');
  });
});
