/**
 * Benchmarks on an Android phone: runner and model pushed (once, by hash), then K trials, each
 * after a thermal cooldown, pinned to the big cores with `taskset` (the effective mask is read back
 * from /proc/PID/status), with VmHWM/VmRSS sampled while the runner runs and battery/temperatures
 * recorded before and after. Cancel kills the remote process; a phone that disappears fails the
 * benchmark with what was measured so far.
 */
import { AppError } from '../../src-shared/errors';
import type { LatencyStats } from '../../src-shared/types';
import type { Store } from '../store';
import { type Adbc, DisconnectedError, readShell } from './adb';
import { type CollectedFacts, type Conditions, readConditions } from './device-facts';
import { cpuMask, parseProcStatus } from './facts';
import { type ParsedBenchmark, parseBenchmarkOutput, runnerErrorMessage } from './parse-output';
import { hasTaskset } from './phone-tools';
import { REMOTE_RUNNER, provisionRunner, pushIfChanged, remoteModelPath, runnerFor } from './runners';
import { command, quote } from './shell-quote';
import { type BenchOptions, BenchmarkFailure, type BenchmarkTarget, type TargetJob, type TargetResult, type TargetRunContext } from './target';

const SIGNALS: Record<number, string> = { 4: 'SIGILL', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM' };
const PID_MARK = '__PB_PID__';

export interface AndroidTargetOptions {
  /** How often the cooldown re-reads temperatures, ms. */
  cooldownPollMs?: number;
  /** How often /proc/PID/status is sampled, ms. */
  sampleMs?: number;
  /** A trial's time limit is startMs + (warm-up + runs) × perRunMs (runnerTimeoutMs). */
  runnerBudget?: { startMs: number; perRunMs: number };
}

/** Generous per-trial budget: a hung runner must not block the phone's queue and the profile stage forever. */
export const RUNNER_BUDGET = { startMs: 120_000, perRunMs: 30_000 };

/** How long one trial may take: scaled to the runs it makes, never unbounded. */
export function runnerTimeoutMs(o: BenchOptions, budget = RUNNER_BUDGET): number {
  // setTimeout fires at once for delays past 2^31 − 1 ms (24.8 days): cap there.
  return Math.min(budget.startMs + (o.warmup + o.runs) * budget.perRunMs, 2 ** 31 - 1);
}

export function runnerArgs(o: BenchOptions, remoteModel: string): string[] {
  const args = [
    `--graph=${remoteModel}`,
    `--num_threads=${o.threads}`,
    `--num_runs=${o.runs}`,
    `--warmup_runs=${o.warmup}`,
    // Exactly the runs asked for: no extra runs to fill a minimum duration.
    '--min_secs=0',
    '--warmup_min_secs=0',
    `--use_xnnpack=${o.xnnpack}`,
  ];
  if (o.gpu) args.push('--use_gpu=true');
  if (o.nnapi) args.push('--use_nnapi=true');
  if (o.opProfiling) args.push('--enable_op_profiling=true');
  if (o.peakMemory) args.push('--report_peak_memory_footprint=true');
  return args;
}

/** A cancel seen between two steps of a benchmark (a cool-down read, a trial's end): nothing more starts on the phone. */
function stopIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new AppError('CANCELLED', 'Cancelled by the user; no runner was left running on the phone.');
}

