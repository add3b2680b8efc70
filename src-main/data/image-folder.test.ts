import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImage, writeImageFolder } from '../../test/fixtures/data-fixtures';
import { decodeImageFolder, loadImageFolder, previewImageFolder } from './image-folder';
import { errorOf } from '../../test/helpers/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-imgs-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const good = path.join(tmp, 'good');
beforeAll(async () => {
  await writeImageFolder(good, ['bird', 'cat', 'dog'], 10, [6, 5]);
});

describe('loading an image folder', () => {
  it('decodes grayscale PNGs at their own size into NHWC floats in [0, 1], classes sorted', async () => {
    const ds = await loadImageFolder({ kind: 'image-folder', dir: good }, { seed: 1 });
    expect(ds.info.classes).toEqual(['bird', 'cat', 'dog']);
    expect(ds.info.counts).toEqual([10, 10, 10]);
    expect(ds.info.inputShape).toEqual([6, 5, 1]);
    expect([ds.train.n, ds.val.n, ds.test.n]).toEqual([24, 3, 3]);
    for (const s of [ds.train, ds.val, ds.test]) {
      for (let i = 0; i < s.n; i++) {
        const v = s.x[i * 30 + 7];
        expect(Math.round(v * 255)).toBe(40 * s.y[i] + 20);
      }
    }
    expect(ds.info.contentHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('picks RGB when any image has colour, and resizes to a requested size', async () => {
    const dir = path.join(tmp, 'rgb');
    await writeImage(path.join(dir, 'red', 'a.jpg'), 10, 10, [250, 0, 0]);
    await writeImage(path.join(dir, 'red', 'b.JPEG'), 20, 16, [240, 10, 10]);
    await writeImage(path.join(dir, 'gray', 'c.png'), 12, 12, [128, 128, 128], 1);
    await writeImage(path.join(dir, 'gray', 'd.png'), 12, 12, [100, 100, 100], 4);
    const decoded = await decodeImageFolder({ kind: 'image-folder', dir, size: [4, 4] });
    expect(decoded.shape).toEqual({ height: 4, width: 4, channels: 3 });
    expect(decoded.pixels.length).toBe(4 * 4 * 4 * 3);
    // Class order: gray (c.png, d.png) then red (a.jpg, b.JPEG). First pixel of a.jpg is red.
    const a = decoded.pixels.subarray(2 * 48, 2 * 48 + 3);
    expect(a[0]).toBeGreaterThan(200);
    expect(a[1]).toBeLessThan(40);
    // A grayscale PNG expanded to RGB has equal channels.
    expect(decoded.pixels[0]).toBe(decoded.pixels[1]);
    const gray = await decodeImageFolder({ kind: 'image-folder', dir, size: [4, 4], channels: 1 });
    expect(gray.shape.channels).toBe(1);
    expect(gray.pixels.length).toBe(4 * 4 * 4);
  });

  it('treats RGB files whose pixels are gray as grayscale, unless told otherwise', async () => {
    const dir = path.join(tmp, 'gray-as-rgb');
    await writeImage(path.join(dir, 'a', '1.jpg'), 8, 8, [90, 90, 90]);
    await writeImage(path.join(dir, 'b', '2.png'), 8, 8, [30, 30, 30]);
    expect((await decodeImageFolder({ kind: 'image-folder', dir })).shape.channels).toBe(1);
    expect((await decodeImageFolder({ kind: 'image-folder', dir, channels: 3 })).shape.channels).toBe(3);
    const err = await errorOf(decodeImageFolder({ kind: 'image-folder', dir, channels: 2 as 1 }));
    expect(err.message).toMatch(/1 \(grayscale\) or 3 \(RGB\) channels, not 2/);
  });

  it('caches decoded pixels by content hash', async () => {
    const cacheDir = path.join(tmp, 'cache');
    const first = await decodeImageFolder({ kind: 'image-folder', dir: good }, cacheDir);
    const second = await decodeImageFolder({ kind: 'image-folder', dir: good }, cacheDir);
    expect(first.fromCache).toBe(false);
    expect(second.fromCache).toBe(true);
    expect(second.pixels).toEqual(first.pixels);
    expect(second.shape).toEqual(first.shape);
    expect(fs.readdirSync(cacheDir).sort().map((f) => path.extname(f))).toEqual(['.json', '.u8']);
    // Another request (a resize) is another entry.
    const resized = await decodeImageFolder({ kind: 'image-folder', dir: good, size: [3, 3] }, cacheDir);
    expect(resized.fromCache).toBe(false);
    expect(resized.pixels.length).toBe(30 * 9);
  });

  it('previews counts, sizes and thumbnails, and warns about mixed sizes instead of failing', async () => {
    const p = await previewImageFolder({ kind: 'image-folder', dir: good }, 2);
    expect(p.classes.map((c) => [c.name, c.count, c.samples.length])).toEqual([
      ['bird', 10, 2],
      ['cat', 10, 2],
      ['dog', 10, 2],
    ]);
    expect(p.classes[0].samples[0]).toMatch(/^data:image\/png;base64,/);
    expect(p.inputShape).toEqual([6, 5, 1]);
    expect(p.imageSizes).toEqual([expect.objectContaining({ width: 5, height: 6, count: 30 })]);
    expect(p.warnings).toEqual([]);
  });
});

describe('bad image folders', () => {
  it('no class subfolders', async () => {
    const dir = path.join(tmp, 'flat');
    await writeImage(path.join(dir, 'x.png'), 4, 4, [1, 1, 1]);
    const err = await errorOf(loadImageFolder({ kind: 'image-folder', dir }));
    expect(err.code).toBe('INVALID_DATA');
    expect(err.message).toMatch(/has no class subfolders \(it holds 1 images directly\)/);
  });

  it('an empty class folder, named', async () => {
    const dir = path.join(tmp, 'empty-class');
    await writeImageFolder(dir, ['a', 'b'], 2);
    fs.mkdirSync(path.join(dir, 'c'));
    fs.writeFileSync(path.join(dir, 'c', 'notes.txt'), 'hi');
    const err = await errorOf(loadImageFolder({ kind: 'image-folder', dir }));
    expect(err.message).toContain(`The class folder ${path.join(dir, 'c')} has no PNG or JPEG images (it holds 1 other files, e.g. notes.txt)`);
  });

  it('a corrupt image, named', async () => {
    const dir = path.join(tmp, 'corrupt');
    await writeImageFolder(dir, ['a', 'b'], 3);
    const bad = path.join(dir, 'b', 'broken.png');
    fs.writeFileSync(bad, Buffer.from('this is not a png'));
    const err = await errorOf(loadImageFolder({ kind: 'image-folder', dir }));
    expect(err.code).toBe('INVALID_DATA');
    expect(err.message).toContain(`Cannot read the image ${bad}`);
  });

  it('a truncated image, named', async () => {
    const dir = path.join(tmp, 'truncated');
    await writeImageFolder(dir, ['a', 'b'], 3, [40, 40]);
    const file = path.join(dir, 'a', 'img001.png');
    await writeImage(file, 64, 64, [9, 99, 199]);
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 40));
    const err = await errorOf(loadImageFolder({ kind: 'image-folder', dir, size: [8, 8] }));
    expect(err.message).toContain(`Cannot read the image ${file}`);
  });

  it('mixed sizes: lists them and offers a resize', async () => {
    const dir = path.join(tmp, 'mixed');
    await writeImageFolder(dir, ['a', 'b'], 3, [8, 8]);
    await writeImage(path.join(dir, 'b', 'big.png'), 16, 12, [5, 5, 5], 1);
    const err = await errorOf(loadImageFolder({ kind: 'image-folder', dir }));
    expect(err.message).toMatch(/have different sizes: 8×8 \(6 images, e\.g\. a\/img000\.png\), 16×12 \(1 image, e\.g\. b\/big\.png\)/);
    expect(err.message).toMatch(/Choose a size to resize them all to \(for example 8×8/);
    expect(err.details?.suggestedSize).toEqual([8, 8]);
    const ok = await loadImageFolder({ kind: 'image-folder', dir, size: [8, 8] }, { valFraction: 0.15, testFraction: 0.15 });
    expect(ok.info.inputShape).toEqual([8, 8, 1]);
    const preview = await previewImageFolder({ kind: 'image-folder', dir });
    expect(preview.warnings[0]).toMatch(/different sizes/);
    expect(preview.inputShape).toEqual([8, 8, 1]);
  });

  it('a folder that does not exist, or a single class', async () => {
    expect((await errorOf(loadImageFolder({ kind: 'image-folder', dir: path.join(tmp, 'nope') }))).code).toBe('NOT_FOUND');
    const one = path.join(tmp, 'one');
    await writeImageFolder(one, ['only'], 2);
    expect((await errorOf(loadImageFolder({ kind: 'image-folder', dir: one }))).message).toMatch(/only one class subfolder \(only\)/);
  });
});
