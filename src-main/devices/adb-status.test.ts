/** Starting the ADB server, respecting POCKETBENCH_ADB_AUTOSTART and ANDROID_ADB_SERVER_PORT, and saying when adb is missing. */
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { adbServerPort, ensureAdbServer, probeAdb, serverListening } from './adb-status';

const saved = { ...process.env };
afterEach(() => {
  for (const k of ['ANDROID_ADB_SERVER_PORT', 'POCKETBENCH_ADB_AUTOSTART', 'POCKETBENCH_ADB']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

describe('ADB server', () => {
  it('explains that adb is missing', async () => {
    process.env.POCKETBENCH_ADB = '/nonexistent/adb';
    process.env.ANDROID_ADB_SERVER_PORT = String(await freePort());
    await expect(ensureAdbServer()).rejects.toMatchObject({ code: 'ADB_MISSING', message: expect.stringContaining('adb is not installed') });
    expect(await probeAdb()).toMatchObject({ state: 'missing', message: expect.stringContaining('apt install adb') });
  });

  it('does not start a server when POCKETBENCH_ADB_AUTOSTART=0, and says how to', async () => {
    const port = await freePort();
    process.env.ANDROID_ADB_SERVER_PORT = String(port);
    process.env.POCKETBENCH_ADB_AUTOSTART = '0';
    expect(adbServerPort()).toBe(port);
    await expect(ensureAdbServer()).rejects.toThrow(`adb -P ${port} start-server`);
    expect(await serverListening(port)).toBe(false);
    expect((await probeAdb()).state).toBe('not-running');
  });

  it('starts the server on ANDROID_ADB_SERVER_PORT when it is not running', async () => {
    const port = await freePort();
    process.env.ANDROID_ADB_SERVER_PORT = String(port);
    try {
      await ensureAdbServer();
      expect(await serverListening(port)).toBe(true);
      expect((await probeAdb()).state).toBe('ready');
    } finally {
      try {
        execFileSync('adb', ['-P', String(port), 'kill-server'], { timeout: 10_000 });
      } catch {
        /* already gone */
      }
    }
  });
});
