/**
 * The lab's queueing and storage with a scripted target (no ADB): one queue per target, one model
 * to several targets, cancel (queued and running), failures keep what was measured, statistics
 * stored with every trial.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src-shared/errors';
import { EventBus } from '../host/events';
import { Store } from '../store';
import { Adbc } from './adb';
import { DeviceLab } from './lab';
import { type BenchmarkTarget, BenchmarkFailure, type TargetJob, type TargetRunContext, type TargetResult, defaultBenchOptions } from './target';

const MODEL = path.resolve(import.meta.dirname, '../../test/fixtures/models/face_detection_short_range.tflite');

function result(means: number[]): TargetResult {
  return {
    trials: means.map((m) => ({ stats: { count: 10, initMs: 2, firstInferenceUs: m * 2, warmupMeanUs: m, meanUs: m, stdUs: 1, minUs: m - 1, maxUs: m + 1, p5Us: null, medianUs: m, p95Us: null, warmup: { count: 3, meanUs: m + 5, stdUs: 2, minUs: m, maxUs: m + 9 } }, cooldownMs: 0, cooldownTimedOut: false, tempBeforeC: 30, tempAfterC: 31 })),
    runnerSha256: 'ab'.repeat(32),
    runnerVersion: null,
    peakMemMb: 12.5,
    peakMemKind: 'runner-peak',
    vmHwmKb: 4000,
    vmRssKb: 3900,
    affinity: '4-7',
    ops: [{ section: 'by_type', nodeType: 'CONV_2D', count: 3, avgMs: 0.5, pct: 80, memKb: 0 }],
    extra: { delegatedShare: 1, ran: { requested: 'gpu', delegate: 'gpu', share: 0.45, applied: 'partial', reason: null, unsupported: [] } },
    conditionsBefore: { thermal: { status: 0 }, battery: { levelPct: 80 } },
    conditionsAfter: { thermal: { status: 0 }, battery: { levelPct: 79 } },
    rawOutput: 'raw',
  };
}

class ScriptedTarget implements BenchmarkTarget {
  readonly kind = 'host' as const;
  started: number[] = [];
  gate: Promise<void> = Promise.resolve();
  constructor(
    readonly key: string,
    private readonly store: Store,
    private readonly behave: (job: TargetJob, ctx: TargetRunContext) => Promise<TargetResult>,
  ) {}
  deviceId() {
    return this.store.devices.upsert(this.key, 'host');
  }
  async run(job: TargetJob, ctx: TargetRunContext) {
    this.started.push(job.benchmarkId);
    await this.gate;
    return this.behave(job, ctx);
  }
}

let dir: string;
let store: Store;
let lab: DeviceLab;
const targets = new Map<string, ScriptedTarget>();

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-lab-'));
  store = new Store(path.join(dir, 'h.sqlite'));
  targets.clear();
  lab = new DeviceLab({ store, bus: new EventBus(), dataDir: dir, adb: new Adbc(1), extraTargets: (k) => targets.get(k) ?? null, extraTargetKeys: ['a', 'b'] });
});
afterEach(async () => {
  await lab.close();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('device lab queue', () => {
  it('sends one model to two targets and stores the statistics of each', async () => {
    targets.set('a', new ScriptedTarget('a', store, async () => result([1000, 1100, 1050, 990, 1010, 1020])));
    targets.set('b', new ScriptedTarget('b', store, async () => result([2000, 2100, 2050, 1990, 2010])));
    const ids = await lab.queue({ modelPath: MODEL, targets: ['a', 'b'], options: { ...defaultBenchOptions, trials: 6 } });
    const [a, b] = await Promise.all(ids.map((id) => lab.wait(id)));
    expect(a).toMatchObject({ status: 'succeeded', latencyUs: 1015, ciLowUs: 990, ciHighUs: 1100, runnerSha256: 'ab'.repeat(32), peakMemMb: 12.5 });
    // What ran, the memory figure's kind, the interval's real coverage (6 trials: 96.875 %), warm-up per trial.
    expect(a).toMatchObject({ peakMemKind: 'runner-peak', ranDelegate: 'gpu', delegatedShare: 0.45, ciCoverage: 0.96875 });
    expect(lab.detail(a.id).trials[0]).toMatchObject({ count: 10, warmupCount: 3, warmupMeanUs: 1005, warmupStdUs: 2, warmupMinUs: 1000, warmupMaxUs: 1009 });
    expect(b.latencyUs).toBe(2010);
    const d = lab.detail(b.id);
    expect(d.trials).toHaveLength(5);
    expect(d.stats?.trials).toMatchObject({ n: 5, coverage: 0.9375 });
    expect(String((d.stats?.trials as { note: string }).note)).toContain('93.75 %');
    expect(d.modelSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(d.affinity).toBe('4-7');
    expect(d.ops[0]).toMatchObject({ nodeType: 'CONV_2D' });
  });

  it('runs one job at a time per target, and cancels queued and running jobs', async () => {
    let release!: () => void;
    const t = new ScriptedTarget('a', store, async (_job, ctx) => {
      await new Promise<void>((resolve, reject) => {
        release = resolve;
        ctx.signal.addEventListener('abort', () => reject(new BenchmarkFailure(new AppError('CANCELLED', 'stopped'), result([5]))));
      });
      return result([1]);
    });
    targets.set('a', t);
    const [first] = await lab.queue({ modelPath: MODEL, targets: ['a'], options: defaultBenchOptions });
    const [second] = await lab.queue({ modelPath: MODEL, targets: ['a'], options: defaultBenchOptions });
    await new Promise((r) => setTimeout(r, 20));
    expect(t.started).toEqual([first]);
    expect(lab.queueEntries().map((q) => q.status)).toEqual(['running', 'queued']);
    expect(lab.cancel(second)).toBe(true);
    expect((await lab.wait(second)).status).toBe('cancelled');
    expect(lab.cancel(first)).toBe(true);
    const b = await lab.wait(first);
    expect(b.status).toBe('cancelled');
    expect(b.error).toContain('Cancelled by the user');
    // What it measured before the cancel is kept.
    expect(lab.detail(first).trials).toHaveLength(1);
    void release;
  });

  it('stores a failure with its message and partial trials', async () => {
    targets.set('a', new ScriptedTarget('a', store, async () => {
      throw new BenchmarkFailure(new AppError('DEVICE_DISCONNECTED', 'a disconnected during the benchmark run. Reconnect the phone.'), result([700, 710]));
    }));
    const [id] = await lab.queue({ modelPath: MODEL, targets: ['a'], options: defaultBenchOptions });
    const b = await lab.wait(id);
    expect(b).toMatchObject({ status: 'failed', error: 'a disconnected during the benchmark run. Reconnect the phone.', latencyUs: 705 });
    expect(store.benchmarks.trials(id)).toHaveLength(2);
  });

  it('stores a GPU benchmark whose delegate was not applied as failed, labelled by what ran, out of the GPU comparisons', async () => {
    const r = result([900, 910]);
    r.extra = { ran: { requested: 'gpu', delegate: 'cpu', share: 0, applied: 'none', reason: 'No operations will run on the GPU', unsupported: [] } };
    targets.set('a', new ScriptedTarget('a', store, async () => {
      throw new BenchmarkFailure(new AppError('DELEGATE_NOT_APPLIED', 'The GPU delegate was not applied on a: No operations will run on the GPU. The timings kept are of the CPU path.'), r);
    }));
    const [id] = await lab.queue({ modelPath: MODEL, targets: ['a'], options: { ...defaultBenchOptions, gpu: true } });
    const b = await lab.wait(id);
    expect(b).toMatchObject({ status: 'failed', ranDelegate: 'cpu', delegatedShare: 0, latencyUs: 905 });
    expect(b.error).toMatch(/^The GPU delegate was not applied/);
    expect(lab.detail(id).stats).toMatchObject({ errorCode: 'DELEGATE_NOT_APPLIED' });
    expect(store.benchmarks.trials(id)).toHaveLength(2);
  });

  it('refuses files that are not TFLite models, with a message that says so', async () => {
    targets.set('a', new ScriptedTarget('a', store, async () => result([1])));
    const bad = path.join(dir, 'x.tflite');
    fs.writeFileSync(bad, 'not a model at all');
    await expect(lab.queue({ modelPath: bad, targets: ['a'], options: defaultBenchOptions })).rejects.toThrow(/not a TensorFlow Lite model/);
    await expect(lab.queue({ modelPath: path.join(dir, 'missing.tflite'), targets: ['a'], options: defaultBenchOptions })).rejects.toThrow(/no model file/);
  });

  it('lists extra targets such as this computer', () => {
    targets.set('a', new ScriptedTarget('a', store, async () => result([1])));
    expect(lab.live().map((d) => [d.key, d.state])).toEqual([['a', 'ready']]);
  });
});