/**
 * A wait that a cancel ends. A listener added to an already-aborted signal never fires, so that case
 * rejects at once (a cancel during a cool-down read used to wait out the whole cool-down, up to an
 * hour); the listener goes when the timer fires, so polls do not pile listeners on the signal.
 */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const cancelled = () => new AppError('CANCELLED', 'Cancelled by the user; no runner was left running on the phone.');
    if (signal.aborted) return reject(cancelled());
    const onAbort = () => {
      clearTimeout(t);
      reject(cancelled());
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

export class AndroidTarget implements BenchmarkTarget {
  readonly kind = 'android' as const;

  constructor(
    readonly key: string,
    private readonly adb: Adbc,
    private readonly store: Store,
    private readonly facts: () => Promise<CollectedFacts>,
    private readonly opts: AndroidTargetOptions = {},
    /** The serial on `adb`'s server (differs from the key for other sources' devices, see sources.ts). */
    private readonly serial: string = key,
  ) {}

  deviceId(): number {
    return this.store.devices.upsert(this.key, 'android');
  }

  async run(job: TargetJob, ctx: TargetRunContext): Promise<TargetResult> {
    const serial = this.serial;
    const o = job.options;
    const partial: TargetResult = {
      trials: [],
      runnerSha256: null,
      runnerVersion: null,
      peakMemMb: null,
      vmHwmKb: null,
      vmRssKb: null,
      affinity: null,
      ops: [],
      extra: {},
      conditionsBefore: null,
      conditionsAfter: null,
      rawOutput: '',
    };
    try {
      const facts = await this.facts();
      const runner = runnerFor(this.store, facts.abis, serial);
      partial.runnerSha256 = runner.sha256;
      partial.extra.runnerAbi = runner.abi;
      ctx.progress({ phase: 'runner', message: `Checking benchmark_model (${runner.abi}) on the phone` });
      const r = await provisionRunner(this.adb, serial, runner, (b, t) => ctx.progress({ phase: 'runner', message: 'Uploading benchmark_model', fraction: b / t }), ctx.signal);
      partial.extra.runnerPushed = r.pushed;
      partial.extra.hashCheck = r.hash;
      const notes: string[] = [];
      partial.extra.notes = notes;
      if (r.hashNote) notes.push(r.hashNote);

      const remoteModel = remoteModelPath(job.modelSha256);
      ctx.progress({ phase: 'model', message: 'Checking the model on the phone' });
      const m = await pushIfChanged(this.adb, serial, job.modelPath, job.modelSha256, remoteModel, 0o644, (b, t) => ctx.progress({ phase: 'model', message: 'Uploading the model', fraction: b / t }), ctx.signal);
      partial.extra.modelPushed = m.pushed;

      const wantPin = o.pinBigCores && facts.clusters.length > 1 && facts.bigCores.length > 0;
      // Without taskset (before Android 6.0, or removed by the vendor) the runner runs unpinned, and says so.
      const pin = wantPin && (await hasTaskset(this.adb, serial));
      if (wantPin && !pin) {
        partial.extra.unpinned = 'taskset is missing on the phone';
        notes.push('The phone has no taskset (toybox has it from Android 6.0): the runner ran unpinned, on any core, so its timings mix big and little cores.');
      }
      const mask = pin ? cpuMask(facts.bigCores) : null;
      partial.extra.requestedCpus = wantPin ? facts.bigCores : null;
      partial.extra.taskset = mask;
      const zoneNames = facts.conditions.zones.map((z) => z.zone);
      const args = runnerArgs(o, remoteModel);
      partial.extra.command = [pin ? `taskset ${mask}` : null, REMOTE_RUNNER, ...args].filter(Boolean).join(' ');

      const outputs: string[] = [];
      for (let i = 0; i < o.trials; i++) {
        stopIfCancelled(ctx.signal);
        ctx.progress({ phase: 'cooldown', message: `Trial ${i + 1}/${o.trials}: waiting for the phone to cool down`, trial: i + 1 });
        const cool = await this.cooldown(serial, facts.sdk, zoneNames, o, ctx.signal);
        if (i === 0) partial.conditionsBefore = { thermal: thermalRecord(cool.conditions), battery: cool.conditions.battery };
        // The cool-down's reads do not watch the signal: a cancel during them must not start this trial's runner.
        stopIfCancelled(ctx.signal);
        ctx.progress({ phase: 'run', message: `Trial ${i + 1}/${o.trials}: running`, trial: i + 1, fraction: i / o.trials });
        const t0 = Date.now();
        const run = await this.runOnce(serial, mask, args, ctx, runnerTimeoutMs(o, this.opts.runnerBudget), (line) => {
          if (/Running benchmark for at least/.test(line)) ctx.progress({ phase: 'run', message: `Trial ${i + 1}/${o.trials}: ${line.trim()}`, trial: i + 1, fraction: i / o.trials });
        });
        // The runner's own wall time (for the overhead benchmark: everything else is the app's).
        partial.extra.runnerWallMs = ((partial.extra.runnerWallMs as number | undefined) ?? 0) + (Date.now() - t0);
        outputs.push(run.output);
        partial.rawOutput = outputs.join('\n----- next trial -----\n');
        partial.vmHwmKb = Math.max(partial.vmHwmKb ?? 0, run.vmHwmKb ?? 0) || null;
        partial.vmRssKb = Math.max(partial.vmRssKb ?? 0, run.vmRssKb ?? 0) || null;
        partial.affinity ??= run.affinity;
        const parsed = parseBenchmarkOutput(run.output);
        if (run.exitNote) notes.push(`Trial ${i + 1}: ${run.exitNote}`);
        if (parsed.problems.length) {
          throw new AppError('RUNNER_OUTPUT_INCONSISTENT', `benchmark_model printed figures that contradict each other on ${serial} (${parsed.problems.join('; ')}); nothing from this trial was stored as measured. The raw output is kept with the benchmark.`);
        }
        const mean = parsed.runs?.avg ?? parsed.inferenceMeanUs ?? null;
        if (mean === null) throw new AppError('RUNNER_NO_TIMINGS', `benchmark_model printed no timings on ${serial}: ${runnerErrorMessage(run.output)}`);
        for (const w of parsed.warnings) notes.push(`Trial ${i + 1}: ${w}`);
        const after = await readConditions(this.adb, serial, facts.sdk, zoneNames);
        partial.conditionsAfter = { thermal: thermalRecord(after), battery: after.battery };
        partial.trials.push({ stats: trialStats(parsed, mean), cooldownMs: cool.waitedMs, cooldownTimedOut: cool.timedOut, tempBeforeC: cool.conditions.maxTempC, tempAfterC: after.maxTempC });
        // Memory, by kind: the runner's own peak report, its delta from start (never called a peak),
        // VmRSS at its end, and the VmHWM we sampled (vmHwmKb).
        const runnerPeak = parsed.peakMemMb ?? (parsed.memory?.kind === 'peak' ? parsed.memory.overallMb : null);
        if (runnerPeak !== null) {
          partial.peakMemMb = Math.max(partial.peakMemMb ?? 0, runnerPeak);
          partial.peakMemKind = 'runner-peak';
        }
        partial.extra.memory = {
          runnerPeakMb: partial.peakMemMb,
          deltaFromStartMb: parsed.memory?.kind === 'delta' ? { init: parsed.memory.initMb, overall: parsed.memory.overallMb } : null,
          vmRssAtEndMb: parsed.memoryStatus?.vmRssMb ?? null,
          unit: 'MiB',
        };
        partial.extra.delegations = parsed.delegations;
        partial.extra.delegatedShare = parsed.delegatedShare;
        partial.extra.modelSizeMb = parsed.modelSizeMb;
        partial.extra.ran = whatRan(o, parsed);
        if (i === o.trials - 1) partial.ops = parsed.ops;
      }
      if (partial.affinity && pin) {
        partial.extra.affinityMatches = partial.affinity === formatCpuList(facts.bigCores);
      }
      const ran = partial.extra.ran as RanOn;
      if (ran.requested !== ran.delegate) {
        // A GPU/NNAPI benchmark whose delegate took nothing timed the CPU path: never a success.
        throw new AppError('DELEGATE_NOT_APPLIED', `The ${ran.requested.toUpperCase()} delegate was not applied on ${serial}: ${(ran.reason ?? 'the runner reported nothing delegated').replace(/\.$/, '')}. The timings kept are of the CPU path.`);
      }
      return partial;
    } catch (err) {
      let e = err instanceof AppError ? err : new AppError('INTERNAL', (err as Error).message);
      if (e instanceof DisconnectedError && !/benchmark run|upload/.test(e.message)) e = new DisconnectedError(serial, 'the benchmark');
      throw new BenchmarkFailure(e, partial);
    }
  }

  private async cooldown(serial: string, sdk: number | null, zones: string[], o: BenchOptions, signal: AbortSignal): Promise<{ conditions: Conditions; waitedMs: number; timedOut: boolean }> {
    const start = Date.now();
    const poll = this.opts.cooldownPollMs ?? 2000;
    for (;;) {
      const c = await readConditions(this.adb, serial, sdk, zones);
      const cool = (c.thermal?.status ?? 0) === 0 && (c.maxTempC === null || c.maxTempC < o.cooldownMaxTempC);
      const waited = Date.now() - start;
      if (cool) return { conditions: c, waitedMs: waited, timedOut: false };
      if (waited >= o.cooldownMaxWaitS * 1000) return { conditions: c, waitedMs: waited, timedOut: true };
      await sleep(Math.min(poll, o.cooldownMaxWaitS * 1000 - waited + 1), signal);
    }
  }

  /** One run of the runner, in the background on the phone so we know its PID. */
  private async runOnce(
    serial: string,
    mask: string | null,
    args: string[],
    ctx: TargetRunContext,
    timeoutMs: number,
    onLine: (line: string) => void,
  ): Promise<{ output: string; vmHwmKb: number | null; vmRssKb: number | null; affinity: string | null; exitNote: string | null }> {
    const prog = mask ? command('taskset', mask, REMOTE_RUNNER, ...args) : command(REMOTE_RUNNER, ...args);
    // A listener added to an aborted signal never fires: a cancel from the progress event just sent must be seen here.
    stopIfCancelled(ctx.signal);
    const stream = await this.adb.openShell(serial, `${prog} 2>&1 & echo ${PID_MARK}$!; wait $!`);
    let pid: number | null = null;
    let buf = '';
    let vmHwmKb: number | null = null;
    let vmRssKb: number | null = null;
    let affinity: string | null = null;
    let sampling = false;
    let stop = false;
    const sampleMs = this.opts.sampleMs ?? 200;
    const sample = async () => {
      if (sampling || stop || pid === null) return;
      sampling = true;
      try {
        const r = await this.adb.shell(serial, command('cat', `/proc/${pid}/status`), { timeoutMs: 5000 });
        if (r.exitCode === 0) {
          const s = parseProcStatus(r.output);
          if (s.vmHwmKb !== null) vmHwmKb = Math.max(vmHwmKb ?? 0, s.vmHwmKb);
          if (s.vmRssKb !== null) vmRssKb = Math.max(vmRssKb ?? 0, s.vmRssKb);
          affinity ??= s.cpusAllowedList;
        }
      } catch {
        /* the process ended or the phone is gone; the run itself reports that */
      } finally {
        sampling = false;
      }
    };
    const timer = setInterval(() => void sample(), sampleMs);
    // Cancel: kill the runner by its PID, then stop reading. A cancel that comes before the PID
    // was printed waits for it (at most a few seconds) so the runner never outlives the benchmark.
    const stopReading = new AbortController();
    let graceTimer: NodeJS.Timeout | undefined;
    // The cancel is reported only once the kill has been sent and answered, so a cancelled row
    // never describes a runner that is still running on the phone.
    let killed: Promise<void> | null = null;
    const killAndStop = () => {
      // One kill per runner, whichever comes first (the cancel, the PID after it, the time limit).
      if (pid !== null) killed ??= this.adb.kill(serial, pid);
      stopReading.abort();
    };
    const onAbort = () => {
      if (pid !== null) killAndStop();
      else graceTimer = setTimeout(killAndStop, 3000);
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    // A runner that never finishes (hung on the phone) is killed and reported.
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      killAndStop();
    }, timeoutMs);
    const timeout = async () => {
      await killed;
      return new AppError(
        'RUNNER_TIMEOUT',
        `benchmark_model did not finish on ${serial} within ${Math.round(timeoutMs / 1000)} s (the limit for this trial's runs) and was stopped. The phone may be stuck or the model far too slow for it: check the phone, or benchmark with fewer runs.`,
      );
    };
    try {
      const res = await readShell(stream, serial, {
        signal: stopReading.signal,
        onData: (chunk) => {
          buf += chunk;
          if (pid === null) {
            const m = new RegExp(`${PID_MARK}(\\d+)`).exec(buf);
            if (m) {
              pid = Number(m[1]);
              if (ctx.signal.aborted) {
                clearTimeout(graceTimer);
                killAndStop();
              } else void sample();
            }
          }
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            onLine(buf.slice(0, nl));
            buf = buf.slice(nl + 1);
          }
        },
      });
      stop = true;
      if (timedOut) throw await timeout();
      const output = res.output.replace(new RegExp(`^${PID_MARK}\\d+\\r?\\n?`, 'm'), '');
      if (ctx.signal.aborted) {
        await killed;
        throw new AppError('CANCELLED', 'Cancelled by the user; the runner on the phone was stopped.');
      }
      let exitNote: string | null = null;
      if (res.exitCode !== 0) {
        const sig = res.exitCode > 128 && res.exitCode < 160 ? res.exitCode - 128 : null;
        const how = sig !== null ? `was killed by signal ${sig}${SIGNALS[sig] ? ` (${SIGNALS[sig]})` : ''}` : `exited with code ${res.exitCode}`;
        // A runner that printed a complete, consistent result and then failed (often in teardown,
        // e.g. a GPU driver at exit) measured what it printed: keep it, and say so.
        if (completeResult(output)) exitNote = `benchmark_model ${how} after printing complete results; they are kept.`;
        else if (sig !== null) throw new AppError('RUNNER_CRASHED', `benchmark_model crashed on ${serial} with signal ${sig}${SIGNALS[sig] ? ` (${SIGNALS[sig]})` : ''}. Its last words: ${runnerErrorMessage(output)}`);
        else throw new AppError('RUNNER_FAILED', `benchmark_model failed on ${serial} (exit ${res.exitCode}): ${runnerErrorMessage(output)}`);
      }
      return { output, vmHwmKb, vmRssKb, affinity, exitNote };
    } catch (err) {
      if (timedOut && !ctx.signal.aborted) throw await timeout();
      if (ctx.signal.aborted) {
        await killed;
        throw new AppError('CANCELLED', 'Cancelled by the user; the runner on the phone was stopped.');
      }
      if (err instanceof DisconnectedError) throw new DisconnectedError(serial, 'the benchmark run');
      throw err;
    } finally {
      clearTimeout(deadline);
      stop = true;
      clearTimeout(graceTimer);
      clearInterval(timer);
      ctx.signal.removeEventListener('abort', onAbort);
    }
  }
}

