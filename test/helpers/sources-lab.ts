/**
 * A device lab for the device-source tests and bench/device-sources.bench.ts: its own history in a
 * temp folder, the given ADB server as the local one, an arm64 runner stand-in set, short polls,
 * and every benchmark.progress event kept.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchmarkProgress } from '../../src-shared/contract/devices';
import { Adbc } from '../../src-main/devices/adb';
import { DeviceLab, type LabOptions } from '../../src-main/devices/lab';
import { EventBus } from '../../src-main/host/events';
import { Store } from '../../src-main/store';
import { EM_AARCH64, fakeElf } from './fake-elf';

export interface SourcesLab {
  dir: string;
  store: Store;
  lab: DeviceLab;
  bus: EventBus;
  events: BenchmarkProgress[];
  close(): Promise<void>;
}

export async function startSourcesLab(localAdbPort: number, o: Partial<LabOptions> = {}): Promise<SourcesLab> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-sources-'));
  const store = new Store(path.join(dir, 'h.sqlite'));
  const bus = new EventBus();
  const events: BenchmarkProgress[] = [];
  bus.subscribe((ev, p) => ev === 'benchmark.progress' && events.push(p as BenchmarkProgress));
  const lab = new DeviceLab({ store, bus, dataDir: dir, adb: new Adbc(localAdbPort), android: { cooldownPollMs: 200, sampleMs: 50 }, stfPollMs: 200, sourceRetryMs: 300, ...o });
  await lab.start();
  const runner = path.join(dir, 'benchmark_model-arm64');
  fs.writeFileSync(runner, fakeElf(EM_AARCH64, 64 * 1024));
  await lab.setRunner('arm64-v8a', runner);
  return {
    dir,
    store,
    lab,
    bus,
    events,
    async close() {
      await lab.close();
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
