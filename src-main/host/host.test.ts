import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { methodNames } from '../../src-shared/contract';
import { type HostHarness, hostHarness } from '../../test/helpers/host-harness';
import type { Host } from './index';
import { safeJoin } from './paths';

let h: HostHarness;
let dir: string;
let host: Host;
const call = (m: string, args?: unknown) => h.call(m, args);

beforeEach(() => {
  h = hostHarness();
  ({ dir, host } = h);
});
afterEach(() => h.close());

describe('host', () => {
  it('has a handler for every contract method', () => {
    expect(Object.keys(host.handlers).sort()).toEqual([...methodNames].sort());
  });

  it('reports status with the database location', async () => {
    const r = await call('app.status');
    expect(r).toMatchObject({ ok: true, result: { dbPath: path.join(dir, 'history.sqlite'), transport: 'websocket', nativeDialogs: false } });
  });

  it('deletes a run with its files inside the data folder, never outside it', async () => {
    const inside = path.join(dir, 'artifacts', 'abc');
    fs.mkdirSync(inside, { recursive: true });
    fs.writeFileSync(path.join(inside, 'model.json'), '{}');
    fs.writeFileSync(path.join(inside, 'weights.bin'), 'x');
    const outside = path.join(os.tmpdir(), `pb-user-model-${process.pid}.tflite`);
    fs.writeFileSync(outside, 'user file');
    const id = host.store.runs.create({ name: 'r', recipe: {}, recipeHash: 'h', seed: 1, appVersion: 't' });
    host.store.artifacts.create({ runId: id, name: 'a', format: 'tfjs-layers', path: path.join(inside, 'model.json'), contentHash: 'h', bytes: 1 });
    host.store.artifacts.create({ runId: id, name: 'b', format: 'tflite', path: outside, contentHash: 'h2', bytes: 1 });
    const events: unknown[] = [];
    host.bus.subscribe((e, p) => events.push([e, p]));
    const r = await call('runs.delete', { id });
    expect(r).toEqual({ ok: true, result: { deletedFiles: 1 } });
    expect(fs.existsSync(inside)).toBe(false);
    expect(fs.existsSync(outside)).toBe(true);
    expect(events).toContainEqual(['runs.changed', { runId: id }]);
    expect(await call('runs.delete', { id })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    fs.rmSync(outside);
  });

  it('receives uploads in chunks inside the uploads folder and refuses escapes', async () => {
    const a = await call('files.upload', { uploadId: 'abcdef12', relativePath: 'imgs/cat/1.png', base64: Buffer.from('hello ').toString('base64') });
    const b = await call('files.upload', { uploadId: 'abcdef12', relativePath: 'imgs/cat/1.png', base64: Buffer.from('world').toString('base64'), append: true });
    expect(a.ok && b.ok).toBe(true);
    const p = (b as { result: { path: string } }).result.path;
    expect(p).toBe(path.join(dir, 'uploads', 'abcdef12', 'imgs', 'cat', '1.png'));
    expect(fs.readFileSync(p, 'utf8')).toBe('hello world');
    expect(await call('files.upload', { uploadId: 'abcdef12', relativePath: '../../escape.txt', base64: '' })).toMatchObject({ ok: false });
    expect(await call('files.upload', { uploadId: '../../x', relativePath: 'a', base64: '' })).toMatchObject({ ok: false, error: { code: 'INVALID_ARGS' } });
  });

  it('explains that file dialogs are desktop-only in the browser', async () => {
    expect(await call('files.pick', { directory: false })).toMatchObject({ ok: false, error: { code: 'UNSUPPORTED', message: expect.stringContaining('Type the full path') } });
  });

  it('checks typed paths', async () => {
    expect(await call('files.stat', { path: dir })).toMatchObject({ ok: true, result: { exists: true, kind: 'directory' } });
    expect(await call('files.stat', { path: 'relative/path' })).toMatchObject({ ok: false, error: { code: 'INVALID_ARGS' } });
  });

  it('serves a TF.js model folder as one .zip over artifacts.read, and refuses one whose manifest reaches outside', async () => {
    const folder = path.join(dir, 'artifacts', 'f00d');
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [] }] }));
    fs.writeFileSync(path.join(folder, 'group1-shard1of1.bin'), Buffer.alloc(64, 7));
    const id = host.store.artifacts.create({ name: 'Teacher', format: 'tfjs-layers', path: folder, contentHash: 'f00d', bytes: 80 });
    const r = (await call('artifacts.read', { id })) as { ok: true; result: { filename: string; base64: string } };
    expect(r).toMatchObject({ ok: true, result: { filename: `Teacher-${id}.zip`, path: folder } });
    expect(Object.keys(unzipSync(Buffer.from(r.result.base64, 'base64')))).toEqual([`Teacher-${id}/model.json`, `Teacher-${id}/group1-shard1of1.bin`]);
    fs.writeFileSync(path.join(folder, 'model.json'), JSON.stringify({ weightsManifest: [{ paths: ['../../history.sqlite'], weights: [] }] }));
    expect(await call('artifacts.read', { id })).toMatchObject({ ok: false, error: { code: 'INVALID_MODEL', message: expect.stringMatching(/outside the model's folder/) } });
  });

  it('backs up to the backups folder', async () => {
    const r = await call('store.backup', {});
    expect(r.ok).toBe(true);
    expect((r as { result: { path: string } }).result.path.startsWith(path.join(dir, 'backups'))).toBe(true);
  });
});

describe('safeJoin', () => {
  it('keeps paths inside their root', () => {
    expect(safeJoin('/root', 'a/b.txt')).toBe('/root/a/b.txt');
    expect(() => safeJoin('/root', '../x')).toThrow(/leave its folder/);
    expect(() => safeJoin('/root', 'a/../../x')).toThrow(/leave its folder/);
    expect(safeJoin('/root', '/abs/x')).toBe('/root/abs/x');
    expect(() => safeJoin('/root', 'a\0b')).toThrow(/NUL/);
  });
});
