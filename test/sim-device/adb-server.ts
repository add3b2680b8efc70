/**
 * A private ADB server for tests: `adb -P PORT server nodaemon` on a free port, with its own HOME
 * (so its RSA key lives in a temp folder), never the user's server on 5037.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AdbServer {
  port: number;
  /** Env for code under test: ANDROID_ADB_SERVER_PORT, plus POCKETBENCH_ADB_AUTOSTART=0. */
  env: Record<string, string>;
  /** Runs the adb CLI against this server. Rejects with stderr on a non-zero exit. */
  adb(args: string[], opts?: { timeoutMs?: number }): Promise<{ stdout: string; stderr: string }>;
  close(): Promise<void>;
}

export type AdbState = 'device' | 'unauthorized' | 'offline' | 'connecting' | 'authorizing' | 'absent';

/** Asks the OS for a free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startAdbServer(opts: { port?: number; adbPath?: string } = {}): Promise<AdbServer> {
  const bin = opts.adbPath ?? process.env.POCKETBENCH_ADB ?? 'adb';
  const port = opts.port ?? (await freePort());
  const home = mkdtempSync(join(tmpdir(), 'pb-adb-home-'));
  const env = { ...process.env, HOME: home, ANDROID_ADB_SERVER_PORT: String(port) };
  delete (env as Record<string, string | undefined>).ADB_VENDOR_KEYS;
  const child: ChildProcess = spawn(bin, ['-P', String(port), 'server', 'nodaemon'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  const spawnError = new Promise<never>((_r, reject) => {
    child.once('error', (err) =>
      reject(new Error(`Could not start the adb server (${(err as Error).message}). Install adb (Debian: apt-get install adb).`)),
    );
    child.once('exit', (code) => reject(new Error(`adb server exited with code ${code} before listening: ${log.trim()}`)));
  });
  spawnError.catch(() => undefined);
  const deadline = Date.now() + 15_000;
  while (!(await Promise.race([listening(port), spawnError]))) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`adb server did not listen on port ${port} within 15 s: ${log.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const adb: AdbServer['adb'] = (args, o = {}) =>
    new Promise((resolve, reject) => {
      execFile(bin, ['-P', String(port), ...args], { env, timeout: o.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(Object.assign(new Error(`adb ${args.join(' ')} failed: ${stderr || stdout || err.message}`), { stdout, stderr, code: (err as { code?: unknown }).code }));
        else resolve({ stdout, stderr });
      });
    });

  return {
    port,
    env: { ANDROID_ADB_SERVER_PORT: String(port), POCKETBENCH_ADB_AUTOSTART: '0' },
    adb,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** The state `adb devices` shows for a serial (`absent` when not listed). */
export async function deviceState(server: AdbServer, serial: string): Promise<AdbState> {
  const { stdout } = await server.adb(['devices']);
  for (const line of stdout.split('\n')) {
    const [s, state] = line.trim().split(/\s+/);
    if (s === serial) return state as AdbState;
  }
  return 'absent';
}

/** Waits until the device shows `want` (or any of them) in `adb devices`; returns the state. */
export async function waitForState(server: AdbServer, serial: string, want: AdbState | AdbState[], timeoutMs = 10_000): Promise<AdbState> {
  const wanted = Array.isArray(want) ? want : [want];
  const deadline = Date.now() + timeoutMs;
  let last: AdbState = 'absent';
  for (;;) {
    last = await deviceState(server, serial);
    if (wanted.includes(last)) return last;
    if (Date.now() > deadline) throw new Error(`${serial} is ${last} after ${timeoutMs} ms, expected ${wanted.join(' or ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * `adb connect` the simulated device and wait for it to settle. Resolves with the state the server
 * shows: `device`, or `unauthorized` / `offline` when those faults are set.
 */
export async function connect(server: AdbServer, device: { serial: string }, timeoutMs = 10_000): Promise<AdbState> {
  const { stdout } = await server.adb(['connect', device.serial]);
  if (!/connected to/.test(stdout)) throw new Error(`adb connect ${device.serial}: ${stdout.trim()}`);
  return waitForState(server, device.serial, ['device', 'unauthorized', 'offline'], timeoutMs);
}

/** `adb disconnect` (a dead TCP device stays listed as offline until then). */
export async function disconnect(server: AdbServer, device: { serial: string }): Promise<void> {
  await server.adb(['disconnect', device.serial]).catch(() => undefined);
}
