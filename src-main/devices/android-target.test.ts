/**
 * The Android target's own logic against a stand-in ADB client whose shell is a real /bin/sh in a
 * sandbox folder (device paths mapped into it) and whose "runner" prints a verbatim real
 * benchmark_model output: commands built from quoted arguments, push once by hash, K trials,
 * PID-based memory sampling, runner crash by signal, runner error, cancel, disconnect, disk full.
 * The same flows through the real adb server and the simulated phone: test/devices.integration.test.ts.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeElf } from '../../test/helpers/fake-elf';
import { Store } from '../store';
import { Adbc } from './adb';
import { AndroidTarget, runnerTimeoutMs } from './android-target';
import type { CollectedFacts } from './device-facts';
import { REMOTE_RUNNER, setRunnerFile } from './runners';
import { BenchmarkFailure, type TargetRunContext, defaultBenchOptions } from './target';

const FIXTURE = path.resolve(import.meta.dirname, 'fixtures/logcat-yolo-p5-median.txt');
const MODEL = path.resolve(import.meta.dirname, '../../test/fixtures/models/face_detection_short_range.tflite');
const MODEL_SHA = crypto.createHash('sha256').update(fs.readFileSync(MODEL)).digest('hex');

class ShellAdb extends Adbc {
  commands: string[] = [];
  mode: 'ok' | 'crash' | 'fail' | 'slow' | 'drop' | 'exit3' | 'nnapi-none' | 'gpu-none' | 'gpu-full' | 'contradict' = 'ok';
  constructor(readonly root: string) {
    super(1);
  }
  private map(cmd: string): string {
    return cmd.replace(/(^|[\s'=])\/(data|proc-fake)\//g, `$1${this.root}/$2/`);
  }
  override async openShell(_serial: string, cmd: string): Promise<Duplex> {
    this.commands.push(cmd);
    // Like the simulated phone: the pushed ELF keeps its bytes (and hash), but running it runs the stand-in.
    const mapped = cmd.includes('--graph=') ? this.map(cmd).split(`${this.root}${REMOTE_RUNNER}`).join(`${this.root}/runner.sh`) : this.map(cmd);
    if (this.mode === 'drop' && cmd.includes('--graph=')) {
      const s = new PassThrough();
      setTimeout(() => s.write('INFO: STARTING!\n'), 10);
      setTimeout(() => s.destroy(), 60);
      return s;
    }
    // One pipe for stdout and stderr, as a phone's shell v1 gives (one pty): merging two pipes here
    // let stderr written before the exit marker arrive after it under load (an error line after
    // `__PB_EXIT__1`, or after the end), which the reader rightly took for a cut connection.
    const child = spawn('/bin/sh', ['-c', `exec 2>&1\n${mapped}; echo __PB_EXIT__$?`], { env: { ...process.env, PATH: `${this.root}/bin:${process.env.PATH}`, RUNNER_MODE: this.mode }, stdio: ['ignore', 'pipe', 'ignore'] });
    const out = new PassThrough();
    child.stdout.pipe(out);
    return out;
  }
  override async push(_serial: string, local: string, remote: string): Promise<void> {
    const dest = this.map(` ${remote}`).trim();
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(local, dest);
  }
}

let root: string;
let store: Store;
let adb: ShellAdb;
let target: AndroidTarget;
const facts: CollectedFacts = {
  manufacturer: 'Xiaomi',
  model: 'Redmi Note 8',
  androidVersion: '11',
  sdk: 30,
  abis: ['arm64-v8a'],
  soc: 'trinket',
  ramBytes: 4e9,
  cores: [0, 1, 2, 3, 4, 5, 6, 7].map((cpu) => ({ cpu, maxFreqKhz: cpu < 4 ? 1804800 : 2016000 })),
  clusters: [{ maxFreqKhz: 1804800, cpus: [0, 1, 2, 3] }, { maxFreqKhz: 2016000, cpus: [4, 5, 6, 7] }],
  bigCores: [4, 5, 6, 7],
  conditions: { battery: null, thermal: null, zones: [], maxTempC: null },
  unavailable: [],
};
const ctx = (signal = new AbortController().signal): TargetRunContext & { phases: string[] } => {
  const phases: string[] = [];
  return { signal, phases, progress: (p) => phases.push(p.phase) };
};
const job = (options = {}) => ({ benchmarkId: 1, modelPath: MODEL, modelSha256: MODEL_SHA, modelBytes: fs.statSync(MODEL).size, options: { ...defaultBenchOptions, trials: 2, cooldownMaxWaitS: 0, ...options } });

beforeEach(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-atarget-'));
  fs.mkdirSync(path.join(root, 'bin'));
  // The phone's tools: dumpsys, taskset (remembers the mask, runs the command).
  fs.writeFileSync(path.join(root, 'bin/dumpsys'), '#!/bin/sh\n[ "$1" = battery ] && printf "Current Battery Service state:\\n  USB powered: true\\n  status: 2\\n  level: 77\\n  scale: 100\\n  temperature: 301\\n"\n[ "$1" = thermalservice ] && printf "Thermal Status: 0\\n"\nexit 0\n', { mode: 0o755 });
  fs.writeFileSync(path.join(root, 'bin/taskset'), `#!/bin/sh\n[ "$1" = -p ] && { echo "pid $2's affinity mask: ff"; exit 0; }\necho "$1" > ${root}/taskset-mask\nshift\nexec "$@"\n`, { mode: 0o755 });
  const fixture = fs.readFileSync(FIXTURE, 'utf8').split('\n').slice(1).join('\n');
  fs.writeFileSync(path.join(root, 'fixture.txt'), fixture);
  // Real NNAPI "not applied" lines (tensorflow#56301) ahead of a real timed run: the CPU path was timed.
  const fixtureText = (f: string) => fs.readFileSync(path.resolve(import.meta.dirname, 'fixtures', f), 'utf8').split('\n').slice(1).join('\n');
  fs.writeFileSync(path.join(root, 'gpu-none.txt'), fixtureText('gpu-no-ops-type-mismatch.txt'));
  fs.writeFileSync(path.join(root, 'gpu-full.txt'), fixtureText('gpu-fully-delegated.txt'));
  fs.writeFileSync(path.join(root, 'nnapi.txt'), fs.readFileSync(path.resolve(import.meta.dirname, 'fixtures/nnapi-not-applied-logcat.txt'), 'utf8').split('\n').slice(1).join('\n'));
  fs.writeFileSync(
    path.join(root, 'runner.sh'),
    `#!/bin/sh\ncase "$RUNNER_MODE" in\n  crash) echo "INFO: STARTING!"; kill -SEGV $$ ;;\n  fail) echo "ERROR: Could not open '$2'."; exit 1 ;;\n  slow) echo "INFO: STARTING!"; exec sleep 30 ;;\n  exit3) sleep 0.3; cat ${root}/fixture.txt; exit 3 ;;\n  nnapi-none) cat ${root}/nnapi.txt ${root}/fixture.txt; exit 0 ;;\n  gpu-none) cat ${root}/gpu-none.txt ${root}/fixture.txt; exit 0 ;;\n  gpu-full) cat ${root}/gpu-full.txt; exit 0 ;;\n  contradict) echo "count=5 first=10 curr=10 min=30 max=40 avg=20 std=1"; echo "Inference timings in us: Init: 1, First inference: 10, Warmup (avg): 10, Inference (avg): 20"; exit 0 ;;\nesac\nsleep 0.3\ncat ${root}/fixture.txt\n`,
    { mode: 0o755 },
  );
  store = new Store(path.join(root, 'h.sqlite'));
  const bin = path.join(root, 'bm');
  fs.writeFileSync(bin, fakeElf(0xb7));
  await setRunnerFile(store, 'arm64-v8a', bin);
  adb = new ShellAdb(root);
  target = new AndroidTarget('SERIAL1', adb, store, async () => facts, { cooldownPollMs: 50, sampleMs: 50 });
});
afterEach(() => {
  store.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('Android target (stand-in shell)', () => {
  it('pushes once by hash, pins to the big cores, runs K trials and samples memory by PID', async () => {
    const c = ctx();
    const r = await target.run(job(), c);
    expect(r.trials).toHaveLength(2);
    expect(r.trials[0].stats).toMatchObject({ count: 25, meanUs: 145528, medianUs: 141253, p5Us: 140545, initMs: 92.318 });
    expect(r.extra).toMatchObject({ runnerPushed: true, modelPushed: true, taskset: 'f0', delegatedShare: 539 / 548 });
    expect(fs.readFileSync(path.join(root, 'taskset-mask'), 'utf8').trim()).toBe('f0');
    // The fixture reports a delta from the tool's start, not a peak: it is kept as a delta, never as peak memory.
    expect(r.peakMemMb).toBeNull();
    expect(r.extra.memory).toMatchObject({ runnerPeakMb: null, deltaFromStartMb: { init: 54.2852, overall: 73.4102 }, unit: 'MiB' });
    expect(r.extra.ran).toMatchObject({ requested: 'xnnpack', delegate: 'xnnpack' });
    expect(r.vmHwmKb).toBeGreaterThan(0); // sampled from the real /proc/PID/status of the runner
    expect(r.affinity).toMatch(/^\d/);
    expect(r.conditionsBefore?.battery).toMatchObject({ levelPct: 77, charging: true });
    expect(c.phases).toEqual(expect.arrayContaining(['runner', 'model', 'cooldown', 'run']));
    const run = adb.commands.find((x) => x.includes('benchmark_model --graph'))!;
    expect(run).toContain(`taskset f0 ${REMOTE_RUNNER} --graph=/data/local/tmp/pocketbench/models/${MODEL_SHA}.tflite --num_threads=4`);
    const again = await target.run(job(), ctx());
    expect(again.extra).toMatchObject({ runnerPushed: false, modelPushed: false });
  });

  it('a runner killed by a signal fails with the signal named', async () => {
    adb.mode = 'crash';
    const err = await target.run(job(), ctx()).catch((e) => e);
    expect(err).toBeInstanceOf(BenchmarkFailure);
    expect(err.error.message).toMatch(/crashed on SERIAL1 with signal 11 \(SIGSEGV\)/);
  });

  it('a runner error becomes the runner\'s own message', async () => {
    adb.mode = 'fail';
    const err = (await target.run(job(), ctx()).catch((e) => e)) as BenchmarkFailure;
    expect(err.error.code).toBe('RUNNER_FAILED');
    expect(err.error.message).toMatch(/exit 1\): Could not open/);
  });

  it('cancel stops the runner on the phone', async () => {
    adb.mode = 'slow';
    const ac = new AbortController();
    const p = target.run(job({ trials: 1 }), ctx(ac.signal)).catch((e) => e);
    for (let i = 0; i < 100 && !adb.commands.some((x) => x.startsWith('kill') || x.includes('benchmark_model --graph')); i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    ac.abort();
    const err = (await p) as BenchmarkFailure;
    expect(err.error.code).toBe('CANCELLED');
    expect(adb.commands.some((x) => /^kill -9 \d+/.test(x))).toBe(true);
  });

  it('a cancel that lands during a hot phone\'s cool-down read ends the wait at once, not when the cool-down gives up', async () => {
    // The phone stays hot (thermal status 2) and each thermal read takes 400 ms: the cancel lands inside one.
    fs.writeFileSync(path.join(root, 'bin/dumpsys'), '#!/bin/sh\n[ "$1" = battery ] && printf "Current Battery Service state:\\n  level: 77\\n  scale: 100\\n  temperature: 301\\n"\n[ "$1" = thermalservice ] && sleep 0.4 && printf "Thermal Status: 2\\n"\nexit 0\n', { mode: 0o755 });
    const ac = new AbortController();
    const p = target.run(job({ trials: 1, cooldownMaxWaitS: 60 }), ctx(ac.signal)).catch((e) => e);
    for (let i = 0; i < 250 && !adb.commands.some((x) => x.includes('thermalservice')); i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    const cancelledAt = Date.now();
    ac.abort();
    const err = (await p) as BenchmarkFailure;
    expect(err.error.code).toBe('CANCELLED');
    expect(Date.now() - cancelledAt).toBeLessThan(10_000); // was the whole 60 s cool-down
    expect(adb.commands.some((x) => x.includes('benchmark_model --graph'))).toBe(false);
  }, 30_000);

  it('a runner that hangs is stopped at the limit scaled to its runs, and the benchmark fails saying so', async () => {
    adb.mode = 'slow';
    const t = new AndroidTarget('SERIAL1', adb, store, async () => facts, { cooldownPollMs: 50, sampleMs: 50, runnerBudget: { startMs: 300, perRunMs: 100 } });
    const err = (await t.run(job({ trials: 1, runs: 2, warmup: 1 }), ctx()).catch((e) => e)) as BenchmarkFailure;
    expect(err.error.code).toBe('RUNNER_TIMEOUT');
    expect(err.error.message).toMatch(/did not finish on SERIAL1 within 1 s \(the limit for this trial's runs\) and was stopped/);
    expect(adb.commands.some((x) => /^kill -9 \d+/.test(x))).toBe(true);
  });

  it('the limit grows with the runs and stays a delay setTimeout honours (100,000 runs must not time out at once)', () => {
    const o = { ...defaultBenchOptions, warmup: 1 };
    expect(runnerTimeoutMs({ ...o, runs: 50 })).toBe(120_000 + 51 * 30_000);
    expect(runnerTimeoutMs({ ...o, runs: 100_000 })).toBe(2 ** 31 - 1);
  });

  it('a cancel that comes before the runner printed its PID still kills it', async () => {
    adb.mode = 'slow';
    const ac = new AbortController();
    const p = target.run(job({ trials: 1 }), ctx(ac.signal)).catch((e) => e);
    for (let i = 0; i < 200 && !adb.commands.some((x) => x.includes('--graph=')); i++) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    const err = (await p) as BenchmarkFailure;
    expect(err.error.code).toBe('CANCELLED');
    expect(adb.commands.some((x) => /^kill -9 \d+/.test(x))).toBe(true);
  });

  it('a phone that drops mid-run fails with a reconnect message and keeps finished trials', async () => {
    await target.run(job({ trials: 1 }), ctx());
    adb.mode = 'drop';
    const err = (await target.run(job(), ctx()).catch((e) => e)) as BenchmarkFailure;
    expect(err.error.code).toBe('DEVICE_DISCONNECTED');
    expect(err.error.message).toMatch(/SERIAL1 disconnected during the benchmark run\. Reconnect the phone/);
    expect(err.partial.runnerSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses to push when the phone lacks space', async () => {
    fs.writeFileSync(path.join(root, 'bin/df'), '#!/bin/sh\necho "Filesystem 1K-blocks Used Available Use% Mounted on"\necho "/dev/block/dm-5 1000 990 10 99% /data"\n', { mode: 0o755 });
    const err = (await target.run(job(), ctx()).catch((e) => e)) as BenchmarkFailure;
    expect(err.error.code).toBe('DISK_FULL');
    expect(err.error.message).toMatch(/has 10\.0 KiB free .* Free some space on the phone/);
  });

  it('stores the measured count and the warm-up statistics of each trial, all from the runner\'s own lines', async () => {
    const r = await target.run(job({ trials: 1, runs: 10 }), ctx());
    // The runner measured 25 runs (its --min_secs filled more than asked): the count is what it measured.
    expect(r.trials[0].stats).toMatchObject({ count: 25, meanUs: 145528, minUs: 140071, maxUs: 195121, stdUs: 13583, medianUs: 141253 });
    expect(r.trials[0].stats.warmup).toEqual({ count: 3, meanUs: 211669, stdUs: 16613, minUs: 199462, maxUs: 235158 });
  });

  it('hashes with sha1sum when the phone has no sha256sum, and says so', async () => {
    fs.writeFileSync(path.join(root, 'bin/sha256sum'), '#!/bin/sh\necho "/system/bin/sh: sha256sum: inaccessible or not found"\nexit 127\n', { mode: 0o755 });
    const r = await target.run(job({ trials: 1 }), ctx());
    expect(r.trials).toHaveLength(1);
    expect(r.extra).toMatchObject({ runnerPushed: true, hashCheck: 'sha1' });
    expect(r.extra.notes).toEqual(expect.arrayContaining([expect.stringMatching(/no sha256sum .*Android 8\.0.*SHA-1/)]));
    expect(adb.commands.some((c) => c.startsWith('sha1sum '))).toBe(true);
    // Pushed once: the second run finds the same SHA-1 on the phone.
    expect((await target.run(job({ trials: 1 }), ctx())).extra).toMatchObject({ runnerPushed: false, modelPushed: false });
  });

  it('runs unpinned with a recorded note when the phone has no taskset', async () => {
    fs.writeFileSync(path.join(root, 'bin/taskset'), '#!/bin/sh\necho "/system/bin/sh: taskset: inaccessible or not found"\nexit 127\n', { mode: 0o755 });
    const r = await target.run(job({ trials: 1 }), ctx());
    expect(r.trials).toHaveLength(1);
    expect(r.extra).toMatchObject({ taskset: null, unpinned: 'taskset is missing on the phone', requestedCpus: [4, 5, 6, 7] });
    expect(r.extra.notes).toEqual(expect.arrayContaining([expect.stringMatching(/no taskset.*ran unpinned/)]));
    expect(adb.commands.find((x) => x.includes('--graph='))).not.toMatch(/taskset/);
  });

  it('keeps complete results printed before a non-zero exit, and says so', async () => {
    adb.mode = 'exit3';
    const r = await target.run(job({ trials: 1 }), ctx());
    expect(r.trials[0].stats).toMatchObject({ count: 25, meanUs: 145528 });
    expect(r.vmHwmKb).toBeGreaterThan(0);
    expect(r.extra.notes).toEqual(expect.arrayContaining(['Trial 1: benchmark_model exited with code 3 after printing complete results; they are kept.']));
  });

  it('an NNAPI benchmark whose delegate took nothing is stored as "delegate not applied" with the reason, never as a success', async () => {
    adb.mode = 'nnapi-none';
    const err = (await target.run(job({ trials: 1, nnapi: true }), ctx()).catch((e) => e)) as BenchmarkFailure;
    expect(err).toBeInstanceOf(BenchmarkFailure);
    expect(err.error.code).toBe('DELEGATE_NOT_APPLIED');
    expect(err.error.message).toMatch(/NNAPI delegate was not applied on SERIAL1: Though NNAPI delegate is explicitly applied, the model graph will not be executed by the delegate\. The timings kept are of the CPU path/);
    expect(err.partial.trials).toHaveLength(1);
    expect(err.partial.extra?.ran).toMatchObject({ requested: 'nnapi', delegate: 'cpu', share: 0, applied: 'none' });
  });

  it('a GPU benchmark whose delegate ran no operation fails with the refused operators; a fully delegated one succeeds as GPU', async () => {
    adb.mode = 'gpu-none';
    const err = (await target.run(job({ trials: 1, gpu: true }), ctx()).catch((e) => e)) as BenchmarkFailure;
    expect(err.error.code).toBe('DELEGATE_NOT_APPLIED');
    expect(err.error.message).toMatch(/GPU delegate was not applied on SERIAL1: No operations will run on the GPU, and all 31 operations will run on the CPU \(AVERAGE_POOL_2D: OP is supported, but tensor type isn't matched!/);
    expect(err.partial.extra?.ran).toMatchObject({ requested: 'gpu', delegate: 'cpu', share: 0 });
    adb.mode = 'gpu-full';
    const ok = await target.run(job({ trials: 1, gpu: true }), ctx());
    expect(ok.extra.ran).toMatchObject({ requested: 'gpu', delegate: 'gpu', share: 1, applied: 'full' });
    expect(ok.trials[0].stats).toMatchObject({ count: 50, meanUs: 119375 });
  });

  it('refuses to store figures that contradict each other', async () => {
    adb.mode = 'contradict';
    const err = (await target.run(job({ trials: 1 }), ctx()).catch((e) => e)) as BenchmarkFailure;
    expect(err.error.code).toBe('RUNNER_OUTPUT_INCONSISTENT');
    expect(err.error.message).toMatch(/min 30 > mean 20/);
    expect(err.partial.trials).toEqual([]);
    expect(err.partial.rawOutput).toContain('min=30');
  });
});
