/**
 * Is `adb` installed, and is its server answering? Cheap checks for the status bar, and
 * `ensureAdbServer`, which starts the server when it is not running (unless
 * POCKETBENCH_ADB_AUTOSTART=0) and explains clearly when `adb` is missing.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { AppError } from '../../src-shared/errors';
import type { AdbStatus } from '../../src-shared/types';
import { locateAdb } from './adb-locate';

export function adbServerPort(): number {
  const p = Number(process.env.ANDROID_ADB_SERVER_PORT);
  return Number.isInteger(p) && p > 0 && p < 65536 ? p : 5037;
}

/** POCKETBENCH_ADB, PATH, then Android SDK platform-tools folders (adb-locate.ts). */
export function adbBinary(): string {
  return locateAdb().bin;
}

/** POCKETBENCH_ADB_AUTOSTART=0 forbids starting an ADB server (tests, shared lab machines). */
export function adbAutostart(): boolean {
  return process.env.POCKETBENCH_ADB_AUTOSTART !== '0';
}

export const ADB_MISSING_MESSAGE =
  'adb is not installed (looked on PATH, in $ANDROID_HOME and $ANDROID_SDK_ROOT, and in Android Studio\'s SDK folder). Install Android platform-tools ' +
  '(Debian/Ubuntu: `sudo apt install adb`; macOS: `brew install --cask android-platform-tools`; Windows: `winget install Google.PlatformTools`; ' +
  'or Android Studio\'s SDK Manager), or set POCKETBENCH_ADB to the adb file, and restart PocketBench.';

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
    return { state: 'missing', serverPort: port, message: ADB_MISSING_MESSAGE };
  }
  if (!listening) {
    const message = adbAutostart()
      ? 'The ADB server is not running; PocketBench starts it when you open Devices.'
      : `The ADB server is not running on port ${port}, and POCKETBENCH_ADB_AUTOSTART=0 stops PocketBench from starting it. Start it with \`adb -P ${port} start-server\`.`;
    return { state: 'not-running', version: version ?? undefined, serverPort: port, message };
  }
  return { state: 'ready', version: version ?? undefined, serverPort: port };
}

/** Make sure an ADB server answers on our port: start it when allowed, or say why not. */
export async function ensureAdbServer(port = adbServerPort(), bin = adbBinary()): Promise<void> {
  if (await serverListening(port)) return;
  if (!adbAutostart()) {
    throw new AppError(
      'ADB_NOT_RUNNING',
      `The ADB server is not running on port ${port}, and POCKETBENCH_ADB_AUTOSTART=0 stops PocketBench from starting it. Start it with \`adb -P ${port} start-server\`.`,
    );
  }
  await new Promise<void>((resolve, reject) => {
    execFile(bin, ['-P', String(port), 'start-server'], { timeout: 20_000 }, (err, _out, stderr) => {
      if (!err) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new AppError('ADB_MISSING', ADB_MISSING_MESSAGE));
      reject(new AppError('ADB_START_FAILED', `The ADB server did not start on port ${port}: ${String(stderr || err.message).trim()}. Check that no other program uses the port.`));
    });
  });
}
