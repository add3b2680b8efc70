import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeFakeFashionMnist, writeImageFolder } from '../../test/fixtures/data-fixtures';
import { buildTemplate, saveModel } from '../models';
import { initBackend } from '../tf';
import { type HostHarness, hostHarness } from '../../test/helpers/host-harness';
import type { DatasetDownloadProgress } from '../../src-shared/engine-types';
import { startFileServer } from '../../test/helpers/file-server';
import { FASHION_MNIST_FILES } from '../data';
import type { Host } from './index';

let h: HostHarness;
let dir: string;
let host: Host;
const call = async (m: string, args?: unknown) => {
  const r = (await h.call(m, args)) as { ok: boolean; result?: unknown; error?: { message: string } };
  if (!r.ok) throw new Error(r.error!.message);
  return r.result as never;
};

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});
beforeEach(() => {
  h = hostHarness('pb-engine-');
  ({ dir, host } = h);
});
afterEach(() => h.close());

describe('engine methods', () => {
  it('datasets.preview: class names, counts, shape and sample images', async () => {
    await writeImageFolder(path.join(dir, 'imgs'), ['cat', 'dog'], 3, [8, 8]);
    const p = await call('datasets.preview', { dataset: { kind: 'image-folder', path: path.join(dir, 'imgs') }, samplesPerClass: 2 });
    expect(p).toMatchObject({ kind: 'image-folder', total: 6 });
    expect((p as { inputShape: number[] }).inputShape.slice(0, 2)).toEqual([8, 8]);
    const classes = (p as { classes: { name: string; count: number; samples: string[] }[] }).classes;
    expect(classes.map((c) => [c.name, c.count])).toEqual([['cat', 3], ['dog', 3]]);
    expect(classes[0].samples).toHaveLength(2);
    expect(classes[0].samples[0]).toMatch(/^data:image\/png;base64,/);
    await expect(call('datasets.preview', { dataset: { kind: 'image-folder', path: path.join(dir, 'missing') } })).rejects.toThrow(/missing/);
  });

  it.runIf(fs.existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz'))(
    'datasets.preview of the built-in Fashion-MNIST downloads it on first use, with progress events to the UI',
    async () => {
      const files: Record<string, Buffer> = {};
      for (const f of FASHION_MNIST_FILES) files[`/fm/${f.name}`] = fs.readFileSync(path.join('/usr/share/datasets/fashion-mnist', f.name));
      const server = await startFileServer(files);
      process.env.POCKETBENCH_FASHION_MNIST_DIR = path.join(dir, 'fresh-machine');
      process.env.POCKETBENCH_DATASET_MIRROR = `${server.url}/fm`;
      const events: DatasetDownloadProgress[] = [];
      const off = host.bus.subscribe((e, p) => e === 'datasets.download' && events.push(p as DatasetDownloadProgress));
      try {
        const p = (await call('datasets.preview', { dataset: { kind: 'fashion-mnist' }, samplesPerClass: 1 })) as { total: number; source: string };
        expect(p).toMatchObject({ total: 70000, source: path.join(dir, 'fresh-machine') });
        expect(events.some((e) => e.phase === 'download' && e.bytes > 0 && e.total)).toBe(true);
        expect(events.at(-1)).toMatchObject({ phase: 'done', files: 4 });
        expect(server.requests.map((r) => r.path).sort()).toEqual(Object.keys(files).sort());
      } finally {
        off();
        delete process.env.POCKETBENCH_FASHION_MNIST_DIR;
        delete process.env.POCKETBENCH_DATASET_MIRROR;
        await server.close();
      }
    },
  );

  it('models.templates and models.summary (template, model.json, artifact)', async () => {
    const t = (await call('models.templates')) as { name: string }[];
    expect(t.map((x) => x.name)).toEqual(['mlp', 'lenet', 'mobilenet', 'resnet']);
    const s = (await call('models.summary', { model: { template: 'lenet', width: 0.5 }, inputShape: [28, 28, 1], numClasses: 10 })) as { layers: { name: string; params: number; macs: number; bytes: number }[]; totals: { params: number } };
    expect(s.layers.find((l) => l.name === 'conv1')).toMatchObject({ params: 3 * 3 * 16 + 16, bytes: (3 * 3 * 16 + 16) * 4 });
    expect(s.totals.params).toBe(s.layers.reduce((a, l) => a + l.params, 0));
    await expect(call('models.summary', { model: { template: 'lenet' } })).rejects.toThrow(/input shape and the number of classes/);
    const m = buildTemplate({ template: 'mlp', inputShape: [4], numClasses: 3, hidden: [5], seed: 1 });
    const saved = await saveModel(m, path.join(dir, 'models'));
    m.dispose();
    const fromFile = (await call('models.summary', { model: { path: saved.path } })) as { totals: { params: number } };
    expect(fromFile.totals.params).toBe(4 * 5 + 5 + 5 * 3 + 3);
    const artifactId = host.store.artifacts.create({ name: 'm', format: 'tfjs-layers', path: saved.path, contentHash: saved.contentHash, bytes: saved.bytes });
    expect(((await call('models.summary', { model: { artifactId } })) as { totals: { params: number } }).totals.params).toBe(43);
  });

  it('models.capacity: findings and suggested widths for a too-small student', async () => {
    const r = (await call('models.capacity', { teacher: { template: 'lenet', width: 1 }, student: { template: 'lenet', width: 0.125 }, inputShape: [28, 28, 1], numClasses: 10 })) as {
      level: string;
      suggestions: { target: number; width: number }[];
      rule: string;
    };
    expect(r.level).toBe('warn');
    expect(r.suggestions.map((s) => s.target)).toEqual([1 / 4, 1 / 8, 1 / 16]);
    expect(r.suggestions[0].width).toBeGreaterThan(r.suggestions[2].width);
    expect(r.rule).toMatch(/1\/30/);
  });

  it('recipes.estimate: time from measured ms/batch, sizes from parameter counts', async () => {
    const fm = path.join(dir, 'fm');
    writeFakeFashionMnist(fm, 200, 20);
    const recipe = {
      name: 'e',
      dataset: { kind: 'fashion-mnist', path: fm, validationFraction: 0.1 },
      stages: [
        { kind: 'train-teacher', model: { template: 'mlp', width: 0.25 }, epochs: 3, batchSize: 30 },
        { kind: 'distill', student: { width: 0.125 }, temperatures: [2, 4], alphas: [0.5], epochs: 2, batchSize: 30 },
        { kind: 'export' },
      ],
    };
    const e = (await call('recipes.estimate', { recipe })) as {
      trainSamples: number;
      stages: { kind: string; batches: number; msPerBatch: number | null; ms: number | null }[];
      totalMs: number;
      teacher: { params: number };
      student: { params: number };
    };
    expect(e.trainSamples).toBe(180);
    expect(e.stages[0]).toMatchObject({ kind: 'train-teacher', batches: 3 * 6 });
    expect(e.stages[0].msPerBatch).toBeGreaterThan(0);
    expect(e.stages[0].ms).toBeCloseTo(e.stages[0].msPerBatch! * 18, 6);
    // 2 temperatures x 1 alpha x 1 seed + the control = 3 trainings of 2 epochs.
    expect(e.stages[1]).toMatchObject({ kind: 'distill', batches: 3 * 2 * 6 });
    expect(e.stages[2]).toMatchObject({ kind: 'export', ms: null });
    expect(e.totalMs).toBeCloseTo(e.stages[0].ms! + e.stages[1].ms!, 6);
    expect(e.student.params).toBeLessThan(e.teacher.params);
    await expect(call('recipes.estimate', { recipe: { ...recipe, stages: [] } })).rejects.toThrow(/Fix the recipe first/);
  });
});
