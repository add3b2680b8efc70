/**
 * Device farms (issue 19): a DeviceFarmer STF source against a STAND-IN server that follows STF's
 * documented REST API (test/helpers/stf-standin.ts says what it implements and where from), whose
 * devices are simulated phones reached by `adb connect` on a real, private `adb` server. Checks the
 * farm's devices are listed with their facts, a benchmark reserves the device with a claim timeout,
 * connects, runs, and gives everything back — on success, on failure and on cancel — and that a
 * device someone else uses, or a refused token, is said in words.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchmarkProgress } from '../src-shared/contract/devices';
import { Adbc } from '../src-main/devices/adb';
import { DeviceLab } from '../src-main/devices/lab';
import { SOURCES_SETTING } from '../src-main/devices/sources';
import { EventBus } from '../src-main/host/events';
import { stfClaimTimeoutMs } from '../src-main/devices/stf-target';
import { defaultBenchOptions } from '../src-main/devices/target';
import type { Store } from '../src-main/store';
import { freePort } from './sim-device/adb-server';
import { type AdbServer, deviceState, type SimDevice, startAdbServer, startSimDevice } from './sim-device';
import { type StfStandin, startStfStandin } from './helpers/stf-standin';
import { type SourcesLab, startSourcesLab } from './helpers/sources-lab';
import { waitFor } from './helpers/wait-for';

const MODEL = path.resolve(import.meta.dirname, 'fixtures/models/face_detection_short_range.tflite');
const FAST = { ...defaultBenchOptions, runs: 3, warmup: 1, trials: 2, cooldownMaxWaitS: 2 };

let adb: AdbServer;
let farm: StfStandin;
let pixel: SimDevice;
let busy: SimDevice;
let store: Store;
let lab: DeviceLab;
let farmId: string;
let events: BenchmarkProgress[] = [];
let env: SourcesLab;
const key = (serial: string) => `${farmId}/${serial}`;

beforeAll(async () => {
  adb = await startAdbServer();
  [pixel, busy] = await Promise.all([startSimDevice('pixel'), startSimDevice('biglittle')]);
  farm = await startStfStandin([
    { serial: 'FARM-PIXEL-01', adbPort: pixel.port, manufacturer: 'Google', model: 'Pixel 7', version: '14', sdk: '34', abi: 'arm64-v8a', cpuPlatform: 'gs201' },
    { serial: 'FARM-BUSY-02', adbPort: busy.port, manufacturer: 'Xiaomi', model: 'Redmi Note 8', version: '11', sdk: '30', abi: 'arm64-v8a', takenBy: 'alice@example.org' },
    // A provider whose forwarded port nobody listens on: `adb connect` fails after the claim.
    { serial: 'FARM-DEAD-03', adbPort: await freePort(), manufacturer: 'Google', model: 'Pixel 6', version: '13', sdk: '33', abi: 'arm64-v8a' },
  ]);
  farmId = new URL(farm.url).host;
  env = await startSourcesLab(adb.port);
  ({ store, lab, events } = env);
}, 60_000);

afterAll(async () => {
  await env?.close();
  await farm?.close();
  for (const p of [pixel, busy]) await p?.close();
  await adb?.close();
});

const requestsSince = (n: number) => farm.requests.slice(n).filter((r) => r.path !== '/api/v1/devices').map((r) => `${r.method} ${r.path}`);

describe('DeviceFarmer STF source (stand-in server following STF\'s documented API)', { timeout: 240_000 }, () => {
  it('a refused token is said in words, and the source keeps nothing half-added from it', async () => {
    const r = await lab.addSource({ kind: 'stf', url: farm.url, token: 'wrong-token-000000', label: 'bad farm' });
    expect(r.find((s) => s.id === farmId)).toMatchObject({ state: 'unreachable', kind: 'stf' });
    expect(r.find((s) => s.id === farmId)!.message).toMatch(/refused the access token.*Settings → Keys/);
    lab.removeSource(farmId);
  });

  it('lists the farm\'s devices with their facts and who uses them', async () => {
    const r = await lab.addSource({ kind: 'stf', url: farm.url, token: farm.token, label: 'farm' });
    expect(r.find((s) => s.id === farmId)).toMatchObject({ state: 'connected', devices: 3, address: farm.url });
    const free = await waitFor(() => lab.live().find((d) => d.key === key('FARM-PIXEL-01')), 'farm pixel');
    expect(free).toMatchObject({ state: 'device', source: { id: farmId, kind: 'stf', label: 'farm' }, label: 'Google Pixel 7' });
    expect(free.device).toMatchObject({ androidVersion: '14', sdk: 34, abis: ['arm64-v8a'], soc: 'gs201' });
    expect(free.hint).toMatch(/reserved for each benchmark/);
    const taken = lab.live().find((d) => d.key === key('FARM-BUSY-02'))!;
    expect(taken.state).toBe('in-use');
    expect(taken.hint).toContain('alice@example.org');
    // The token was sent as STF asks: a Bearer header (the stand-in answers 401 otherwise).
    expect(farm.requests.some((q) => q.path === '/api/v1/devices')).toBe(true);
    // Kept in settings without the token, which stays in a file only this user can read.
    expect(store.settings.get(SOURCES_SETTING, [])).toEqual([{ id: farmId, kind: 'stf', label: 'farm', url: farm.url }]);
    const tokens = path.join(env.dir, 'secrets', 'stf-tokens.json');
    expect(JSON.parse(fs.readFileSync(tokens, 'utf8'))).toEqual({ [farmId]: farm.token });
    expect(fs.statSync(tokens).mode & 0o077).toBe(0);
    const again = new DeviceLab({ store, bus: new EventBus(), dataDir: env.dir, adb: new Adbc(adb.port), stfPollMs: 0 });
    again.start().catch(() => undefined);
    await waitFor(() => again.sourcesStatus().find((s) => s.id === farmId && s.state === 'connected'), 'farm from settings + token file');
    await again.close();
  });

  it('a benchmark reserves the device with a claim timeout, connects, runs, and releases it', async () => {
    const n = farm.requests.length;
    const [id] = await lab.queue({ modelPath: MODEL, targets: [key('FARM-PIXEL-01')], options: FAST });
    const b = await lab.wait(id);
    expect(b.error).toBeNull();
    expect(b.status).toBe('succeeded');
    expect(store.benchmarks.trials(id)).toHaveLength(2);
    expect(pixel.commands().some((c) => /benchmark_model/.test(c))).toBe(true);
    expect(requestsSince(n)).toEqual([
      'POST /api/v1/user/devices',
      'POST /api/v1/user/devices/FARM-PIXEL-01/remoteConnect',
      'DELETE /api/v1/user/devices/FARM-PIXEL-01/remoteConnect',
      'DELETE /api/v1/user/devices/FARM-PIXEL-01',
    ]);
    const claim = farm.requests.slice(n).find((r) => r.method === 'POST' && r.path === '/api/v1/user/devices')!;
    expect(claim.body).toEqual({ serial: 'FARM-PIXEL-01', timeout: stfClaimTimeoutMs(FAST) });
    expect(farm.device('FARM-PIXEL-01')).toMatchObject({ owner: null, remoteConnect: false });
    // adb disconnected it again, and it never showed up as a second, local device.
    expect(await deviceState(adb, pixel.serial)).toBe('absent');
    expect(lab.live().some((d) => d.key === pixel.serial)).toBe(false);
    expect(lab.detail(id).stats?.stf).toMatchObject({ serial: 'FARM-PIXEL-01', remoteConnectUrl: pixel.serial, steps: ['claim (timeout ' + Math.round(stfClaimTimeoutMs(FAST) / 1000) + ' s)', `remoteConnect ${pixel.serial}`, 'adb connect', 'adb disconnect', 'remoteDisconnect', 'release'] });
    // Facts read through the connection are stored under the farm's key, with the source.
    expect(store.devices.bySerial(key('FARM-PIXEL-01'))!.facts).toMatchObject({ bigCores: [4, 5, 6, 7], source: { kind: 'stf' } });
  });

  it('a device someone else uses: the benchmark fails with the farm\'s words, nothing is held', async () => {
    const n = farm.requests.length;
    const [id] = await lab.queue({ modelPath: MODEL, targets: [key('FARM-BUSY-02')], options: FAST });
    const b = await lab.wait(id);
    expect(b.status).toBe('failed');
    expect(b.error).toMatch(/would not reserve FARM-BUSY-02: Device is being used or not available/);
    expect(requestsSince(n)).toEqual(['POST /api/v1/user/devices']);
    expect(farm.device('FARM-BUSY-02').owner).toBe('alice@example.org');
  });

  it('a device that cannot be reached after the claim: the benchmark fails with what to check, and the device is released', async () => {
    const n = farm.requests.length;
    const [id] = await lab.queue({ modelPath: MODEL, targets: [key('FARM-DEAD-03')], options: FAST });
    const b = await lab.wait(id);
    expect(b.status).toBe('failed');
    expect(b.error).toMatch(/could not connect to the farm device FARM-DEAD-03 at 127\.0\.0\.1:\d+.*reaches the farm's providers/);
    expect(requestsSince(n)).toEqual([
      'POST /api/v1/user/devices',
      'POST /api/v1/user/devices/FARM-DEAD-03/remoteConnect',
      'DELETE /api/v1/user/devices/FARM-DEAD-03/remoteConnect',
      'DELETE /api/v1/user/devices/FARM-DEAD-03',
    ]);
    expect(farm.device('FARM-DEAD-03')).toMatchObject({ owner: null, remoteConnect: false });
    expect(lab.detail(id).stats?.stf).toMatchObject({ steps: expect.arrayContaining(['remoteDisconnect', 'release']) });
  });

  it('cancel mid-run stops the runner and still gives the device back', async () => {
    const n = farm.requests.length;
    const [id] = await lab.queue({ modelPath: MODEL, targets: [key('FARM-PIXEL-01')], options: { ...FAST, trials: 5 } });
    await waitFor(() => events.some((e) => e.benchmarkId === id && e.phase === 'run'), 'running on the farm device');
    await waitFor(() => lab.live().find((d) => d.key === key('FARM-PIXEL-01') && d.hint?.includes('Reserved by PocketBench')), 'shown as reserved');
    expect(farm.device('FARM-PIXEL-01').owner).toBe('pocketbench@example.org');
    lab.cancel(id);
    const b = await lab.wait(id);
    expect(b.status).toBe('cancelled');
    expect(requestsSince(n).slice(-2)).toEqual(['DELETE /api/v1/user/devices/FARM-PIXEL-01/remoteConnect', 'DELETE /api/v1/user/devices/FARM-PIXEL-01']);
    expect(farm.device('FARM-PIXEL-01')).toMatchObject({ owner: null, remoteConnect: false });
    await waitFor(() => pixel.runnerPids().length === 0, 'runner stopped');
  });

  it('a farm that stops answering: its devices read offline with the reason', async () => {
    farm.failWith(500);
    const d = await waitFor(() => lab.live().find((x) => x.key === key('FARM-PIXEL-01') && x.state === 'offline'), 'farm offline');
    expect(d.hint).toMatch(/unreachable: The device farm refused GET/);
    farm.failWith(null);
    await waitFor(() => lab.live().find((x) => x.key === key('FARM-PIXEL-01') && x.state === 'device'), 'farm back');
  });
});
