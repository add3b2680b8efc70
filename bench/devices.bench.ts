/**
 * Issue 6 benchmark, against a simulated phone through the real adb server:
 * - the app's overhead per benchmark (request → stored result, minus the runner's own time), for a
 *   warm phone (runner and model already there) and a cold one; target ≤ 2 s;
 * - pushing a 20 MB model over loopback; target ≤ 2 s.
 * Run: npm run bench -- devices
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Adbc } from '../src-main/devices/adb';
import { DeviceLab } from '../src-main/devices/lab';
import { pushIfChanged, remoteModelPath } from '../src-main/devices/runners';
import { defaultBenchOptions } from '../src-main/devices/target';
import { EventBus } from '../src-main/host/events';
import { Store } from '../src-main/store';
import { EM_AARCH64, fakeElf } from '../test/helpers/fake-elf';
import { simAvailable, simUnavailableReason, startLabSim } from '../test/helpers/sim-lab';
import { recordResult } from './results';

const MODEL = path.resolve(import.meta.dirname, '../test/fixtures/models/face_detection_short_range.tflite');
const REPEATS = 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (!simAvailable) {
  console.log(`devices benchmark skipped: ${simUnavailableReason}.`);
  process.exit(0);
}
const t0 = performance.now();
const sim = await startLabSim();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-bench-dev-'));
const store = new Store(path.join(dir, 'h.sqlite'));
const lab = new DeviceLab({ store, bus: new EventBus(), dataDir: dir, adb: new Adbc(sim.adbPort) });
try {
  await lab.start();
  const runner = path.join(dir, 'benchmark_model');
  fs.writeFileSync(runner, fakeElf(EM_AARCH64, 2 * 1024 * 1024));
  await lab.setRunner('arm64-v8a', runner);
  const dev = await sim.device('pixel');
  await lab.connect('127.0.0.1', dev.port);
  await lab.readFacts(dev.serial);

  const opts = { ...defaultBenchOptions, runs: 5, warmup: 1, trials: 1 };
  const overhead = async () => {
    const start = performance.now();
    const [id] = await lab.queue({ modelPath: MODEL, targets: [dev.serial], options: opts });
    const b = await lab.wait(id);
    const total = performance.now() - start;
    if (b.status !== 'succeeded') throw new Error(`benchmark failed: ${b.error}`);
    const runnerMs = Number(lab.detail(id).stats?.runnerWallMs ?? 0);
    return { total, runnerMs, overhead: total - runnerMs };
  };
  const cold = await overhead();
  const warm: Awaited<ReturnType<typeof overhead>>[] = [];
  for (let i = 0; i < REPEATS; i++) warm.push(await overhead());

  const big = path.join(dir, 'big.tflite');
  fs.writeFileSync(big, crypto.randomBytes(20 * 1024 * 1024));
  const sha = crypto.createHash('sha256').update(fs.readFileSync(big)).digest('hex');
  const adb = new Adbc(sim.adbPort);
  const p0 = performance.now();
  await adb.push(dev.serial, big, '/data/local/tmp/pocketbench/big-raw.bin', 0o644);
  const rawPushMs = performance.now() - p0;
  const p1 = performance.now();
  await pushIfChanged(adb, dev.serial, big, sha, remoteModelPath(sha), 0o644);
  const checkedPushMs = performance.now() - p1;

  const w = warm.map((x) => x.overhead);
  recordResult('devices', {
    figures: {
      overheadWarmMedianS: median(w) / 1000,
      overheadWarmMinS: Math.min(...w) / 1000,
      overheadWarmMaxS: Math.max(...w) / 1000,
      overheadColdS: cold.overhead / 1000,
      runnerWarmMedianS: median(warm.map((x) => x.runnerMs)) / 1000,
      push20MbS: rawPushMs / 1000,
      push20MbWithHashChecksS: checkedPushMs / 1000,
    },
    targets: { overheadWarmMedianS: '≤ 2 s', push20MbS: '≤ 2 s' },
    conditions: { model: `${path.basename(MODEL)} (${fs.statSync(MODEL).size} bytes)`, profile: 'pixel (simulated, real adb server on a private port)', options: opts, repeats: REPEATS },
    wallTimeS: (performance.now() - t0) / 1000,
  });
} finally {
  await lab.close();
  store.close();
  await sim.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