/** Thermal status and every zone read (an unreadable zone is there with a null temperature). */
function thermalRecord(c: Conditions): unknown {
  return { ...(c.thermal ?? { status: null }), zones: c.zones.map((z) => ({ zone: z.zone, tempC: z.tempC })) };
}

/** What actually ran a benchmark: the delegate asked for, the one that took the graph, its share and why. */
export interface RanOn {
  requested: 'gpu' | 'nnapi' | 'xnnpack' | 'cpu';
  delegate: 'gpu' | 'nnapi' | 'xnnpack' | 'cpu';
  /** Share of the model's nodes the delegate ran (0..1), when the runner said. */
  share: number | null;
  applied: 'full' | 'partial' | 'none' | null;
  reason: string | null;
  unsupported: string[];
}

export function whatRan(o: Pick<BenchOptions, 'gpu' | 'nnapi' | 'xnnpack'>, parsed: ParsedBenchmark): RanOn {
  const requested = o.gpu ? 'gpu' : o.nnapi ? 'nnapi' : o.xnnpack ? 'xnnpack' : 'cpu';
  if (requested === 'cpu') return { requested, delegate: 'cpu', share: null, applied: null, reason: null, unsupported: [] };
  const d = parsed.delegates.find((x) => x.kind === requested);
  if (requested === 'xnnpack') {
    // XNNPack is TFLite's default CPU path: nothing delegated still runs the CPU kernels.
    const none = d?.applied === 'none';
    return { requested, delegate: none ? 'cpu' : 'xnnpack', share: d?.share ?? null, applied: d?.applied ?? null, reason: none ? (d?.note ?? null) : null, unsupported: d?.unsupported ?? [] };
  }
  // Only positive evidence counts as applied: a list of refused operators alone, or silence, is not.
  if (!d || !(d.applied === 'full' || d.applied === 'partial' || (d.share ?? 0) > 0)) {
    const reason = d?.note ?? (d?.unsupported.length ? `unsupported operations: ${d.unsupported.join('; ')}` : parsed.errors.length ? parsed.errors.slice(-2).join(' ') : 'the runner printed no sign that it applied the delegate');
    const unsupported = d?.unsupported ?? [];
    return { requested, delegate: 'cpu', share: 0, applied: 'none', reason: unsupported.length && d?.note ? `${reason.replace(/\.$/, '')} (${unsupported.join('; ')})` : reason, unsupported };
  }
  return { requested, delegate: requested, share: d.share, applied: d.applied, reason: d.applied === 'partial' ? (d.note ?? (d.unsupported.length ? `unsupported operations: ${d.unsupported.join('; ')}` : null)) : null, unsupported: d.unsupported };
}

