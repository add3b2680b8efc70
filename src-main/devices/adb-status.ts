/**
 * Is `adb` installed, and is its server answering? Cheap checks for the status bar; the device
 * service (devices/index.ts) does the real work with adbkit.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import type { AdbStatus } from '../../src-shared/types';

export function adbServerPort(): number {
  const p = Number(process.env.ANDROID_ADB_SERVER_PORT);
  return Number.isInteger(p) && p > 0 && p < 65536 ? p : 5037;
}

export function adbBinary(): string {
  return process.env.POCKETBENCH_ADB || 'adb';
}

export function adbVersion(bin = adbBinary()): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(bin, ['version'], { timeout: 5000 }, (err, stdout) => {
      if (err) return resolve(null);
      const m = /Android Debug Bridge version ([\d.]+)(?:[\s\S]*?Version ([^\s]+))?/.exec(stdout);
      resolve(m ? (m[2] ? `${m[1]} (${m[2]})` : m[1]) : stdout.split('\n')[0].trim());
    });
  });
}

export function serverListening(port = adbServerPort(), host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export async function probeAdb(): Promise<AdbStatus> {
  const port = adbServerPort();
  const version = await adbVersion();
  const listening = await serverListening(port);
  if (!version && !listening) {
    return {
      state: 'missing',
      serverPort: port,
      message:
        'adb is not installed. Install Android platform-tools (Debian/Ubuntu: `sudo apt install adb`; macOS: `brew install android-platform-tools`) and restart PocketBench.',
    };
  }
  if (!listening) {
    return { state: 'not-running', version: version ?? undefined, serverPort: port, message: 'The ADB server is not running; PocketBench starts it when you open Devices.' };
  }
  return { state: 'ready', version: version ?? undefined, serverPort: port };
}
