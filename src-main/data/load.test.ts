import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFakeFashionMnist, writeImageFolder } from '../../test/fixtures/data-fixtures';
import { Store } from '../store';
import { loadDataset, previewDataset, recordDataset } from './load';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-load-'));
const store = new Store(path.join(tmp, 'history.sqlite'));
afterAll(() => {
  store.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('loadDataset and recordDataset', () => {
  it('dispatches on the source kind and records each dataset once per content', async () => {
    const fm = path.join(tmp, 'fm');
    writeFakeFashionMnist(fm, 40, 20);
    const imgs = path.join(tmp, 'imgs');
    await writeImageFolder(imgs, ['a', 'b'], 10);
    const csv = path.join(tmp, 't.csv');
    fs.writeFileSync(csv, 'x,y,label\n' + Array.from({ length: 20 }, (_, i) => `${i},${i * 2},${i % 2 ? 'odd' : 'even'}`).join('\n'));

    const a = await loadDataset({ kind: 'fashion-mnist', dir: fm });
    const b = await loadDataset({ kind: 'image-folder', dir: imgs });
    const c = await loadDataset({ kind: 'csv', file: csv, labelColumn: 'label' });
    expect([a.info.kind, b.info.kind, c.info.kind]).toEqual(['fashion-mnist', 'image-folder', 'csv']);

    const ids = [a, b, c].map((d) => recordDataset(store, d.info));
    expect(new Set(ids).size).toBe(3);
    // Same content from another folder -> same row, source refreshed.
    const copy = path.join(tmp, 'imgs-copy');
    fs.cpSync(imgs, copy, { recursive: true });
    const b2 = await loadDataset({ kind: 'image-folder', dir: copy });
    expect(recordDataset(store, b2.info)).toBe(ids[1]);
    const row = store.datasets.get(ids[1])!;
    expect(row).toMatchObject({ kind: 'image-folder', classes: ['a', 'b'], counts: [10, 10], inputShape: [8, 8, 1], source: copy });
    expect(store.datasets.list()).toHaveLength(3);

    const p = await previewDataset({ kind: 'csv', file: csv, labelColumn: 'label' });
    expect(p.classes.map((x) => x.name)).toEqual(['even', 'odd']);
  });
});
