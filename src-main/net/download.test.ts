import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPortUrl, type FileServer, startFileServer } from '../../test/helpers/file-server';
import { type DownloadProgress, downloadVerified } from './download';

const body = crypto.randomBytes(300_000);
const sha = crypto.createHash('sha256').update(body).digest('hex');
const verify = async (f: string) => {
  const got = crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
  return got === sha ? null : `SHA-256 ${got.slice(0, 12)}…, expected ${sha.slice(0, 12)}…`;
};

let server: FileServer;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-download-'));
beforeAll(async () => {
  server = await startFileServer({ '/f.bin': body });
});
afterAll(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const opts = (dest: string, extra: Partial<Parameters<typeof downloadVerified>[0]> = {}) => ({
  url: `${server.url}/f.bin`,
  dest: path.join(dir, dest),
  label: 'the test file',
  verify,
  retryDelayMs: 0,
  manualRoute: 'Or copy it by hand.',
  ...extra,
});

describe('downloadVerified', () => {
  it('downloads with progress and renames only the verified file', async () => {
    const seen: DownloadProgress[] = [];
    const r = await downloadVerified(opts('a.bin', { onProgress: (p) => seen.push(p) }));
    expect(fs.readFileSync(r.file).equals(body)).toBe(true);
    expect(r).toMatchObject({ bytes: body.length, resumes: 0, redownloads: 0 });
    expect(seen.at(-1)).toEqual({ bytes: body.length, total: body.length, resumed: false });
    expect(seen.length).toBeGreaterThan(1);
    expect(fs.existsSync(`${r.file}.part`)).toBe(false);
  });

  it('continues a cut connection with a Range request from the byte it stopped at', async () => {
    const start = server.requests.length;
    server.cutOnce('/f.bin', 100_000);
    const r = await downloadVerified(opts('b.bin'));
    expect(fs.readFileSync(r.file).equals(body)).toBe(true);
    expect(r.resumes).toBe(1);
    const reqs = server.requests.slice(start);
    expect(reqs[0]).toMatchObject({ range: null, status: 200 });
    expect(reqs[1].status).toBe(206);
    expect(Number(/bytes=(\d+)-/.exec(reqs[1].range!)![1])).toBeGreaterThanOrEqual(100_000);
  });

  it('continues a part left by an earlier run (app closed mid-download)', async () => {
    const dest = path.join(dir, 'c.bin');
    fs.writeFileSync(`${dest}.part`, body.subarray(0, 123_456));
    const start = server.requests.length;
    const seen: DownloadProgress[] = [];
    await downloadVerified(opts('c.bin', { onProgress: (p) => seen.push(p) }));
    expect(fs.readFileSync(dest).equals(body)).toBe(true);
    expect(server.requests.slice(start)).toEqual([{ path: '/f.bin', range: 'bytes=123456-', status: 206 }]);
    expect(seen[0]).toEqual({ bytes: 123_456, total: body.length, resumed: true });
  });

  it('starts over when the server ignores Range, never appending the whole file to a part', async () => {
    const dest = path.join(dir, 'd.bin');
    fs.writeFileSync(`${dest}.part`, body.subarray(0, 5000));
    server.ignoreRange(true);
    try {
      await downloadVerified(opts('d.bin'));
    } finally {
      server.ignoreRange(false);
    }
    expect(fs.readFileSync(dest).equals(body)).toBe(true);
  });

  it('deletes a corrupted download and fetches it again; refuses it when it stays wrong', async () => {
    server.corrupt('/f.bin', 1);
    const r = await downloadVerified(opts('e.bin'));
    expect(r.redownloads).toBe(1);
    expect(fs.readFileSync(r.file).equals(body)).toBe(true);

    server.corrupt('/f.bin', 2);
    const err = await downloadVerified(opts('f.bin')).catch((e) => e);
    expect(err.code).toBe('HASH_MISMATCH');
    expect(err.message).toMatch(/the test file from 127\.0\.0\.1:\d+ is not the expected file \(SHA-256 .*\), twice in a row; it was deleted.*Or copy it by hand\./);
    expect(fs.existsSync(path.join(dir, 'f.bin'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'f.bin.part'))).toBe(false);
  });

  it('says clearly when the server cannot be reached, with the manual route', async () => {
    const url = `${await closedPortUrl()}/f.bin`;
    const err = await downloadVerified(opts('g.bin', { url, attempts: 2 })).catch((e) => e);
    expect(err.code).toBe('OFFLINE');
    expect(err.message).toMatch(/^Cannot download the test file: this computer cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)\. Check the internet connection and try again\. Or copy it by hand\.$/);
  });

  it('reports an HTTP error with the status, and a cancelled download keeps its part', async () => {
    const err = await downloadVerified(opts('h.bin', { url: `${server.url}/missing.bin` })).catch((e) => e);
    expect(err.code).toBe('DOWNLOAD_FAILED');
    expect(err.message).toMatch(/answered HTTP 404/);

    const ac = new AbortController();
    const dest = path.join(dir, 'i.bin');
    const p = downloadVerified(opts('i.bin', { signal: ac.signal, onProgress: (x) => x.bytes > 50_000 && ac.abort() }));
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(fs.existsSync(dest)).toBe(false);
    expect(fs.statSync(`${dest}.part`).size).toBeGreaterThan(50_000);
  });
});
