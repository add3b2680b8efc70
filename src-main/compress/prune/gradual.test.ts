import { beforeAll, describe, expect, it } from 'vitest';
import { blobs } from '../../../test/helpers/synthetic-data';
import { trainingView } from '../../data';
import { buildTemplate } from '../../models';
import { initBackend } from '../../tf';
import { evaluate } from '../train';
import { stepsPerEpoch } from './fine-tune';
import { pruneStage } from '../../../src-shared/recipe';
import { firstEpochAtTarget, prunePolynomial } from './gradual';
import { scheduleOf } from './run';
import { sparsityOf } from './magnitude';
import { polynomialDecay } from './schedule';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const ds = blobs({ classes: 3, features: 12, perClass: 60, seed: 4 });
const data = trainingView(ds);
const mlp = () => buildTemplate({ template: 'mlp', inputShape: [12], numClasses: 3, hidden: [16, 8], seed: 3 });
const optimizer = { name: 'adam' as const, learningRate: 0.01, momentum: 0 };

describe('prunePolynomial (gradual magnitude pruning, shared by the prune stage and the bench)', () => {
  it('returns the model fine-tuned at the final sparsity: its accuracy is the restored epoch’s, never a ramp epoch’s', async () => {
    const batches = stepsPerEpoch(data, 16);
    // Sparsity ramps over the first two epochs to 97 %: the first epoch ends far less sparse and
    // validates best, so restoring "the best epoch" would pick it.
    const schedule = polynomialDecay({ final: 0.97, endStep: 2 * batches, frequency: 2 });
    const model = mlp();
    const r = await prunePolynomial({ model, data, schedule, scope: 'global', epochs: 4, batchSize: 16, optimizer, seed: 1 });
    const atTarget = firstEpochAtTarget(schedule, batches);
    expect(atTarget).toBe(2);
    expect(r.tunedAtTarget).toBe(true);
    expect(r.fit.bestEpoch).toBeGreaterThanOrEqual(atTarget);
    // What the caller gets is exactly what was validated at the restored epoch.
    const returned = evaluate(r.model, data.val, { numClasses: 3 }).accuracy;
    expect(returned).toBe(r.fit.history[r.fit.bestEpoch - 1].valAccuracy);
    expect(returned).toBe(Math.max(...r.fit.history.slice(atTarget - 1).map((h) => h.valAccuracy!)));
    // At the target, exactly, on the returned plain model.
    const report = sparsityOf(r.model);
    expect(report.zeros).toBe(Math.round(0.97 * report.params));
    expect(r.report.zeros).toBe(report.zeros);
    model.dispose();
    r.model.dispose();
  });

  it("a recipe's polynomial schedule without endStep ramps over its rampShare of the steps and leaves the rest to fine-tune at the target", () => {
    const spec = pruneStage.parse({ kind: 'prune', targetSparsity: 0.9, fineTuneEpochs: 6, schedule: { kind: 'polynomial' } });
    const s = scheduleOf(spec, 100);
    if (s.kind !== 'polynomial') throw new Error('expected a polynomial schedule');
    expect(s.endStep).toBe(400);
    expect(s.final).toBe(0.9);
    expect(firstEpochAtTarget(s, 100)).toBe(4);
    expect(() => pruneStage.parse({ kind: 'prune', targetSparsity: 0.9, schedule: { kind: 'polynomial', rampShare: 0 } })).toThrow();
  });
});
