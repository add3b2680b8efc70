import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { idxBytes, writeFakeFashionMnist } from '../../test/fixtures/data-fixtures';
import { DEFAULT_FASHION_MNIST_DIR, FASHION_MNIST_CLASSES, findFashionMnistFiles, loadFashionMnist, previewFashionMnist, readFashionMnist } from './fashion-mnist';
import { UNLABELED } from './types';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-fmnist-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const fake = path.join(tmp, 'fake');
writeFakeFashionMnist(fake, 200, 50);

describe('finding the files', () => {
  it('explains how to get Fashion-MNIST when the files are missing', () => {
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    fs.copyFileSync(path.join(fake, 'train-images-idx3-ubyte.gz'), path.join(empty, 'train-images-idx3-ubyte.gz'));
    let err: { code?: string; message?: string; details?: { missing: string[] } } = {};
    try {
      findFashionMnistFiles(empty);
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toMatch(/does not contain train-labels-idx1-ubyte\.gz, t10k-images-idx3-ubyte\.gz, t10k-labels-idx1-ubyte\.gz/);
    expect(err.message).toMatch(/apt install dataset-fashion-mnist/);
    expect(err.message).toMatch(/copy the four files \(train-images-idx3-ubyte\.gz, .*\) into one folder/);
    expect(() => findFashionMnistFiles(path.join(tmp, 'nowhere'))).toThrow(/nowhere does not exist/);
  });

  it('accepts uncompressed files and the dotted file names of some mirrors', () => {
    const plain = path.join(tmp, 'plain');
    writeFakeFashionMnist(plain, 20, 10, { gzip: false, dotted: true });
    const raw = readFashionMnist(plain);
    expect(raw.train.n).toBe(20);
    expect(raw.test.n).toBe(10);
    // Same content, different compression and names: same hash.
    const zipped = path.join(tmp, 'zipped');
    writeFakeFashionMnist(zipped, 20, 10);
    expect(readFashionMnist(zipped).contentHash).toBe(raw.contentHash);
  });
});

describe('validation', () => {
  it('rejects labels outside 0-9 and image/label count mismatches, naming the files', () => {
    const bad = path.join(tmp, 'bad-labels');
    writeFakeFashionMnist(bad, 20, 10);
    fs.writeFileSync(path.join(bad, 't10k-labels-idx1-ubyte.gz'), zlib.gzipSync(idxBytes(0x08, [10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 12])));
    expect(() => readFashionMnist(bad)).toThrow(/t10k-labels-idx1-ubyte\.gz: label 12 at position 9 is outside 0-9/);
    fs.writeFileSync(path.join(bad, 't10k-labels-idx1-ubyte.gz'), zlib.gzipSync(idxBytes(0x08, [9], [0, 1, 2, 3, 4, 5, 6, 7, 8])));
    expect(() => readFashionMnist(bad)).toThrow(/holds 10 images but .*t10k-labels-idx1-ubyte\.gz holds 9 labels/);
  });

  it('rejects a truncated image file', () => {
    const cut = path.join(tmp, 'cut');
    writeFakeFashionMnist(cut, 20, 10, { gzip: false });
    const f = path.join(cut, 'train-images-idx3-ubyte');
    fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 5000));
    expect(() => readFashionMnist(cut)).toThrow(/train-images-idx3-ubyte is not a valid IDX file: it is truncated/);
  });
});

describe('loadFashionMnist', () => {
  it('uses the official test set and carves a stratified validation split from training', () => {
    const ds = loadFashionMnist(fake, { seed: 3 });
    expect(ds.test.n).toBe(50);
    expect(ds.val.n).toBe(20);
    expect(ds.train.n).toBe(180);
    expect(ds.train.sampleShape).toEqual([28, 28, 1]);
    expect(ds.train.x.length).toBe(180 * 784);
    expect(ds.info.classes).toEqual([...FASHION_MNIST_CLASSES]);
    expect(ds.info.counts).toEqual(new Array(10).fill(25));
    // Validation: 2 per class out of 20 per class.
    const valPerClass = new Array(10).fill(0);
    for (const y of ds.val.y) valPerClass[y]++;
    expect(valPerClass).toEqual(new Array(10).fill(2));
    // Pixels scaled to [0, 1] and still matching their labels (pixel 0 = label * 20).
    for (const s of [ds.train, ds.val, ds.test]) {
      for (let i = 0; i < s.n; i++) expect(Math.round(s.x[i * 784] * 255)).toBe(s.y[i] * 20);
    }
    // Train and val are disjoint: the fixture's fill value (index mod 256) identifies the image.
    const ids = (s: typeof ds.train | typeof ds.val) => Array.from({ length: s.n }, (_, i) => Math.round(s.x[i * 784 + 1] * 255));
    const trainIds = new Set(ids(ds.train));
    expect(trainIds.size).toBe(180);
    expect(ids(ds.val).some((i) => trainIds.has(i))).toBe(false);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = loadFashionMnist(fake, { seed: 7 });
    const b = loadFashionMnist(fake, { seed: 7 });
    const c = loadFashionMnist(fake, { seed: 8 });
    expect(a.val.x).toEqual(b.val.x);
    expect(a.train.y).toEqual(b.train.y);
    expect(a.val.x).not.toEqual(c.val.x);
  });

  it('limits the sets and hides labels beyond labeledCount', () => {
    const ds = loadFashionMnist(fake, { seed: 1, limit: { train: 100, test: 20 }, labeledCount: 30 });
    expect(ds.train.n + ds.val.n).toBe(100);
    expect(ds.test.n).toBe(20);
    expect(ds.train.labeledMask).toBeDefined();
    const labeled = ds.train.labeledMask!.reduce((a, b) => a + b, 0);
    expect(labeled).toBe(30);
    for (let i = 0; i < ds.train.n; i++) expect(ds.train.y[i] === UNLABELED).toBe(ds.train.labeledMask![i] === 0);
    expect(ds.info.split).toMatchObject({ seed: 1, train: 90, val: 10, test: 20, labeled: 30 });
  });

  it('previews classes, counts and sample thumbnails', async () => {
    const p = await previewFashionMnist(fake, 2);
    expect(p.classes.map((c) => c.name)).toEqual([...FASHION_MNIST_CLASSES]);
    expect(p.classes[0].count).toBe(25);
    expect(p.classes[0].samples).toHaveLength(2);
    expect(p.classes[0].samples[0]).toMatch(/^data:image\/png;base64,/);
    expect(p.inputShape).toEqual([28, 28, 1]);
    expect(p.total).toBe(250);
  });
});

describe.runIf(fs.existsSync(DEFAULT_FASHION_MNIST_DIR))('the real Fashion-MNIST (Debian package)', () => {
  it('loads 54k/6k/10k with 7,000 images per class', () => {
    const ds = loadFashionMnist(undefined, { seed: 0 });
    expect([ds.train.n, ds.val.n, ds.test.n]).toEqual([54000, 6000, 10000]);
    expect(ds.info.counts).toEqual(new Array(10).fill(7000));
    let max = 0;
    for (let i = 0; i < ds.test.x.length; i++) if (ds.test.x[i] > max) max = ds.test.x[i];
    expect(max).toBe(1);
  });
});
