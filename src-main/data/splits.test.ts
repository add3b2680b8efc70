import { describe, expect, it } from 'vitest';
import { allocate, calibrationSample, labeledOnly, stratifiedPartition, stratifiedSample, subset, trainingView, withLabeledCount } from './splits';
import { splitUserDataset } from './user-splits';
import { type LoadedDataset, type Split, UNLABELED } from './types';

// 3 classes, unbalanced: 50 / 30 / 20.
const labels = Int32Array.from([...new Array(50).fill(0), ...new Array(30).fill(1), ...new Array(20).fill(2)]);
const countBy = (idx: ArrayLike<number>) => {
  const c = [0, 0, 0];
  for (const i of Array.from(idx)) c[labels[i]]++;
  return c;
};

describe('allocate', () => {
  it('sums exactly to the total, proportionally, never above a weight', () => {
    expect(allocate(10, [50, 30, 20])).toEqual([5, 3, 2]);
    expect(allocate(2, [1, 1, 1]).reduce((a, b) => a + b)).toBe(2);
    expect(allocate(7, [1, 1, 1])).toEqual([1, 1, 1]);
    expect(allocate(5, [1, 0, 10])).toEqual([0, 0, 5]);
    expect(allocate(6, [1, 0, 10])).toEqual([1, 0, 5]);
    expect(allocate(0, [3, 3])).toEqual([0, 0]);
  });
});

describe('stratifiedPartition', () => {
  it('is seeded, disjoint, complete and stratified', () => {
    const [test, val, train] = stratifiedPartition(labels, 3, [0.1, 0.2], 42);
    const again = stratifiedPartition(labels, 3, [0.1, 0.2], 42);
    expect(Array.from(again[0])).toEqual(Array.from(test));
    expect(Array.from(again[2])).toEqual(Array.from(train));
    expect(Array.from(stratifiedPartition(labels, 3, [0.1, 0.2], 43)[0])).not.toEqual(Array.from(test));
    const all = [...test, ...val, ...train];
    expect(new Set(all).size).toBe(100);
    expect(all.length).toBe(100);
    expect(countBy(test)).toEqual([5, 3, 2]);
    expect(countBy(val)).toEqual([10, 6, 4]);
  });

  it('keeps at least one sample of each class for training', () => {
    const tiny = Int32Array.from([0, 0, 0, 0, 1, 1]);
    const [test, val, train] = stratifiedPartition(tiny, 2, [0.4, 0.4], 1);
    const trainClasses = new Set(Array.from(train, (i) => tiny[i]));
    expect(trainClasses).toEqual(new Set([0, 1]));
    expect(test.length + val.length + train.length).toBe(6);
  });
});

describe('samples', () => {
  it('stratifiedSample draws proportionally and deterministically', () => {
    const s = stratifiedSample(labels, 3, 10, 5);
    expect(countBy(s)).toEqual([5, 3, 2]);
    expect(Array.from(stratifiedSample(labels, 3, 10, 5))).toEqual(Array.from(s));
  });
});

function fakeDataset(): LoadedDataset {
  const x = Float32Array.from({ length: 100 * 2 }, (_, i) => Math.floor(i / 2)); // row r = [r, r]
  const { train, val, test } = splitUserDataset({ x, y: labels, sampleShape: [2] }, 3, { seed: 9 });
  return {
    info: { name: 't', kind: 'csv', source: '', contentHash: '', modality: 'tabular', classes: ['a', 'b', 'c'], counts: [50, 30, 20], inputShape: [2], split: { seed: 9, train: train.n, val: val.n, test: test.n } },
    train,
    val,
    test,
  };
}

describe('user dataset splits', () => {
  it('default to 80/10/10, disjoint', () => {
    const ds = fakeDataset();
    expect([ds.train.n, ds.val.n, ds.test.n]).toEqual([80, 10, 10]);
    const rows = (s: Split) => Array.from({ length: s.n }, (_, i) => s.x[i * 2]);
    const seen = new Set([...rows(ds.train), ...rows(ds.val), ...rows(ds.test)]);
    expect(seen.size).toBe(100);
    // Labels travel with their rows.
    for (let i = 0; i < ds.train.n; i++) expect(ds.train.y[i]).toBe(labels[ds.train.x[i * 2]]);
  });

  it('rejects fractions that leave nothing to train on', () => {
    expect(() => splitUserDataset({ x: new Float32Array(200), y: labels, sampleShape: [2] }, 3, { valFraction: 0.5, testFraction: 0.45 })).toThrow(/less than 10 %/);
    expect(() => splitUserDataset({ x: new Float32Array(200), y: labels, sampleShape: [2] }, 3, { valFraction: 1.5 })).toThrow(/valFraction must be between 0 and 1/);
  });
});

describe('labeled fraction', () => {
  it('keeps labels for exactly N training samples, stratified and seeded', () => {
    const { train } = fakeDataset();
    const semi = withLabeledCount(train, 3, 20, 4);
    expect(semi.labeledMask!.reduce((a, b) => a + b, 0)).toBe(20);
    const perClass = [0, 0, 0];
    for (let i = 0; i < semi.n; i++) if (semi.labeledMask![i]) perClass[semi.y[i]]++;
    expect(perClass).toEqual([10, 6, 4]);
    for (let i = 0; i < semi.n; i++) if (!semi.labeledMask![i]) expect(semi.y[i]).toBe(UNLABELED);
    expect(withLabeledCount(train, 3, 20, 4).labeledMask).toEqual(semi.labeledMask);
    // The original split is untouched.
    expect(Array.from(train.y).includes(UNLABELED)).toBe(false);
    const only = labeledOnly(semi);
    expect(only.n).toBe(20);
    expect(Array.from(only.y).includes(UNLABELED)).toBe(false);
    expect(() => withLabeledCount(train, 3, 2, 4)).toThrow(/at least one sample per class/);
  });

  it('subsets keep the mask', () => {
    const semi = withLabeledCount(fakeDataset().train, 3, 20, 4);
    const sub = subset(semi, [0, 1, 2, 3]);
    expect(Array.from(sub.labeledMask!)).toEqual(Array.from(semi.labeledMask!.subarray(0, 4)));
  });
});

describe('calibration and the test split', () => {
  it('draws calibration samples only from the training split', () => {
    const ds = fakeDataset();
    const cal = calibrationSample(ds.train, 16, 1);
    expect(cal.role).toBe('calibration');
    expect(cal.n).toBe(16);
    const trainRows = new Set(Array.from({ length: ds.train.n }, (_, i) => ds.train.x[i * 2]));
    for (let i = 0; i < cal.n; i++) expect(trainRows.has(cal.x[i * 2])).toBe(true);
    expect(calibrationSample(ds.train, 16, 1).x).toEqual(cal.x);
    expect(calibrationSample(ds.train, 1000).n).toBe(ds.train.n);
  });

  it('refuses the test and validation splits, at compile time and at run time', () => {
    const ds = fakeDataset();
    // @ts-expect-error the test split is not a training split
    expect(() => calibrationSample(ds.test, 4)).toThrow(/only accepts the train split, but got the test split/);
    // @ts-expect-error nor is the validation split
    expect(() => withLabeledCount(ds.val, 3, 5, 0)).toThrow(/only accepts the train split/);
    const view = trainingView(ds);
    expect(Object.keys(view).sort()).toEqual(['info', 'train', 'val']);
    // @ts-expect-error the training view has no test split
    expect(view.test).toBeUndefined();
  });
});
