import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImage, writeImageFolder } from '../../test/fixtures/data-fixtures';
import { errorOf } from '../../test/helpers/errors';
import { buildTemplate } from '../models';
import { evaluate, fit, gatherBatch, predictAll } from '../compress/train';
import { initBackend } from '../tf';
import { loadImageFolder } from './image-folder';
import { imageBatch, imageSplit, withView } from './image-view';
import { calibrationSample, subset, trainingView, withLabeledCount } from './splits';
import { type ImagePixels, type Split, UNLABELED } from './types';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-views-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
beforeAll(async () => {
  await initBackend();
});

const unit = { mean: [0], std: [255] };
const signed = { mean: [127.5], std: [127.5] };

/** An image split whose float rows must never be built: reading `x` fails the test. */
function guarded<R extends Split['role']>(s: Split<R>): Split<R> {
  Object.defineProperty(s, 'x', { get: () => { throw new Error('the float rows of an image split were built'); } });
  return s;
}

describe('image views: uint8 pixels, resized and normalized per batch', () => {
  it('gives [0, 1] rows bit for bit as raw · (1/255) when no resize is asked', () => {
    const pixels = Uint8Array.from({ length: 2 * 3 * 2 * 3 }, (_, i) => (i * 37) % 256);
    const images: ImagePixels = { pixels, shape: [3, 2, 3], view: { size: [3, 2], normalization: unit } };
    const t = imageBatch(images, [1, 0]);
    expect(t.shape).toEqual([2, 3, 2, 3]);
    const got = t.dataSync();
    const want = Float32Array.from([...pixels.subarray(18), ...pixels.subarray(0, 18)], (v) => v * (1 / 255));
    expect(Array.from(got)).toEqual(Array.from(want));
    t.dispose();
  });

  it('applies per-channel normalization for raw 0–255 values and resizes bilinearly with half-pixel centres', () => {
    // One 2×2 RGB image; the red channel is [[0, 255], [255, 0]], green constant 255, blue constant 0.
    const px = [0, 255, 0, 255, 255, 0, 255, 255, 0, 0, 255, 0];
    const images: ImagePixels = { pixels: Uint8Array.from(px), shape: [2, 2, 3], view: { size: [2, 2], normalization: unit } };
    const same = imageBatch(images, [0], { size: [2, 2], normalization: { mean: [127.5, 0, 0], std: [127.5, 1, 255] } });
    expect(Array.from(same.dataSync()).filter((_, i) => i % 3 === 0)).toEqual([-1, 1, 1, -1]);
    expect(Array.from(same.dataSync()).filter((_, i) => i % 3 === 1)).toEqual([255, 255, 255, 255]);
    const up = imageBatch(images, [0], { size: [4, 4], normalization: signed });
    expect(up.shape).toEqual([1, 4, 4, 3]);
    const red = Array.from(up.dataSync()).filter((_, i) => i % 3 === 0);
    // Half-pixel centres: output (0,0) maps to input (-0.25,-0.25) -> clamped to pixel (0,0) = -1;
    // output (0,1) maps to x = 0.25: 0.75·(-1) + 0.25·1 = -0.5.
    expect(red[0]).toBeCloseTo(-1, 6);
    expect(red[1]).toBeCloseTo(-0.5, 6);
    expect(red[3]).toBeCloseTo(1, 6);
    // Constant channels stay constant through the resize.
    expect(Array.from(up.dataSync()).filter((_, i) => i % 3 === 1).every((v) => Math.abs(v - 1) < 1e-6)).toBe(true);
    tf.dispose([same, up]);
  });

  it('serves a 224-px teacher and a smaller student from one folder decoded once, without building float rows', async () => {
    const dir = path.join(tmp, 'two-sizes');
    await writeImageFolder(dir, ['a', 'b'], 12, [16, 16]);
    const ds = await loadImageFolder({ kind: 'image-folder', dir, decodeSize: [16, 16], size: [8, 8], normalization: signed }, { seed: 3 });
    expect(ds.info.inputShape).toEqual([8, 8, 1]);
    expect(ds.info.image).toEqual({ decodeSize: [16, 16], normalization: signed });
    expect(ds.train.images?.shape).toEqual([16, 16, 1]);
    expect(ds.train.sampleShape).toEqual([8, 8, 1]);
    const train = guarded(ds.train);
    const { xs, ys } = gatherBatch(train, Int32Array.from([0, 1, 2]));
    expect(xs.shape).toEqual([3, 8, 8, 1]);
    // Every image is one grey level (40·class + 20): after resizing and x/127.5 − 1 it is still one value.
    const v = xs.dataSync();
    for (let i = 0; i < 3; i++) expect(v[i * 64 + 17]).toBeCloseTo((40 * ys.dataSync()[i] + 20) / 127.5 - 1, 5);
    tf.dispose([xs, ys]);

    const teacher = withView(train, { size: [16, 16], normalization: unit });
    expect(teacher.sampleShape).toEqual([16, 16, 1]);
    expect(teacher.images?.pixels).toBe(train.images?.pixels);
    const tb = gatherBatch(guarded(teacher), Int32Array.from([0]));
    expect(tb.xs.shape).toEqual([1, 16, 16, 1]);
    expect(tb.xs.dataSync()[100]).toBeCloseTo((40 * train.y[0] + 20) / 255, 6);
    tf.dispose([tb.xs, tb.ys]);

    // Training and evaluation go through batches: the guard never fires.
    const model = buildTemplate({ template: 'mlp', inputShape: [8, 8, 1], numClasses: 2, seed: 1, hidden: [8] });
    const data = { info: ds.info, train, val: guarded(ds.val) };
    const res = await fit({ model, data, epochs: 3, batchSize: 8, lr: 0.01 });
    expect(res.epochsRun).toBe(3);
    expect(res.curves.loss.every(Number.isFinite)).toBe(true);
    expect(predictAll(model, data.val).length).toBe(ds.val.n * 2);
    expect(evaluate(model, guarded(ds.test)).accuracy).toBeGreaterThanOrEqual(0);
    model.dispose();
  });

  it('keeps pixels through subsets, labelled subsets and calibration samples; x is built on demand', async () => {
    const dir = path.join(tmp, 'subsets');
    await writeImageFolder(dir, ['a', 'b', 'c'], 10, [6, 6]);
    const ds = await loadImageFolder({ kind: 'image-folder', dir, size: [4, 4] }, { seed: 1 });
    const few = withLabeledCount(ds.train, 3, 6, 0);
    expect(few.images?.pixels).toBe(ds.train.images?.pixels);
    expect(few.labeledMask?.reduce((a, b) => a + b, 0)).toBe(6);
    expect(few.y.filter((y) => y === UNLABELED).length).toBe(ds.train.n - 6);
    const cal = calibrationSample(ds.train, 5, 0);
    expect(cal.images?.shape).toEqual([4, 4, 1]);
    const sub = subset(ds.val, [1]);
    // Built on demand: the rows equal one batch of the same view.
    const batch = imageBatch(ds.val.images!, [1]);
    expect(Array.from(sub.x)).toEqual(Array.from(batch.dataSync()));
    batch.dispose();
    expect(trainingView(ds).train.sampleShape).toEqual([4, 4, 1]);
  });

  it('reads an unlabelled folder: every label hidden, targets to come from a teacher', async () => {
    const dir = path.join(tmp, 'unlabelled');
    for (let i = 0; i < 20; i++) await writeImage(path.join(dir, i % 2 ? 'sub' : '', `p${i}.png`), 6, 6, [i * 10, 0, 0]);
    const ds = await loadImageFolder({ kind: 'image-folder', dir, unlabeled: true }, { seed: 1 });
    expect(ds.info.targets).toBe('teacher');
    expect(ds.info.classes).toEqual([]);
    expect(ds.train.n + ds.val.n + ds.test.n).toBe(20);
    for (const s of [ds.train, ds.val, ds.test]) expect(s.y.every((y) => y === UNLABELED)).toBe(true);
    const few = path.join(tmp, 'few');
    await writeImage(path.join(few, 'one.png'), 6, 6, [1, 2, 3]);
    expect((await errorOf(loadImageFolder({ kind: 'image-folder', dir: few, unlabeled: true }))).message).toMatch(/holds 1 PNG or JPEG image; distilling without labels needs at least 10/);
  });

  it('refuses a normalization that does not fit the channels', async () => {
    const dir = path.join(tmp, 'norm');
    await writeImageFolder(dir, ['a', 'b'], 5, [4, 4]);
    const err = await errorOf(loadImageFolder({ kind: 'image-folder', dir, normalization: { mean: [1, 2], std: [1] } }));
    expect(err.message).toMatch(/one value or one per channel \(1\)/);
    expect(() => imageSplit('val', { pixels: new Uint8Array(3), shape: [1, 1, 1], view: { size: [0, 1], normalization: unit } }, new Int32Array(3))).toThrow(/whole positive/);
  });
});
