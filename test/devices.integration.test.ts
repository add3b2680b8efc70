/**
 * The device lab against simulated phones through the real `adb` server (its own port), from
 * discovery to stored benchmark, and every fault: each test checks the stored row and the message
 * the user sees.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchmarkProgress } from '../src-shared/contract/devices';
import { Adbc } from '../src-main/devices/adb';
import { DeviceLab } from '../src-main/devices/lab';
import { REMOTE_RUNNER } from '../src-main/devices/runners';
import { defaultBenchOptions } from '../src-main/devices/target';
import { EventBus } from '../src-main/host/events';
import { Store } from '../src-main/store';
import { EM_AARCH64, EM_ARM, fakeElf } from './helpers/fake-elf';
import { type LabSim, simAvailable, simUnavailableReason, startLabSim } from './helpers/sim-lab';
import { waitFor } from './helpers/wait-for';

const MODEL = path.resolve(import.meta.dirname, 'fixtures/models/face_detection_short_range.tflite');
const FAST = { ...defaultBenchOptions, runs: 3, warmup: 1, trials: 2, cooldownMaxWaitS: 2 };

let env: LabSim;
let dir: string;
let store: Store;
let bus: EventBus;
let lab: DeviceLab;
const events: BenchmarkProgress[] = [];

if (!simAvailable) console.warn(`device-lab integration tests skipped: ${simUnavailableReason}`);

beforeAll(async () => {
  if (!simAvailable) return;
  env = await startLabSim();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-devlab-'));
  store = new Store(path.join(dir, 'h.sqlite'));
  bus = new EventBus();
  bus.subscribe((ev, p) => ev === 'benchmark.progress' && events.push(p as BenchmarkProgress));
  lab = new DeviceLab({ store, bus, dataDir: dir, adb: new Adbc(env.adbPort), android: { cooldownPollMs: 200, sampleMs: 50 } });
  await lab.start();
  const arm64 = path.join(dir, 'benchmark_model-arm64');
  fs.writeFileSync(arm64, fakeElf(EM_AARCH64, 64 * 1024));
  await lab.setRunner('arm64-v8a', arm64);
  const arm = path.join(dir, 'benchmark_model-arm');
  fs.writeFileSync(arm, fakeElf(EM_ARM, 64 * 1024));
  await lab.setRunner('armeabi-v7a', arm);
}, 60_000);

afterAll(async () => {
  await lab?.close();
  store?.close();
  await env?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function attach(profile: Parameters<LabSim['device']>[0], faults: Parameters<LabSim['device']>[1] = {}) {
  const dev = await env.device(profile, faults);
  await lab.connect('127.0.0.1', dev.port);
  return dev;
}

// Each benchmark starts the runner stand-in (node + LiteRT, ~1 s idle, several under load) once per
// trial: the tests' time limit is scaled to that work, not vitest's 60 s default.
describe.skipIf(!simAvailable)('device lab with simulated phones', { timeout: 240_000 }, () => {
  it('discovers a phone, tracks it live and stores its facts (4+2+2 Pixel: big cores 4-7)', async () => {
    const dev = await attach('pixel');
    const live = await waitFor(() => lab.live().find((d) => d.key === dev.serial && d.state === 'device' && d.device?.model), 'pixel facts');
    expect(live.device).toMatchObject({ manufacturer: 'Google', model: 'Pixel 7', androidVersion: '14', sdk: 34, soc: 'Google GS201', abis: ['arm64-v8a', 'armeabi-v7a', 'armeabi'] });
    expect(live.device!.facts.bigCores).toEqual([4, 5, 6, 7]);
    expect(live.runner).toMatchObject({ abi: 'arm64-v8a', ready: true });
    expect(live.batteryPct).toBe(82);
    expect(live.thermalStatus).toBe('none');
    expect(live.unavailable).toEqual([]);
    await dev.unplug();
    await waitFor(() => lab.live().find((d) => d.key === dev.serial && d.state !== 'device'), 'detach');
  });

  it('facts per profile: 1+3+4, 4+4, SELinux-denied zones, Android 9, no cpufreq', async () => {
    const tri = await attach('tri');
    const t = await lab.readFacts(tri.serial);
    expect(t.bigCores).toEqual([4, 5, 6, 7]);
    expect(t.clusters.map((c) => c.cpus.length)).toEqual([4, 3, 1]);
    expect(t.soc).toBe('QTI SM8350');
    const bl = await attach('biglittle');
    const b = await lab.readFacts(bl.serial);
    expect(b.soc).toBe('trinket');
    expect(b.bigCores).toEqual([4, 5, 6, 7]);
    const se = await attach('pixel-selinux');
    const s = await lab.readFacts(se.serial);
    expect(s.unavailable).toContain('thermal zones');
    expect(s.conditions.thermal?.status).toBe(0);
    const old = await attach('android9');
    const o = await lab.readFacts(old.serial);
    expect(o.unavailable).toContain('thermal status');
    for (const d of [tri, bl, se, old]) await d.unplug();
  });

  it('unauthorized and offline phones say what to do, and a benchmark on them fails with that message', async () => {
    const un = await attach('pixel', { unauthorized: true });
    const live = await waitFor(() => lab.live().find((d) => d.key === un.serial && d.state === 'unauthorized'), 'unauthorized');
    expect(live.hint).toContain('accept the "Allow USB debugging?" prompt');
    const [id] = await lab.queue({ modelPath: MODEL, targets: [un.serial], options: FAST });
    const b = await lab.wait(id);
    expect(b.status).toBe('failed');
    expect(b.error).toContain('accept the "Allow USB debugging?" prompt');
    const off = await attach('pixel', { offline: true });
    const l2 = await waitFor(() => lab.live().find((d) => d.key === off.serial && d.state === 'offline'), 'offline');
    expect(l2.hint).toContain('unplug and replug');
    await un.unplug();
    await off.unplug();
  });

  it('benchmarks end to end: runner pushed once by hash, model under its hash, trials, pinning read back, memory two ways', async () => {
    const dev = await attach('biglittle');
    await waitFor(() => lab.live().find((d) => d.key === dev.serial && d.device?.model), 'facts');
    const [id] = await lab.queue({ modelPath: MODEL, targets: [dev.serial], options: { ...FAST, trials: 3 } });
    const b = await lab.wait(id);
    expect(b.error).toBeNull();
    expect(b.status).toBe('succeeded');
    const d = lab.detail(id);
    expect(d.trials).toHaveLength(3);
    expect(d.trials.every((t) => (t.meanUs ?? 0) > 0)).toBe(true);
    expect(b.latencyUs).toBeGreaterThan(0);
    expect(b.runnerSha256).toBe(store.runners.get('arm64-v8a')!.sha256);
    expect(d.stats).toMatchObject({ runnerPushed: true, modelPushed: true, taskset: 'f0' });
    expect(d.affinity).toBe('4-7');
    expect(d.stats?.affinityMatches).toBe(true);
    expect(d.vmHwmKb).toBeGreaterThan(0);
    expect(b.peakMemMb).toBeGreaterThan(0);
    expect(d.batteryBefore).toMatchObject({ levelPct: expect.any(Number) });
    expect(events.some((e) => e.benchmarkId === id && e.phase === 'run')).toBe(true);
    // Second run (one trial: this checks the pushes, not the trials): nothing pushed again.
    const [id2] = await lab.queue({ modelPath: MODEL, targets: [dev.serial], options: { ...FAST, trials: 1 } });
    expect((await lab.wait(id2)).status).toBe('succeeded');
    expect(lab.detail(id2).stats).toMatchObject({ runnerPushed: false, modelPushed: false });
    // A runner changed on the phone is replaced.
    await env.adb(['-s', dev.serial, 'shell', `echo tampered > ${REMOTE_RUNNER}`]);
    const [id3] = await lab.queue({ modelPath: MODEL, targets: [dev.serial], options: { ...FAST, trials: 1 } });
    expect((await lab.wait(id3)).status).toBe('succeeded');
    expect(lab.detail(id3).stats).toMatchObject({ runnerPushed: true });
    await dev.unplug();
  });

  it('a phone without sha256sum and taskset, with a zone that turns unreadable and a runner that exits 6 after its results: benchmarked, unpinned, and every fallback recorded', async () => {
    const dev = await attach('pixel', { missingTools: ['sha256sum', 'taskset'], runnerExitCode: 6 });
    await waitFor(() => lab.live().find((d) => d.key === dev.serial && d.device?.model), 'facts');
    dev.setFaults({ unreadableZones: [1] });
    const [id] = await lab.queue({ modelPath: MODEL, targets: [dev.serial], options: FAST });
    const b = await lab.wait(id);
    expect(b.error).toBeNull();
    expect(b.status).toBe('succeeded');
    const d = lab.detail(id);
    expect(d.trials).toHaveLength(2);
    expect(d.stats).toMatchObject({ hashCheck: 'sha1', taskset: null, unpinned: 'taskset is missing on the phone' });
    const notes = d.stats!.notes as string[];
    expect(notes.some((n) => /no sha256sum/.test(n))).toBe(true);
    expect(notes.some((n) => /no taskset/.test(n))).toBe(true);
    expect(notes.filter((n) => /exited with code 6 after printing complete results/.test(n))).toHaveLength(2);
    const zones = (d.thermalBefore as { zones: { zone: string; tempC: number | null }[] }).zones;
    expect(zones.find((z) => z.zone === 'thermal_zone1')?.tempC).toBeNull();
    expect(zones.filter((z) => typeof z.tempC === 'number').length).toBe(zones.length - 1);
    expect(dev.commands().some((c) => c.includes('--graph=') && c.includes('taskset'))).toBe(false);
    await dev.unplug();
  });

  it('a GPU benchmark on a phone whose runner shows no sign of the GPU delegate is stored as "delegate not applied", never as a GPU result', async () => {
    const dev = await attach('pixel');
    await waitFor(() => lab.live().find((d) => d.key === dev.serial && d.device?.model), 'facts');
    const [id] = await lab.queue({ modelPath: MODEL, targets: [dev.serial], options: { ...FAST, trials: 1, gpu: true } });
    const b = await lab.wait(id);
    expect(b).toMatchObject({ status: 'failed', ranDelegate: 'cpu', delegatedShare: 0 });
    expect(b.error).toMatch(/^The GPU delegate was not applied on .*: the runner printed no sign that it applied the delegate\. The timings kept are of the CPU path\.$/);
    expect(lab.detail(id).trials).toHaveLength(1);
    expect(store.compare.rows({ limit: 50, delegate: 'gpu', includeUnbenchmarked: false }).some((r) => r.benchmarkId === id)).toBe(false);
    await dev.unplug();
  });

  it('a hostile model name is harmless: the phone only ever sees the content hash', async () => {
    const dev = await attach('pixel');
    await waitFor(() => lab.live().find((d) => d.key === dev.serial && d.device?.model), 'facts');
    await env.adb(['-s', dev.serial, 'shell', 'echo keep > /data/local/tmp/x.tflite']);
    const hostile = path.join(dir, 'a b;rm -rf x.tflite');
    fs.copyFileSync(MODEL, hostile);
    const [id] = await lab.queue({ modelPath: hostile, targets: [dev.serial], options: FAST });
    expect((await lab.wait(id)).status).toBe('succeeded');
    const { stdout } = await env.adb(['-s', dev.serial, 'shell', 'cat /data/local/tmp/x.tflite']);
    expect(stdout.trim()).toBe('keep');
    expect(dev.commands().some((c) => c.includes('rm -rf x.tflite'))).toBe(false);
    await dev.unplug();
  });

  it('one model to two phones at once, one queue each', async () => {
    const a = await attach('pixel');
    const c = await attach('tri');
    await waitFor(() => lab.live().filter((d) => [a.serial, c.serial].includes(d.key) && d.device?.model).length === 2, 'facts');
    const ids = await lab.queue({ modelPath: MODEL, targets: [a.serial, c.serial], options: FAST });
    const res = await Promise.all(ids.map((i) => lab.wait(i)));
    expect(res.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    expect(new Set(res.map((r) => r.deviceId)).size).toBe(2);
    await a.unplug();
    await c.unplug();
  });

  it.each([
    { when: 'mid-run', faults: { dropMidRun: true }, trialsKept: 1 },
    { when: 'mid-push', faults: { dropMidPush: true }, trialsKept: 0 },
  ])('unplugged $when: failed with a clear message, finished trials kept, history intact', async ({ faults, trialsKept }) => {
    const dev = await attach('pixel', faults);
    await waitFor(() => lab.live().find((d) => d.key === dev.serial && d.device?.model), 'facts');
    const before = store.benchmarks.list({ limit: 1000, offset: 0 }).total;
    const [id] = await lab.queue({ modelPath: MODEL, targets: [dev.serial], options: FAST });
    const b = await lab.wait(id);
    expect(b.status).toBe('failed');
    expect(b.error).toMatch(/disconnected during/);
    expect(b.error).toMatch(/Reconnect the phone/);
    expect(lab.detail(id).trials).toHaveLength(trialsKept);
    expect(store.benchmarks.list({ limit: 1000, offset: 0 }).total).toBe(before + 1);
    await dev.unplug();
  });

  it('no runner for the ABI (x86 emulator) says which file to select; a 32-bit phone uses the armeabi-v7a runner', async () => {
    const emu = await attach('x86emu');
    await waitFor(() => lab.live().find((d) => d.key === emu.serial && d.device?.model), 'facts');
    const [id] = await lab.queue({ modelPath: MODEL, targets: [emu.serial], options: FAST });
    const b = await lab.wait(id);
    expect(b.status).toBe('failed');
    expect(b.error).toMatch(/No benchmark_model for .*x86_64.*Select the file for x86_64 in Devices → Runners/);
    const old = await attach('armv7');
    await waitFor(() => lab.live().find((d) => d.key === old.serial && d.device?.model), 'facts');
    const [id2] = await lab.queue({ modelPath: MODEL, targets: [old.serial], options: FAST });
    const b2 = await lab.wait(id2);
    expect(b2.error).toBeNull();
    expect(b2.runnerSha256).toBe(store.runners.get('armeabi-v7a')!.sha256);
    for (const d of [emu, old]) await d.unplug();
  });

  it('disk full: the benchmark fails before the push and says to free space', async () => {
    const dev = await attach('pixel', { diskFull: true });
    await waitFor(() => lab.live().find((d) => d.key === dev.serial && d.device?.model), 'facts');
    const [id] = await lab.queue({ modelPath: MODEL, targets: [dev.serial], options: FAST });
    const b = await lab.wait(id);
    expect(b.status).toBe('failed');
    expect(b.error).toMatch(/Free some space on the phone/);
    await dev.unplug();
  });

  it('cancel kills the runner on the phone', async () => {
    const dev = await attach('pixel');
    await waitFor(() => lab.live().find((d) => d.key === dev.serial && d.device?.model), 'facts');
    const [id] = await lab.queue({ modelPath: MODEL, targets: [dev.serial], options: { ...FAST, runs: 100_000, trials: 1 } });
    await waitFor(() => events.find((e) => e.benchmarkId === id && e.phase === 'run'), 'run started');
    await new Promise((r) => setTimeout(r, 300));
    expect(lab.cancel(id)).toBe(true);
    const b = await lab.wait(id);
    expect(b.status).toBe('cancelled');
    expect(b.error).toContain('Cancelled by the user');
    await waitFor(async () => !(await dev.runnerRunning()), 'runner gone', 10_000);
    await dev.unplug();
  });

  it('cooldown waits until the phone is cool, and a cooldown that times out is recorded', async () => {
    const dev = await attach('pixel');
    await waitFor(() => lab.live().find((d) => d.key === dev.serial && d.device?.model), 'facts');
    const thermalReads = () => dev.commands().filter((c) => c.includes('dumpsys thermalservice')).length;
    const runs = () => dev.commands().filter((c) => c.includes('--graph=')).length;
    dev.setThermal({ status: 2, extraC: 20 });
    const readsBefore = thermalReads();
    const [id] = await lab.queue({ modelPath: MODEL, targets: [dev.serial], options: { ...FAST, trials: 1, cooldownMaxWaitS: 3600 } });
    // The phone stays hot until the lab has read it hot twice: it keeps polling and does not run.
    await waitFor(() => thermalReads() >= readsBefore + 2, 'two readings of the hot phone');
    expect(runs()).toBe(0);
    dev.setThermal({ status: 0, extraC: 0 });
    const t1 = lab.detail((await lab.wait(id)).id).trials[0];
    expect(runs()).toBe(1);
    expect(t1.cooldownTimedOut).toBe(false);
    expect(t1.cooldownMs).toBeGreaterThan(0);
    dev.setThermal({ status: 3, extraC: 30 });
    const [id2] = await lab.queue({ modelPath: MODEL, targets: [dev.serial], options: { ...FAST, trials: 1, cooldownMaxWaitS: 1 } });
    const b2 = await lab.wait(id2);
    expect(b2.status).toBe('succeeded');
    expect(lab.detail(id2).trials[0]).toMatchObject({ cooldownTimedOut: true });
    dev.setThermal({ status: 0, extraC: 0 });
    await dev.unplug();
  });
});
