import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Store } from '../store';
import { buildCli } from './index';
import { formatTable } from './table';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<string> {
  const out: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  try {
    await buildCli().exitOverride().parseAsync(['node', 'pocketbench', '--data', dir, ...args]);
  } finally {
    spy.mockRestore();
  }
  return out.join('\n');
}

describe('pocketbench CLI', () => {
  it('says what to do when the history is empty', async () => {
    expect(await run(['history'])).toContain('No runs yet');
  });

  it('lists runs as a table and as JSON', async () => {
    const store = new Store(path.join(dir, 'history.sqlite'));
    const id = store.runs.create({ name: 'fashion-distill', recipe: {}, recipeHash: 'h', seed: 3, appVersion: 't', stages: [{ kind: 'distill' }] });
    store.runs.setStatus(id, 'running', { backend: 'wasm', backendThreads: 2 });
    store.runs.setStatus(id, 'succeeded');
    store.close();
    const table = await run(['history']);
    expect(table).toMatch(/ID\s+Name\s+Status/);
    expect(table).toMatch(/fashion-distill\s+succeeded/);
    expect(table).toContain('wasm×2');
    const json = JSON.parse(await run(['history', '--json']));
    expect(json.total).toBe(1);
    expect(json.runs[0]).toMatchObject({ name: 'fashion-distill', status: 'succeeded', seed: 3 });
  });

  it('formats tables with aligned columns', () => {
    const t = formatTable(['a', 'num'], [['x', 1], ['long', 100]]).split('\n');
    expect(t[2]).toBe('x       1');
    expect(t[3]).toBe('long  100');
  });

  it.runIf(fs.existsSync('/work/shared/real-models/tm-keras-rps') || fs.existsSync(path.resolve(import.meta.dirname, '../../../shared/real-models/tm-keras-rps')))(
    'import stores a Teachable Machine .h5 as an artifact and prints its input, labels, parameters and layers',
    async () => {
      const real = [path.resolve(import.meta.dirname, '../../../shared/real-models'), '/work/shared/real-models'].find((d) => fs.existsSync(path.join(d, 'tm-keras-rps')))!;
      const text = await run(['import', path.join(real, 'tm-keras-rps')]);
      expect(text).toMatch(/Artifact #\d+: keras_model\.h5 \(imported\)/);
      expect(text).toMatch(/from: .*keras_model\.h5 \(keras-h5, 3 nested models flattened\)/);
      expect(text).toMatch(/input: +\[224, 224, 3\] float32, normalization mean 127\.5 std 127\.5/);
      expect(text).toMatch(/MobileNetV2/);
      expect(text).toMatch(/labels: +Rock, Paper, Scissors, Nothing/);
      expect(text).toMatch(/Layer\s+Type\s+Output\s+Params\s+MACs/);
      expect(text).toMatch(/Conv1\s+Conv2D/);
      const json = JSON.parse(await run(['import', path.join(real, 'tm-keras-rps', 'keras_model.h5'), '--json', '--normalization', 'unit']));
      expect(json.meta.input.normalization).toEqual({ mean: [0], std: [255] });
      expect(json.normalization.source).toBe('caller');
      expect(json.artifact.runId).toBeNull();
      const store = new Store(path.join(dir, 'history.sqlite'));
      expect(store.artifacts.list({ limit: 10, offset: 0 }).items.filter((a) => a.metrics?.imported === true).length).toBe(2);
      store.close();
      await expect(run(['import', real, '--normalization', 'half'])).rejects.toThrow(/--normalization must be one of signed, unit, raw/);
    },
    120_000,
  );

  it('the built bin prints help', () => {
    const bin = path.resolve(import.meta.dirname, '../../bin/pocketbench.js');
    if (!fs.existsSync(path.resolve(import.meta.dirname, '../../out/main/cli.js'))) return;
    const help = execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(help).toContain('Usage: pocketbench');
    expect(help).toContain('history');
  });
});

describe('pocketbench run (built app)', () => {
  const root = path.resolve(import.meta.dirname, '../..');
  const built = fs.existsSync(path.join(root, 'out/main/cli.js'));
  it.skipIf(!built)('pocketbench demo on a computer without Fashion-MNIST and offline: a failed run that says how to get the files', async () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-cli-offline-'));
    const { closedPortUrl } = await import('../../test/helpers/file-server');
    const r = spawnSync(process.execPath, [path.join(root, 'bin/pocketbench.js'), '--data', data, 'demo'], {
      encoding: 'utf8',
      env: { ...process.env, POCKETBENCH_ADB_AUTOSTART: '0', POCKETBENCH_FASHION_MNIST_DIR: path.join(data, 'fm'), POCKETBENCH_DATASET_MIRROR: await closedPortUrl() },
      timeout: 120_000,
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/Run #1 "Fashion-MNIST demo": failed/);
    expect(r.stdout).toMatch(/Cannot download Fashion-MNIST train-images-idx3-ubyte\.gz: this computer cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)\. Check the internet connection and try again\. Without internet: .*apt install dataset-fashion-mnist/);
    fs.rmSync(data, { recursive: true, force: true });
  }, 120_000);

  it.skipIf(!built)('runs a preset end to end, every stage through profiling on this computer, and prints its table', () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-cli-run-'));
    const out = execFileSync(process.execPath, [path.join(root, 'bin/pocketbench.js'), '--data', data, 'run', 'preset:quick-check'], {
      encoding: 'utf8',
      env: { ...process.env, POCKETBENCH_ADB_AUTOSTART: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 600_000,
    });
    expect(out).toMatch(/Run #1 "Quick check": succeeded/);
    // Stages in words, as the app names them ("1. Train the teacher"), never the recipe's kinds.
    for (const label of ['Train the teacher', 'Distill into the student', 'Quantize', 'Export to \\.tflite', 'Measure latency and memory']) expect(out).toMatch(new RegExp(`\\d\\. ${label}\\s+succeeded`));
    expect(out).toMatch(/this computer [\d.]+ ms/);
    const store = new Store(path.join(data, 'history.sqlite'));
    expect(store.benchmarks.list({ limit: 10, offset: 0 }).items.length).toBe(1);
    store.close();
  }, 600_000);
});
