/**
 * `pocketbench bench` and `pocketbench benchmarks` against a simulated phone through the real adb
 * server: Ctrl-C (SIGINT) during a run kills the runner on the phone and stores the row as
 * cancelled; `benchmarks` lists stored rows with device, what ran, trials and the interval;
 * `bench --help` names `--device host`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildCli } from '../src-main/cli/index';
import { Store } from '../src-main/store';
import { runCli } from './helpers/cli';
import { EM_AARCH64, fakeElf } from './helpers/fake-elf';
import { type LabSim, simAvailable, startLabSim } from './helpers/sim-lab';

const MODEL = path.resolve(import.meta.dirname, 'fixtures/models/face_detection_short_range.tflite');

let env: LabSim;
let dir: string;
const saved = { port: process.env.ANDROID_ADB_SERVER_PORT, auto: process.env.POCKETBENCH_ADB_AUTOSTART };

beforeAll(async () => {
  if (!simAvailable) return;
  env = await startLabSim();
  process.env.ANDROID_ADB_SERVER_PORT = String(env.adbPort);
  process.env.POCKETBENCH_ADB_AUTOSTART = '0';
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-clibench-'));
}, 60_000);

afterAll(async () => {
  await env?.close();
  for (const [k, v] of [['ANDROID_ADB_SERVER_PORT', saved.port], ['POCKETBENCH_ADB_AUTOSTART', saved.auto]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const cli = (args: string[]) => runCli(dir, args);

describe.skipIf(!simAvailable)('pocketbench bench / benchmarks with a simulated phone', () => {
  it('Ctrl-C during bench kills the runner on the phone and stores the row as cancelled; benchmarks lists it', async () => {
    const dev = await env.device('biglittle');
    await env.adb(['connect', `127.0.0.1:${dev.port}`]);
    const elf = path.join(dir, 'benchmark_model');
    fs.writeFileSync(elf, fakeElf(EM_AARCH64, 16 * 1024));
    // Enough runs that the benchmark is still going when Ctrl-C comes.
    const p = cli(['bench', MODEL, '--device', dev.serial, '--runner', `arm64-v8a=${elf}`, '--runs', '100000', '--warmup', '0', '--trials', '1', '--cooldown-wait', '0']);
    const end = Date.now() + 30_000;
    while (!(await dev.runnerRunning())) {
      if (Date.now() > end) throw new Error('the runner never started on the phone');
      await new Promise((r) => setTimeout(r, 50));
    }
    process.emit('SIGINT');
    const r = await p;
    expect(r.exitCode).toBe(130);
    expect(r.err).toMatch(/Cancelling: stopping the runner/);
    expect(r.out).toMatch(/: cancelled — Cancelled by the user; the runner on the phone was stopped\./);
    // The kill was answered before the row was stored; the process table may take a moment to drop it.
    for (let i = 0; i < 50 && (await dev.runnerRunning()); i++) await new Promise((res) => setTimeout(res, 100));
    expect(await dev.runnerRunning()).toBe(false);
    expect(dev.commands().some((c) => /^kill -9 \d+/.test(c))).toBe(true);
    expect(process.listenerCount('SIGINT')).toBe(0);
    const store = new Store(path.join(dir, 'history.sqlite'));
    expect(store.benchmarks.list({ limit: 5, offset: 0 }).items[0]).toMatchObject({ status: 'cancelled' });
    store.close();

    const table = await cli(['benchmarks']);
    expect(table.out).toMatch(/ID\s+Model\s+Device\s+Status\s+Ran on\s+Trials\s+Median\s+Interval/);
    expect(table.out).toMatch(/face_detection_short_range\.tflite\s+Xiaomi Redmi Note 8\s+cancelled/);
    const json = JSON.parse((await cli(['benchmarks', '--json'])).out);
    expect(json.total).toBe(1);
    expect(json.benchmarks[0]).toMatchObject({ status: 'cancelled', serial: dev.serial, requested: 'xnnpack', trials: 0, interval: null });
    await dev.unplug();
  }, 90_000);

  it('bench --help names --device host', async () => {
    const out: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true));
    try {
      await buildCli().exitOverride().parseAsync(['node', 'pocketbench', 'bench', '--help']);
    } catch {
      /* commander exits after help */
    } finally {
      write.mockRestore();
    }
    expect(out.join('')).toMatch(/--device <serial>\s+ADB serial, or "host" for this computer/);
  });
});
