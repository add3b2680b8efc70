/**
 * `pocketbench bench artifact:N --device host`: a CLI benchmark of a stored .tflite is linked to
 * its artifact, so its result reaches Compare; a bare path with the bytes of a stored .tflite is
 * linked too, and any other file is benchmarked unlinked, saying so. Runs on this computer (LiteRT).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchModelFor } from '../src-main/devices/bench-model';
import { sha256File } from '../src-main/devices/runners';
import { Store } from '../src-main/store';
import { runCli } from './helpers/cli';

const MODEL = path.resolve(import.meta.dirname, 'fixtures/models/face_detection_short_range.tflite');
let dir: string;
let artifactId: number;
let tfjsId: number;
let stored: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-clibench-art-'));
  stored = path.join(dir, 'artifacts', 'face.tflite');
  fs.mkdirSync(path.dirname(stored), { recursive: true });
  fs.copyFileSync(MODEL, stored);
  const store = new Store(path.join(dir, 'history.sqlite'));
  const runId = store.runs.create({ name: 'face', recipe: {}, recipeHash: 'h', seed: 1, appVersion: 't', status: 'succeeded' });
  tfjsId = store.artifacts.create({ runId, name: 'student', format: 'tfjs-layers', path: path.join(dir, 'artifacts', 'student'), contentHash: 'x', bytes: 10 });
  artifactId = store.artifacts.create({ runId, parentId: tfjsId, name: 'FP32 · face.tflite', format: 'tflite', path: stored, contentHash: await sha256File(stored), bytes: fs.statSync(stored).size, precision: 'fp32' });
  store.close();
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const cli = (args: string[]) => runCli(dir, args);

const quick = ['--device', 'host', '--trials', '2', '--runs', '3', '--warmup', '1', '--threads', '1'];

describe('pocketbench bench with an artifact', () => {
  it('resolves artifact:N, #N and a path with a stored .tflite’s bytes; refuses a TF.js artifact and an unknown id', async () => {
    const store = new Store(path.join(dir, 'history.sqlite'));
    try {
      expect(await benchModelFor(store, `artifact:${artifactId}`)).toMatchObject({ path: stored, artifactId, linkedBy: 'reference', name: 'FP32 · face.tflite' });
      expect(await benchModelFor(store, `#${artifactId}`)).toMatchObject({ artifactId, linkedBy: 'reference' });
      // The fixture itself, elsewhere on disk: same bytes, so the same artifact.
      expect(await benchModelFor(store, MODEL)).toMatchObject({ path: MODEL, artifactId, linkedBy: 'content' });
      const other = path.join(dir, 'other.tflite');
      fs.writeFileSync(other, Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.from('TFL3'), Buffer.alloc(16)]));
      expect(await benchModelFor(store, other)).toEqual({ path: other, artifactId: null, linkedBy: null });
      await expect(benchModelFor(store, `artifact:${tfjsId}`)).rejects.toThrow(/is a tfjs-layers model; benchmarks need a \.tflite file/);
      await expect(benchModelFor(store, 'artifact:999')).rejects.toThrow(/There is no artifact #999/);
      await expect(benchModelFor(store, 'artifact:five')).rejects.toThrow(/write artifact:N/);
    } finally {
      store.close();
    }
  });

  it('links `bench artifact:N` to the artifact, so the result reaches Compare', async () => {
    const r = await cli(['bench', `artifact:${artifactId}`, ...quick]);
    expect(r.err).toContain(`Benchmarking artifact #${artifactId} FP32 · face.tflite: the result shows in Compare.`);
    expect(r.out).toMatch(new RegExp(`^Benchmark #\\d+ on host of artifact #${artifactId}: succeeded`));
    expect(r.exitCode).toBeUndefined();
    const store = new Store(path.join(dir, 'history.sqlite'));
    try {
      const rows = store.compare.rows({ includeUnbenchmarked: false, limit: 10 });
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ artifactId, deviceName: expect.stringMatching(/^This computer/) });
      expect(rows[0].latencyUs).toBeGreaterThan(0);
    } finally {
      store.close();
    }
  }, 120_000);

  it('links a path with the bytes of a stored .tflite, and says so', async () => {
    const r = await cli(['bench', MODEL, ...quick]);
    expect(r.err).toContain(`Benchmarking artifact #${artifactId} FP32 · face.tflite (the file has its bytes): the result shows in Compare.`);
    expect(r.out).toMatch(new RegExp(`^Benchmark #\\d+ on host of artifact #${artifactId}: succeeded`));
    const store = new Store(path.join(dir, 'history.sqlite'));
    try {
      expect(store.compare.rows({ includeUnbenchmarked: false, limit: 10 })).toHaveLength(2);
    } finally {
      store.close();
    }
  }, 120_000);

  it('refuses artifact:N when the file at its stored path no longer has its bytes, and stores nothing', async () => {
    const store = new Store(path.join(dir, 'history.sqlite'));
    const swapped = path.join(dir, 'artifacts', 'swapped.tflite');
    fs.writeFileSync(swapped, Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.from('TFL3'), Buffer.alloc(64)]));
    let id: number;
    let before: number;
    try {
      const runId = store.runs.create({ name: 'swap', recipe: {}, recipeHash: 'h', seed: 1, appVersion: 't', status: 'succeeded' });
      // As a shared history can say: a row whose path names a different file on this computer.
      id = store.artifacts.create({ runId, name: 'int8.tflite', format: 'tflite', path: swapped, contentHash: await sha256File(MODEL), bytes: 10, precision: 'int8' });
      before = (store.db.prepare('SELECT count(*) AS n FROM benchmarks').get() as { n: number }).n;
    } finally {
      store.close();
    }
    await expect(cli(['bench', `artifact:${id!}`, ...quick])).rejects.toThrow(`is not the file of artifact #${id!} "int8.tflite"`);
    const after = new Store(path.join(dir, 'history.sqlite'));
    try {
      expect((after.db.prepare('SELECT count(*) AS n FROM benchmarks').get() as { n: number }).n).toBe(before);
    } finally {
      after.close();
    }
  }, 120_000);
});
