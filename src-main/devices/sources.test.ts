/**
 * Device sources without phones: ids and normalisation of what users type, settings round trip
 * (tokens kept out), and a remote ADB server that does not answer (never started by us, said in words).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AdbSource, readSourceConfigs, remoteAdb, sourceConfigFrom, writeSourceConfigs } from './sources';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-src-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('device source configs', () => {
  it('names a source by its address or farm host, and tidies what was typed', () => {
    expect(sourceConfigFrom({ kind: 'adb', address: ' 127.0.0.1:5038 ' })).toEqual({ id: '127.0.0.1:5038', kind: 'adb', label: '127.0.0.1:5038', address: '127.0.0.1:5038' });
    expect(sourceConfigFrom({ kind: 'adb', address: '[::1]:5038', label: 'v6' })).toMatchObject({ id: '[::1]:5038', label: 'v6' });
    expect(sourceConfigFrom({ kind: 'stf', url: 'https://stf.example.org/', token: ' tok-123456 ' })).toEqual({ id: 'stf.example.org', kind: 'stf', label: 'stf.example.org', url: 'https://stf.example.org', token: 'tok-123456' });
  });

  it('round-trips through settings with the token in a private file, and skips entries that are not sources', () => {
    const dir = tmp();
    const configs = [sourceConfigFrom({ kind: 'adb', address: 'lab:5038' }), sourceConfigFrom({ kind: 'stf', url: 'http://farm:7100', token: 'secret-token-1' })];
    const stored = writeSourceConfigs(configs, dir);
    expect(JSON.stringify(stored)).not.toContain('secret-token-1');
    expect(fs.statSync(path.join(dir, 'secrets', 'stf-tokens.json')).mode & 0o077).toBe(0);
    expect(readSourceConfigs([...stored, { kind: 'adb', id: 'x', address: 'nope' }, 'junk'], dir)).toEqual(configs);
    // Settings copied to another computer (or a shared database) carry no token: the farm says how to fix it.
    expect(readSourceConfigs(stored, tmp())[1]).toMatchObject({ kind: 'stf', token: '' });
  });
});

describe('a remote ADB server that does not answer', () => {
  it('is unreachable with what to check, and nothing is started in its place', async () => {
    const closed = await new Promise<number>((r) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => r(p));
      });
    });
    const statuses: string[] = [];
    const src = new AdbSource(`127.0.0.1:${closed}`, 'lab', remoteAdb(`127.0.0.1:${closed}`), { device: () => undefined, status: (s) => statuses.push(s.state) }, false, 60_000);
    await expect(src.start()).rejects.toThrow(/No ADB server answers at 127\.0\.0\.1:\d+.*SSH tunnel/);
    await src.whenSettled(1000);
    expect(src.status()).toMatchObject({ state: 'unreachable', kind: 'adb', devices: 0 });
    expect(src.message).toMatch(/The ADB server lab .* is unreachable: No ADB server answers/);
    expect(statuses).toEqual(['unreachable']);
    src.stop();
    // Still nothing listening there: PocketBench never starts a server for a remote source.
    const listening = await new Promise<boolean>((r) => net.connect(closed, '127.0.0.1').once('connect', () => r(true)).once('error', () => r(false)));
    expect(listening).toBe(false);
  });
});
