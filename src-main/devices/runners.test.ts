import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fakeElf } from '../../test/helpers/fake-elf';
import { Store } from '../store';
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

  it('downloads the official build with progress and checks it', async () => {
    const body = fakeElf(0x28, 64 * 1024);
    const server = http.createServer((req, res) => {
      if (req.url?.endsWith('/android_arm_benchmark_model')) {
        res.writeHead(200, { 'content-length': body.length });
        res.end(body);
      } else if (req.url?.endsWith('/android_aarch64_benchmark_model')) {
        res.end(fakeElf(0x3e)); // wrong architecture served
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    process.env.POCKETBENCH_RUNNER_BASE_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/nightly`;
    try {
      const seen: number[] = [];
      const r = await downloadRunner(store, 'armeabi-v7a', path.join(dir, 'dl'), (b) => seen.push(b));
      expect(r).toMatchObject({ abi: 'armeabi-v7a', source: 'download', bytes: body.length, elfMachine: 'arm' });
      expect(seen[seen.length - 1]).toBe(body.length);
      await expect(downloadRunner(store, 'arm64-v8a', path.join(dir, 'dl'), () => {})).rejects.toThrow(/built for x86-64/);
      expect(fs.existsSync(path.join(dir, 'dl', 'benchmark_model-arm64-v8a'))).toBe(false);
      await expect(downloadRunner(store, 'x86', path.join(dir, 'dl'), () => {})).rejects.toThrow(/no official benchmark_model build for x86/);
    } finally {
      delete process.env.POCKETBENCH_RUNNER_BASE_URL;
      server.close();
    }
  });
});
