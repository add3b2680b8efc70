import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeElf } from '../../test/helpers/fake-elf';
import { closedPortUrl, type FileServer, startFileServer } from '../../test/helpers/file-server';
import { Store } from '../store';
import { RUNNER_PINS, type RunnerPin } from './runner-pins';
import { downloadRunner, elfMachine, runnerFor, setRunnerFile, verifyRunner } from './runners';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-runners-'));
const store = new Store(path.join(dir, 'h.sqlite'));
afterAll(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('runners per ABI', () => {
  it('reads the ELF machine', () => {
    expect(elfMachine(fakeElf(0xb7))).toBe('aarch64');
    expect(elfMachine(fakeElf(0x28))).toBe('arm');
    expect(elfMachine(Buffer.from('#!/bin/sh\necho hi\n'))).toBeNull();
  });

  it('records a file with its SHA-256 after checking the architecture, and notices when it changes', async () => {
    const good = path.join(dir, 'bm-arm64');
    fs.writeFileSync(good, fakeElf(0xb7));
    const r = await setRunnerFile(store, 'arm64-v8a', good);
    expect(r).toMatchObject({ abi: 'arm64-v8a', elfMachine: 'aarch64', bytes: 4096, source: 'file' });
    expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(runnerFor(store, ['arm64-v8a', 'armeabi-v7a'], 's').path).toBe(good);
    await verifyRunner(r);
    fs.appendFileSync(good, 'x');
    await expect(verifyRunner(r)).rejects.toThrow(/changed since it was selected/);

    const x86 = path.join(dir, 'bm-x86');
    fs.writeFileSync(x86, fakeElf(0x3e));
    await expect(setRunnerFile(store, 'arm64-v8a', x86)).rejects.toThrow(/built for x86-64, but arm64-v8a phones need aarch64/);
    const script = path.join(dir, 'bm.sh');
    fs.writeFileSync(script, '#!/bin/sh\n');
    await expect(setRunnerFile(store, 'armeabi-v7a', script)).rejects.toThrow(/not a program for Android/);
    expect(() => runnerFor(store, ['x86'], 'emu-1')).toThrow(/No benchmark_model for emu-1 \(x86\)/);
  });

  describe('downloading the official build (local mirror)', () => {
    const arm = fakeElf(0x28, 256 * 1024);
    const armSha = crypto.createHash('sha256').update(arm).digest('hex');
    const pins: RunnerPin[] = [{ abi: 'armeabi-v7a', version: 'test-1', date: '2026-12-05', sha256: armSha, bytes: arm.length }];
    let server: FileServer;
    beforeAll(async () => {
      server = await startFileServer({
        '/nightly/android_arm_benchmark_model': arm,
        '/nightly/android_aarch64_benchmark_model': fakeElf(0x3e, 8192), // wrong architecture served
      });
      process.env.POCKETBENCH_RUNNER_BASE_URL = `${server.url}/nightly/`;
    });
    afterAll(async () => {
      delete process.env.POCKETBENCH_RUNNER_BASE_URL;
      await server.close();
    });
    const fresh = () => fs.mkdtempSync(path.join(dir, 'dl-'));

    it('downloads a pinned build with progress and records it', async () => {
      const seen: number[] = [];
      const r = await downloadRunner(store, 'armeabi-v7a', fresh(), (b) => seen.push(b), undefined, pins);
      expect(r).toMatchObject({ abi: 'armeabi-v7a', source: 'download', bytes: arm.length, elfMachine: 'arm', sha256: armSha });
      expect(seen.at(-1)).toBe(arm.length);
      expect(fs.statSync(r.path).mode & 0o111).toBeTruthy();
    });

    it('continues after a cut connection with a Range request', async () => {
      const start = server.requests.length;
      server.cutOnce('/nightly/android_arm_benchmark_model', 100_000);
      const r = await downloadRunner(store, 'armeabi-v7a', fresh(), () => {}, undefined, pins);
      expect(r.sha256).toBe(armSha);
      const reqs = server.requests.slice(start);
      expect(reqs.map((q) => q.status)).toEqual([200, 206]);
      expect(Number(/^bytes=(\d+)-$/.exec(reqs[1].range!)![1])).toBeGreaterThanOrEqual(100_000);
    });

    it('refuses a corrupted copy and downloads it again', async () => {
      const start = server.requests.length;
      server.corrupt('/nightly/android_arm_benchmark_model', 1);
      const r = await downloadRunner(store, 'armeabi-v7a', fresh(), () => {}, undefined, pins);
      expect(r.sha256).toBe(armSha);
      expect(server.requests.slice(start).map((q) => q.status)).toEqual([200, 200]);

      server.corrupt('/nightly/android_arm_benchmark_model', 2);
      const d = fresh();
      // Two different damaged copies: refused, nothing installed or kept.
      const err = await downloadRunner(store, 'armeabi-v7a', d, () => {}, undefined, pins).catch((e) => e);
      expect(err.code).toBe('HASH_MISMATCH');
      expect(fs.readdirSync(d)).toEqual([]);
    });

    it('refuses a build whose hash is unknown, keeping it aside for the user to pick deliberately', async () => {
      const d = fresh();
      const before = store.runners.get('armeabi-v7a')!.sha256;
      const err = await downloadRunner(store, 'armeabi-v7a', d, () => {}, undefined, []).catch((e) => e);
      expect(err.code).toBe('RUNNER_UNPINNED');
      expect(err.message).toMatch(/^The benchmark_model downloaded for armeabi-v7a \(SHA-256 [0-9a-f]{64}\) is not a build PocketBench knows, so it was not installed\. PocketBench has no pinned hash for the official builds yet .* select it yourself in Devices → Runners: it was kept at .*benchmark_model-armeabi-v7a\.unverified\.$/);
      expect(err.details).toMatchObject({ abi: 'armeabi-v7a', sha256: armSha });
      expect(fs.readdirSync(d)).toEqual(['benchmark_model-armeabi-v7a.unverified']);
      expect(store.runners.get('armeabi-v7a')!.sha256).toBe(before);
      // The user picks that file: accepted, recorded as their choice.
      const picked = await setRunnerFile(store, 'armeabi-v7a', err.details.path);
      expect(picked).toMatchObject({ source: 'file', sha256: armSha });
      // The shipped table has no pins: the official download is refused until a real hash is added.
      const shipped = await downloadRunner(store, 'armeabi-v7a', fresh(), () => {}).catch((e) => e);
      expect(shipped.code).toBe('RUNNER_UNPINNED');
      expect(RUNNER_PINS).toEqual([]);
    });

    it('refuses the wrong architecture at once, an ABI without official builds, and says when offline', async () => {
      const d = fresh();
      await expect(downloadRunner(store, 'arm64-v8a', d, () => {}, undefined, pins)).rejects.toThrow(/built for x86-64/);
      expect(fs.readdirSync(d)).toEqual([]);
      await expect(downloadRunner(store, 'x86', fresh(), () => {})).rejects.toThrow(/no official benchmark_model build for x86/);
      process.env.POCKETBENCH_RUNNER_BASE_URL = await closedPortUrl();
      try {
        const err = await downloadRunner(store, 'armeabi-v7a', fresh(), () => {}, undefined, pins).catch((e) => e);
        expect(err.code).toBe('OFFLINE');
        expect(err.message).toMatch(/^Cannot download benchmark_model for armeabi-v7a: this computer cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)\. .*select a benchmark_model file you already have in Devices → Runners\.$/);
      } finally {
        process.env.POCKETBENCH_RUNNER_BASE_URL = `${server.url}/nightly/`;
      }
    }, 20_000);
  });
});
