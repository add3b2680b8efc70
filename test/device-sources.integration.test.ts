/**
 * Several ADB servers (issue 19): real `adb` servers on private ports, each with simulated phones
 * (test/sim-device). One is the lab's local server, the others are added as remote sources
 * (`host:port`, as a tunnelled lab machine would be). Checks: every device shows its source, each
 * source's phones are reached through their own server, benchmarks run at once on phones of
 * different sources, and killing one server mid-benchmark marks its phones offline and fails its
 * benchmark with a message naming the source, while the other source's phone finishes normally.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BenchmarkProgress, sourceInputSchema } from '../src-shared/contract/devices';
import { Adbc } from '../src-main/devices/adb';
import { DeviceLab } from '../src-main/devices/lab';
import { SOURCES_SETTING } from '../src-main/devices/sources';
import { defaultBenchOptions } from '../src-main/devices/target';
import { EventBus } from '../src-main/host/events';
import type { Store } from '../src-main/store';
import { type AdbServer, connect, type SimDevice, startAdbServer, startSimDevice } from './sim-device';
import { type SourcesLab, startSourcesLab } from './helpers/sources-lab';
import { waitFor } from './helpers/wait-for';

const MODEL = path.resolve(import.meta.dirname, 'fixtures/models/face_detection_short_range.tflite');
const FAST = { ...defaultBenchOptions, runs: 3, warmup: 1, trials: 2, cooldownMaxWaitS: 2 };

let local: AdbServer;
let labB: AdbServer;
let labC: AdbServer;
const phones: SimDevice[] = [];
let dir: string;
let store: Store;
let lab: DeviceLab;
let events: BenchmarkProgress[] = [];
let env: SourcesLab;

async function phoneOn(server: AdbServer): Promise<SimDevice> {
  const dev = await startSimDevice('pixel');
  phones.push(dev);
  expect(await connect(server, dev)).toBe('device');
  return dev;
}

beforeAll(async () => {
  [local, labB, labC] = await Promise.all([startAdbServer(), startAdbServer(), startAdbServer()]);
  env = await startSourcesLab(local.port);
  ({ dir, store, lab, events } = env);
}, 60_000);

afterAll(async () => {
  await env?.close();
  for (const p of phones) await p.close();
  for (const s of [local, labB, labC]) await s?.close();
});

describe('host:port validation', () => {
  it('accepts host:port and [ipv6]:port, refuses the rest with a message that says the form', () => {
    expect(sourceInputSchema.safeParse({ kind: 'adb', address: 'lab-3.example.org:5037' }).success).toBe(true);
    expect(sourceInputSchema.safeParse({ kind: 'adb', address: ' 127.0.0.1:5038 ' }).success).toBe(true);
    expect(sourceInputSchema.safeParse({ kind: 'adb', address: '[::1]:5038' }).success).toBe(true);
    for (const bad of ['lab-3', 'lab-3:', 'lab-3:0', 'lab-3:65536', 'lab 3:5037', 'http://lab:5037', '-lab:5037', 'a;rm -rf /:5037']) {
      const r = sourceInputSchema.safeParse({ kind: 'adb', address: bad });
      expect(r.success, bad).toBe(false);
      expect(r.error!.issues[0].message).toMatch(/host:port/);
    }
    expect(sourceInputSchema.safeParse({ kind: 'stf', url: 'ftp://farm', token: 'x'.repeat(20) }).success).toBe(false);
    expect(sourceInputSchema.safeParse({ kind: 'stf', url: 'https://farm.example.org', token: 'short' }).success).toBe(false);
  });
});

describe('several ADB servers', { timeout: 240_000 }, () => {
  it('tracks each server live, shows every device with its source, and keeps the sources in settings', async () => {
    const a = await phoneOn(local);
    const b = await phoneOn(labB);
    await lab.addSource({ kind: 'adb', address: `127.0.0.1:${labB.port}`, label: 'lab B' });
    const keyB = `127.0.0.1:${labB.port}/${b.serial}`;
    const liveB = await waitFor(() => lab.live().find((d) => d.key === keyB && d.state === 'device' && d.device?.model), 'lab B phone with facts');
    expect(liveB.source).toEqual({ id: `127.0.0.1:${labB.port}`, kind: 'adb', label: 'lab B' });
    expect(liveB.device).toMatchObject({ model: 'Pixel 7', serial: keyB });
    expect(liveB.device!.facts.source).toMatchObject({ label: 'lab B' });
    const liveA = await waitFor(() => lab.live().find((d) => d.key === a.serial && d.state === 'device'), 'local phone');
    expect(liveA.source).toMatchObject({ id: 'local', kind: 'local' });
    // The local server does not see lab B's phone, nor lab B the local one: each was reached through its own server.
    expect(a.commands().length).toBeGreaterThan(0);
    expect(b.commands().length).toBeGreaterThan(0);
    expect(lab.sourcesStatus().map((s) => [s.id, s.state])).toEqual([
      ['local', 'connected'],
      [`127.0.0.1:${labB.port}`, 'connected'],
    ]);
    expect(store.settings.get(SOURCES_SETTING, [])).toEqual([{ id: `127.0.0.1:${labB.port}`, kind: 'adb', label: 'lab B', address: `127.0.0.1:${labB.port}` }]);
    await expect(lab.addSource({ kind: 'adb', address: `127.0.0.1:${labB.port}` })).rejects.toThrow(/already a device source/);
    await expect(lab.addSource({ kind: 'adb', address: `127.0.0.1:${local.port}` })).rejects.toThrow(/own ADB server/);
    // A second lab on the same history picks the source up from settings.
    const again = new DeviceLab({ store, bus: new EventBus(), dataDir: dir, adb: new Adbc(local.port) });
    expect(again.sourcesStatus().map((s) => s.id)).toEqual(['local', `127.0.0.1:${labB.port}`]);
    await again.close();
  });

  it('benchmarks phones of two sources at once; killing one server fails its benchmark with a message, the other finishes', async () => {
    const c = await phoneOn(labC);
    await lab.addSource({ kind: 'adb', address: `127.0.0.1:${labC.port}`, label: 'lab C' });
    const keyC = `127.0.0.1:${labC.port}/${c.serial}`;
    await waitFor(() => lab.live().find((d) => d.key === keyC && d.device?.model), 'lab C phone');
    const a = lab.live().find((d) => d.source?.id === 'local' && d.state === 'device')!;
    const [idA] = await lab.queue({ modelPath: MODEL, targets: [a.key], options: { ...FAST, trials: 3 } });
    const [idC] = await lab.queue({ modelPath: MODEL, targets: [keyC], options: { ...FAST, trials: 3 } });
    // Both run at once (one queue per device, across sources).
    await waitFor(() => events.some((e) => e.benchmarkId === idC && e.phase === 'run') && events.some((e) => e.benchmarkId === idA && e.status === 'running'), 'both running');
    await labC.close();
    const bc = await lab.wait(idC);
    expect(bc.status).toBe('failed');
    expect(bc.error).toMatch(new RegExp(`ADB server lab C \\(127\\.0\\.0\\.1:${labC.port}\\) (went away|stopped answering)`));
    expect(bc.error).toContain('what it measured before is kept');
    expect(lab.detail(idC).stats).toMatchObject({ errorCode: 'SOURCE_LOST' });
    const liveC = await waitFor(() => lab.live().find((d) => d.key === keyC && d.state === 'offline'), 'lab C phone offline');
    expect(liveC.hint, liveC.hint ?? "").toMatch(/lab C .* went away/);
    expect(lab.sourcesStatus().find((s) => s.id === `127.0.0.1:${labC.port}`)).toMatchObject({ state: 'unreachable' });
    const ba = await lab.wait(idA);
    expect(ba.error).toBeNull();
    expect(ba.status).toBe('succeeded');
    expect(store.benchmarks.trials(idA)).toHaveLength(3);
    // Nothing lost from the history: both rows are there, with their devices.
    expect(store.benchmarks.get(idC)).toMatchObject({ status: 'failed', deviceId: store.devices.bySerial(keyC)!.id });
    // A new benchmark on the dead source fails at once, with the same explanation.
    const [idC2] = await lab.queue({ modelPath: MODEL, targets: [keyC], options: FAST });
    expect((await lab.wait(idC2)).error).toMatch(/lab C/);
  });

  it('a server that comes back on the same port is tracked again', async () => {
    const port = labB.port;
    const b = phones[1];
    const keyB = `127.0.0.1:${port}/${b.serial}`;
    await labB.close();
    await waitFor(() => lab.live().find((d) => d.key === keyB && d.state === 'offline'), 'lab B offline');
    labB = await startAdbServer({ port });
    expect(await connect(labB, b)).toBe('device');
    await waitFor(() => lab.live().find((d) => d.key === keyB && d.state === 'device'), 'lab B back');
    expect(lab.sourcesStatus().find((s) => s.id === `127.0.0.1:${port}`)).toMatchObject({ state: 'connected', message: null });
    const [id] = await lab.queue({ modelPath: MODEL, targets: [keyB], options: FAST });
    expect((await lab.wait(id)).status).toBe('succeeded');
    // A fresh lab (a CLI run) reads the source from settings and benchmarks a remote phone right away.
    const fresh = new DeviceLab({ store, bus: new EventBus(), dataDir: dir, adb: new Adbc(local.port), android: { cooldownPollMs: 200, sampleMs: 50 } });
    const [id2] = await fresh.queue({ modelPath: MODEL, targets: [keyB], options: FAST });
    const b2 = await fresh.wait(id2);
    await fresh.close();
    expect(b2.error).toBeNull();
  });

  it('removing a source drops it from settings and the live list; its history stays', async () => {
    const keyB = `127.0.0.1:${labB.port}/${phones[1].serial}`;
    lab.removeSource(`127.0.0.1:${labB.port}`);
    expect(lab.sourcesStatus().map((s) => s.id)).not.toContain(`127.0.0.1:${labB.port}`);
    expect((store.settings.get(SOURCES_SETTING, []) as { id: string }[]).map((s) => s.id)).not.toContain(`127.0.0.1:${labB.port}`);
    const row = lab.live().find((d) => d.key === keyB)!;
    expect(row.state).toBe('absent');
    expect(row.source).toMatchObject({ label: 'lab B' });
  });
});
