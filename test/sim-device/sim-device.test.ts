/**
 * The simulated phone through the real `adb` server (private port) and through adbkit: connect,
 * shell v1 and v2 (exit status), getprop, push/pull byte for byte, sync STAT/LIST, the
 * benchmark_model stand-in, and the faults (unauthorized, offline, drop mid-push, disk full).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as adbkitModule from '@devicefarmer/adbkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EM_AARCH64, fakeElf } from '../helpers/fake-elf';
import { type AdbServer, type SimDevice, connect, disconnect, startAdbServer, startSimDevice, waitForState } from './index';

// adbkit is CommonJS: Node's ESM loader exposes it as the default export (as in src-main/devices/adb.ts).
type AdbStatic = typeof adbkitModule.Adb;
const Adb: AdbStatic = (adbkitModule as { Adb?: AdbStatic }).Adb ?? (adbkitModule as unknown as { default: { Adb: AdbStatic } }).default.Adb;
type AdbkitClient = ReturnType<typeof Adb.createClient>;

const MODEL = path.resolve(import.meta.dirname, '../fixtures/models/face_detection_short_range.tflite');

let server: AdbServer;
let client: AdbkitClient;
let dir: string;
const devices: SimDevice[] = [];

async function phone(...args: Parameters<typeof startSimDevice>): Promise<SimDevice> {
  const d = await startSimDevice(...args);
  devices.push(d);
  return d;
}

const readAll = (s: NodeJS.ReadableStream) =>
  new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
  });

beforeAll(async () => {
  server = await startAdbServer();
  client = Adb.createClient({ host: '127.0.0.1', port: server.port, bin: '/nonexistent/never-autostart' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-simdev-'));
}, 60_000);

afterAll(async () => {
  for (const d of devices) await d.close();
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('simulated phone through the real adb server', () => {
  it('connects, runs shell commands (v2 exit status), getprop, df, dumpsys and sysfs', async () => {
    const d = await phone('pixel');
    expect(await connect(server, d)).toBe('device');
    const sh = async (c: string) => (await server.adb(['-s', d.serial, 'shell', c])).stdout;
    expect(await sh('getprop ro.product.model')).toBe('Pixel 7\n');
    expect(await sh('getprop ro.soc.model')).toBe('GS201\n');
    expect(await sh('getprop')).toContain('[ro.product.cpu.abilist]: [arm64-v8a,armeabi-v7a,armeabi]');
    expect(await sh('cd /data/local/tmp && pwd')).toBe('/data/local/tmp\n');
    expect(await sh('cat /sys/devices/system/cpu/cpu7/cpufreq/cpuinfo_max_freq')).toBe('2850000\n');
    expect(await sh('dumpsys battery')).toMatch(/level: 82/);
    expect(await sh('dumpsys thermalservice')).toMatch(/Thermal Status: 0/);
    expect(await sh('df -k /data/local/tmp')).toMatch(/\/data\n$/);
    const fail = await server.adb(['-s', d.serial, 'shell', 'echo out; echo err >&2; exit 3']).catch((e: { stdout: string; code: number }) => e);
    expect(fail).toMatchObject({ stdout: 'out\n', code: 3 });
  });

  it('adbkit: shell v1, push and pull byte for byte, stat and readdir', async () => {
    const d = await phone('biglittle');
    await connect(server, d);
    const dev = client.getDevice(d.serial);
    expect((await readAll(await dev.shell('getprop ro.board.platform; echo rc=$?'))).toString()).toBe('trinket\nrc=0\n');
    // v1 is one stream, like a phone's pty: stderr lands in order with stdout.
    for (let i = 0; i < 5; i++) {
      expect((await readAll(await dev.shell('echo a; echo b >&2; false; echo rc=$?'))).toString()).toBe('a\nb\nrc=1\n');
    }
    const local = path.join(dir, 'blob.bin');
    const bytes = crypto.randomBytes(600 * 1024 + 7);
    fs.writeFileSync(local, bytes);
    const transfer = await dev.push(local, '/data/local/tmp/sub/blob.bin', 0o640);
    await new Promise<void>((resolve, reject) => transfer.on('end', resolve).on('error', reject));
    const st = await dev.stat('/data/local/tmp/sub/blob.bin');
    expect(st.size).toBe(bytes.length);
    expect(st.mode & 0o777).toBe(0o640);
    expect((await dev.readdir('/data/local/tmp/sub')).map((e: { name: string }) => e.name)).toContain('blob.bin');
    const pulled = await readAll(await dev.pull('/data/local/tmp/sub/blob.bin'));
    expect(pulled.equals(bytes)).toBe(true);
    const sum = (await readAll(await dev.shell('sha256sum /data/local/tmp/sub/blob.bin'))).toString();
    expect(sum).toBe(`${crypto.createHash('sha256').update(bytes).digest('hex')}  /data/local/tmp/sub/blob.bin\n`);
    // The adb CLI sees the same file.
    const cli = path.join(dir, 'cli.bin');
    await server.adb(['-s', d.serial, 'pull', '/data/local/tmp/sub/blob.bin', cli]);
    expect(fs.readFileSync(cli).equals(bytes)).toBe(true);
  });

  it('a pushed ELF runner keeps its bytes and runs as the benchmark_model stand-in (pinned, /proc status)', async () => {
    const d = await phone('tri');
    await connect(server, d);
    const elf = path.join(dir, 'benchmark_model');
    const elfBytes = fakeElf(EM_AARCH64, 32 * 1024);
    fs.writeFileSync(elf, elfBytes);
    await server.adb(['-s', d.serial, 'push', elf, '/data/local/tmp/benchmark_model']);
    await server.adb(['-s', d.serial, 'push', MODEL, '/data/local/tmp/m.tflite']);
    const sh = async (c: string) => (await server.adb(['-s', d.serial, 'shell', c])).stdout;
    await sh('chmod 755 /data/local/tmp/benchmark_model');
    expect(await sh('sha256sum /data/local/tmp/benchmark_model')).toBe(`${crypto.createHash('sha256').update(elfBytes).digest('hex')}  /data/local/tmp/benchmark_model\n`);
    const out = await sh(
      'taskset 80 /data/local/tmp/benchmark_model --graph=/data/local/tmp/m.tflite --num_runs=3 --warmup_runs=1 & p=$!; sleep 0.1; cat /proc/$p/status; wait $p; echo rc=$?',
    );
    expect(out).toMatch(/Cpus_allowed_list:\t7\n/);
    expect(out).toMatch(/VmHWM:\s+\d+ kB/);
    expect(out).toContain('INFO: Graph: [/data/local/tmp/m.tflite]');
    expect(out).toMatch(/INFO: Inference timings in us: Init: \d+, First inference: \d+, Warmup \(avg\): [\d.]+, Inference \(avg\): [\d.]+/);
    expect(out).toMatch(/rc=0\n$/);
    // The model really ran in LiteRT (the stand-in says on stderr when it could not).
    const run = await server.adb(['-s', d.serial, 'shell', '/data/local/tmp/benchmark_model --graph=/data/local/tmp/m.tflite --num_runs=1 --warmup_runs=0']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/Inference \(avg\): [\d.]+/);
    // A file that is not a TFLite model is rejected, as the real tool does.
    await sh('echo nope > /data/local/tmp/bad.tflite');
    const bad = await server.adb(['-s', d.serial, 'shell', '/data/local/tmp/benchmark_model --graph=/data/local/tmp/bad.tflite']).catch((e: { stdout: string; code: number }) => e);
    expect(bad).toMatchObject({ code: 1, stdout: expect.stringContaining('ERROR: The model is not a valid Flatbuffer buffer') });
  });

  it('android9 prints the legacy output format', async () => {
    const d = await phone('android9');
    await connect(server, d);
    const elf = path.join(dir, 'bm9');
    fs.writeFileSync(elf, fakeElf(EM_AARCH64, 8 * 1024));
    await server.adb(['-s', d.serial, 'push', elf, '/data/local/tmp/benchmark_model']);
    await server.adb(['-s', d.serial, 'push', MODEL, '/data/local/tmp/m.tflite']);
    await server.adb(['-s', d.serial, 'shell', 'chmod 755 /data/local/tmp/benchmark_model']);
    const { stdout } = await server.adb(['-s', d.serial, 'shell', '/data/local/tmp/benchmark_model --graph=/data/local/tmp/m.tflite --num_runs=2 --warmup_runs=1']);
    expect(stdout).toMatch(/^Average inference timings in us: Warmup: [\d.]+, Init: \d+, Inference: [\d.]+$/m);
    expect(stdout).toMatch(/^Peak memory footprint \(MB\): init=[\d.]+ overall=[\d.]+$/m);
    expect(stdout).not.toContain('INFO:');
    expect((await server.adb(['-s', d.serial, 'shell', 'dumpsys thermalservice'])).stdout).toBe('');
  });

  it('faults: unauthorized, offline, disk full, drop mid-push', async () => {
    const un = await phone('pixel', { unauthorized: true });
    expect(await server.adb(['connect', un.serial]).then((r) => r.stdout)).toMatch(/authenticate/);
    await waitForState(server, un.serial, 'unauthorized');
    // Accepting the prompt on the phone lets the host in.
    un.setFaults({ unauthorized: false });
    await waitForState(server, un.serial, 'device', 20_000);

    const off = await phone('pixel', { offline: true });
    await server.adb(['connect', off.serial]);
    await waitForState(server, off.serial, 'offline');
    await disconnect(server, off);

    const full = await phone('pixel', { diskFull: true });
    await connect(server, full);
    expect((await server.adb(['-s', full.serial, 'shell', 'df -k /data/local/tmp'])).stdout).toMatch(/\s96\s+100% \/data\n$/);
    const blob = path.join(dir, 'full.bin');
    fs.writeFileSync(blob, crypto.randomBytes(200 * 1024));
    await expect(server.adb(['-s', full.serial, 'push', blob, '/data/local/tmp/full.bin'])).rejects.toThrow(/No space left on device/);

    const drop = await phone('pixel', { dropMidPush: true });
    await connect(server, drop);
    await expect(server.adb(['-s', drop.serial, 'push', blob, '/data/local/tmp/x.bin'])).rejects.toThrow();
    await waitForState(server, drop.serial, ['offline', 'absent']);
    expect(fs.existsSync(drop.sandbox.hostPath('/data/local/tmp/x.bin'))).toBe(false);
    await disconnect(server, drop);
  });

  it('phones that differ: missing sha256sum and taskset, one unreadable thermal zone, a runner that exits non-zero after its results', async () => {
    const d = await phone('pixel', { missingTools: ['sha256sum', 'taskset'], unreadableZones: [1], runnerExitCode: 6 });
    await connect(server, d);
    const sh = async (c: string) => {
      const r = await server.adb(['-s', d.serial, 'shell', `${c} 2>&1; echo rc=$?`]);
      return r.stdout;
    };
    expect(await sh('sha256sum /proc/meminfo')).toBe('/system/bin/sh: sha256sum: inaccessible or not found\nrc=127\n');
    expect(await sh('taskset -p $$')).toBe('/system/bin/sh: taskset: inaccessible or not found\nrc=127\n');
    expect(await sh('sha1sum /proc/meminfo')).toMatch(/^[0-9a-f]{40} /);
    expect(await sh('cat /sys/class/thermal/thermal_zone0/temp')).toMatch(/^\d+\nrc=0/);
    expect(await sh('cat /sys/class/thermal/thermal_zone1/temp')).toMatch(/Permission denied\nrc=1/);
    const elf = path.join(dir, 'bm-exit');
    fs.writeFileSync(elf, fakeElf(EM_AARCH64, 8 * 1024));
    await server.adb(['-s', d.serial, 'push', elf, '/data/local/tmp/benchmark_model']);
    await server.adb(['-s', d.serial, 'push', MODEL, '/data/local/tmp/m.tflite']);
    await sh('chmod 755 /data/local/tmp/benchmark_model');
    const out = await sh('/data/local/tmp/benchmark_model --graph=/data/local/tmp/m.tflite --num_runs=2 --warmup_runs=1');
    expect(out).toMatch(/Inference timings in us: .*\n[\s\S]*rc=6\n$/);
    // Faults clear: the tools come back.
    d.setFaults({ missingTools: [], unreadableZones: [] });
    expect(await sh('sha256sum /proc/meminfo')).toMatch(/^[0-9a-f]{64} /);
    expect(await sh('cat /sys/class/thermal/thermal_zone1/temp')).toMatch(/^\d+\nrc=0/);
  });
});
