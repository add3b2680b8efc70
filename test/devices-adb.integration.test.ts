/**
 * Tracking through the real adb server (private port): a remote phone connected by address shows
 * up live; an unauthorized or offline one is listed with what to do, and a benchmark queued on it
 * fails with that message in the stored row. Full phone flows: test/devices.integration.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveDevice } from '../src-shared/contract/devices';
import { Adbc } from '../src-main/devices/adb';
import { DeviceLab } from '../src-main/devices/lab';
import { defaultBenchOptions } from '../src-main/devices/target';
import { EventBus } from '../src-main/host/events';
import { Store } from '../src-main/store';
import { type PrivateAdb, freePort, startPeer, startPrivateAdb } from './helpers/private-adb';

const MODEL = path.resolve(import.meta.dirname, 'fixtures/models/face_detection_short_range.tflite');
let adb: PrivateAdb;
let dir: string;
let store: Store;
let lab: DeviceLab;
const pushed: LiveDevice[][] = [];

async function until<T>(fn: () => T | undefined, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(lab.live().map((d) => [d.key, d.state]))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  adb = await startPrivateAdb();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-adbtrack-'));
  store = new Store(path.join(dir, 'h.sqlite'));
  const bus = new EventBus();
  bus.subscribe((ev, p) => ev === 'devices.live' && pushed.push(p as LiveDevice[]));
  lab = new DeviceLab({ store, bus, dataDir: dir, adb: new Adbc(adb.port) });
  await lab.start();
}, 60_000);

afterAll(async () => {
  await lab?.close();
  store?.close();
  await adb?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('tracking through the real adb server', () => {
  it('an unauthorized phone: listed live with the prompt to accept; its benchmark fails with that message', async () => {
    const peer = await startPeer('auth');
    await lab.connect('127.0.0.1', peer.port);
    // adb shows `authorizing` while it tries its keys, then `unauthorized`: both ask the user to accept.
    const d = await until(() => lab.live().find((x) => x.key === peer.serial && ['unauthorized', 'authorizing'].includes(x.state)), 'unauthorized');
    expect(d.hint).toContain('accept the "Allow USB debugging?" prompt');
    await until(() => pushed.some((l) => l.some((x) => x.key === peer.serial && x.state === d.state)), 'devices.live event');
    const [id] = await lab.queue({ modelPath: MODEL, targets: [peer.serial], options: defaultBenchOptions });
    const b = await lab.wait(id);
    expect(b.status).toBe('failed');
    expect(b.error).toContain('accept the "Allow USB debugging?" prompt');
    expect(store.benchmarks.get(id)?.error).toBe(b.error);
    await peer.close();
    await adb.adb(['disconnect', peer.serial]).catch(() => '');
    await until(() => !lab.live().some((x) => x.key === peer.serial && ['unauthorized', 'authorizing'].includes(x.state)) || undefined, 'gone');
  });

  it('an offline phone: listed with "unplug and replug"; its benchmark fails with that message', async () => {
    const peer = await startPeer('drop');
    await lab.connect('127.0.0.1', peer.port);
    const d = await until(() => lab.live().find((x) => x.key === peer.serial && x.state === 'offline'), 'offline');
    expect(d.hint).toContain('unplug and replug');
    const [id] = await lab.queue({ modelPath: MODEL, targets: [peer.serial], options: defaultBenchOptions });
    const b = await lab.wait(id);
    expect(b).toMatchObject({ status: 'failed' });
    expect(b.error).toContain('is offline');
    await peer.close();
    await adb.adb(['disconnect', peer.serial]).catch(() => '');
  });

  it('an address nobody listens on: a clear connect error', async () => {
    const port = await freePort();
    await expect(lab.connect('127.0.0.1', port)).rejects.toThrow(/could not connect to 127\.0\.0\.1:\d+/i);
  });
});
