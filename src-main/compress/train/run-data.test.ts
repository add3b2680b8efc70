import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunProgress } from '../../../src-shared/contract/pipeline';
import { validateRecipe } from '../../../src-shared/recipe';
import { startFileServer } from '../../../test/helpers/file-server';
import { FASHION_MNIST_FILES } from '../../data';
import { resolvePaths } from '../../host/paths';
import { Store } from '../../store';
import { loadRunDataset } from './run-data';

const debianDir = '/usr/share/datasets/fashion-mnist';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-run-data-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.runIf(FASHION_MNIST_FILES.every((f) => fs.existsSync(path.join(debianDir, f.name))))('a run on a machine without Fashion-MNIST', () => {
  it('downloads it first, reporting a few dozen stage progress updates (not one per network chunk), then loads it', async () => {
    const files: Record<string, Buffer> = {};
    for (const f of FASHION_MNIST_FILES) files[`/m/${f.name}`] = fs.readFileSync(path.join(debianDir, f.name));
    const server = await startFileServer(files);
    process.env.POCKETBENCH_FASHION_MNIST_DIR = path.join(tmp, 'fm');
    process.env.POCKETBENCH_DATASET_MIRROR = `${server.url}/m`;
    const paths = resolvePaths(path.join(tmp, 'data'));
    fs.mkdirSync(paths.dataDir, { recursive: true });
    const store = new Store(paths.dbPath);
    try {
      const checked = validateRecipe({ name: 't', seed: 1, dataset: { kind: 'fashion-mnist', limitTrain: 500, limitTest: 100 }, stages: [{ kind: 'train-teacher', model: { template: 'mlp' }, epochs: 1 }] });
      if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
      const seen: Omit<RunProgress, 'runId' | 'stageIndex' | 'stageKind'>[] = [];
      const ds = await loadRunDataset({ recipe: checked.recipe, paths, store, progress: (p) => seen.push(p) });
      expect(ds.info.source).toBe(path.join(tmp, 'fm'));
      expect(ds.test.n).toBe(100);
      expect(seen.every((p) => p.phase === 'dataset download')).toBe(true);
      expect(seen.length).toBeGreaterThan(10);
      expect(seen.length).toBeLessThan(120);
      expect(seen.at(-1)!.message).toMatch(/^Fashion-MNIST downloaded and verified \(29\.\d MiB\)\.$/);
      expect(seen.some((p) => /^Downloading Fashion-MNIST: .* of 29\.\d MiB \(file 1 of 4\)$/.test(p.message ?? ''))).toBe(true);
    } finally {
      store.close();
      delete process.env.POCKETBENCH_FASHION_MNIST_DIR;
      delete process.env.POCKETBENCH_DATASET_MIRROR;
      await server.close();
    }
  });
});