/** A trial's statistics, every one from the same line of the output (see parse-output.ts). */
export function trialStats(parsed: ParsedBenchmark, meanUs: number): LatencyStats {
  const r = parsed.runs;
  const w = parsed.warmup;
  return {
    // The runs the runner measured (it may run more than --num_runs to fill --min_secs).
    count: r?.count ?? null,
    initMs: parsed.initMs,
    firstInferenceUs: parsed.firstInferenceUs,
    warmupMeanUs: w?.avg ?? parsed.warmupMeanUs,
    meanUs,
    stdUs: r?.std ?? null,
    minUs: r?.min ?? null,
    maxUs: r?.max ?? null,
    p5Us: r?.p5 ?? null,
    medianUs: r?.median ?? null,
    p95Us: r?.p95 ?? null,
    warmup: w ? { count: w.count, meanUs: w.avg, stdUs: w.std, minUs: w.min, maxUs: w.max } : null,
  };
}

/** Timings, one consistent stat line and no contradictions: what a finished run prints. */
export function completeResult(output: string): boolean {
  const p = parseBenchmarkOutput(output);
  return p.inferenceMeanUs !== null && p.runs !== null && p.problems.length === 0;
}

export function formatCpuList(cpus: number[]): string {
  const s = [...cpus].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    parts.push(j > i ? `${s[i]}-${s[j]}` : `${s[i]}`);
    i = j + 1;
  }
  return parts.join(',');
}

