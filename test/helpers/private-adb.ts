/**
 * For device tests: a private `adb` server on a free port (its own HOME, never the user's 5037),
 * and minimal TCP peers that the real server connects to with `adb connect` — one that answers
 * and vanishes (the server lists it as offline) and one that asks for authentication (unauthorized).
 * The full simulated phone is test/sim-device.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export interface PrivateAdb {
  port: number;
  adb(args: string[]): Promise<string>;
  close(): Promise<void>;
}

export async function startPrivateAdb(): Promise<PrivateAdb> {
  const port = await freePort();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-adb-home-'));
  const env = { ...process.env, HOME: home, ANDROID_ADB_SERVER_PORT: String(port) };
  const child = spawn('adb', ['-P', String(port), 'server', 'nodaemon'], { env, stdio: 'ignore' });
  const up = async () => new Promise<boolean>((r) => net.connect(port, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); r(true); }).once('error', () => r(false)));
  for (let i = 0; i < 300 && !(await up()); i++) await new Promise((r) => setTimeout(r, 50));
  return {
    port,
    adb: (args) => new Promise((resolve, reject) => execFile('adb', ['-P', String(port), ...args], { env, timeout: 20_000 }, (err, out, errOut) => (err ? reject(new Error(errOut || err.message)) : resolve(out)))),
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

const A_CNXN = 0x4e584e43;
const A_AUTH = 0x48545541;

function packet(cmd: number, arg0: number, arg1: number, data: Buffer): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(cmd, 0);
  h.writeUInt32LE(arg0, 4);
  h.writeUInt32LE(arg1, 8);
  h.writeUInt32LE(data.length, 12);
  h.writeUInt32LE(data.reduce((s, b) => s + b, 0) >>> 0, 16);
  h.writeUInt32LE((cmd ^ 0xffffffff) >>> 0, 20);
  return Buffer.concat([h, data]);
}

export interface Peer {
  port: number;
  serial: string;
  close(): Promise<void>;
}

/**
 * A TCP peer on a free port (outside 5555–5585, which adb probes as emulators). `drop` answers
 * the host's CNXN, then disappears (adb lists it as offline until `adb disconnect`); `auth` answers
 * with AUTH tokens the host cannot satisfy (adb lists it as unauthorized).
 */
export async function startPeer(kind: 'drop' | 'auth'): Promise<Peer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.on('data', (d) => {
      if (d.length < 24) return;
      const cmd = d.readUInt32LE(0);
      // Ask for a token the host can never sign for: it stays unauthorized.
      if (kind === 'auth' && (cmd === A_CNXN || cmd === A_AUTH)) s.write(packet(A_AUTH, 1, 0, Buffer.alloc(20, 7)));
      if (kind === 'drop' && cmd === A_CNXN) {
        s.write(packet(A_CNXN, 0x01000000, 4096, Buffer.from('device::ro.product.name=peer;ro.product.model=Peer;ro.product.device=peer;features=shell_v1\0')));
        // Then the phone vanishes and stops listening: adb keeps it listed as offline.
        setTimeout(() => {
          server.close();
          s.destroy();
        }, 300);
      }
    });
  });
  let port = 0;
  do {
    port = await freePort();
  } while (port >= 5555 && port <= 5585);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    port,
    serial: `127.0.0.1:${port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(() => r(undefined)));
    },
  };
}
