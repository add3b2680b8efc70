/**
 * A benchmark on a device of a DeviceFarmer STF farm: reserve it (with STF's own timeout set to the
 * longest this job may take, so a crashed PocketBench never holds it longer), ask for its remote
 * connect address, `adb connect` it on the local ADB server, run the ordinary Android benchmark on
 * it, then — always, on success, failure or cancel — `adb disconnect`, end the remote connection
 * and release the device. The steps it took are kept with the benchmark (`stats.stf`).
 */
import { parseHostPort } from '../../src-shared/contract/devices';
import { AppError } from '../../src-shared/errors';
import type { Store } from '../store';
import { AndroidTarget, type AndroidTargetOptions, RUNNER_BUDGET, runnerTimeoutMs } from './android-target';
import type { CollectedFacts } from './device-facts';
import type { AdbSource, StfSource } from './sources';
import { type BenchOptions, BenchmarkFailure, type BenchmarkTarget, type TargetJob, type TargetResult, type TargetRunContext } from './target';

/** Time to reserve, connect, read facts and upload runner and model, on top of the trials. */
const SETUP_MS = 10 * 60_000;

/** The longest a job with these options may hold a farm device: the lab's own limits, summed. */
export function stfClaimTimeoutMs(o: BenchOptions, budget = RUNNER_BUDGET): number {
  return Math.min(SETUP_MS + o.trials * (o.cooldownMaxWaitS * 1000 + runnerTimeoutMs(o, budget)), 2 ** 31 - 1);
}

export interface StfTargetDeps {
  store: Store;
  /** The local ADB server: farm devices are `adb connect`ed there. */
  local: AdbSource;
  /** Marks a local serial as this key's connection (so the lab maps it back), or clears it. */
  setConnection(serial: string, key: string | null): void;
  /** Facts of the key once connected (the lab reads and stores them). */
  facts(key: string): Promise<CollectedFacts>;
  /** Resolves when the local server lists the serial as a ready device. */
  waitReady(serial: string, signal: AbortSignal): Promise<void>;
  android?: AndroidTargetOptions;
}

export class StfTarget implements BenchmarkTarget {
  readonly kind = 'android' as const;

  constructor(
    readonly key: string,
    readonly source: StfSource,
    readonly serial: string,
    private readonly deps: StfTargetDeps,
  ) {}

  deviceId(): number {
    return this.deps.store.devices.upsert(this.key, 'android');
  }

  async run(job: TargetJob, ctx: TargetRunContext): Promise<TargetResult> {
    const { client } = this.source;
    const steps: string[] = [];
    const claimMs = stfClaimTimeoutMs(job.options, this.deps.android?.runnerBudget);
    let claimed = false;
    let remote = false;
    let url: string | null = null;
    let result: TargetResult | null = null;
    let failure: unknown = null;
    try {
      ctx.progress({ phase: 'reserve', message: `Reserving ${this.serial} on ${this.source.label}` });
      await client.claim(this.serial, claimMs, ctx.signal);
      claimed = true;
      this.source.held.add(this.serial);
      steps.push(`claim (timeout ${Math.round(claimMs / 1000)} s)`);
      url = await client.remoteConnect(this.serial, ctx.signal);
      remote = true;
      steps.push(`remoteConnect ${url}`);
      const hp = parseHostPort(url);
      if (!hp) throw new AppError('STF_REQUEST_FAILED', `The device farm gave "${url}" as the remote connect address of ${this.serial}; expected host:port.`);
      this.deps.setConnection(url, this.key);
      ctx.progress({ phase: 'reserve', message: `Connecting to ${this.serial} through ${url}` });
      const refused = (why: string) => new AppError('CONNECT_FAILED', `adb could not connect to the farm device ${this.serial} at ${url}: ${why.trim().replace(/\.$/, '')}. Check that this computer reaches the farm's providers (the ports it hands out) and that STF has your ADB key.`);
      const msg = await this.deps.local.adb.connect(hp.host, hp.port).catch((e: AppError) => {
        throw refused(e.message.replace(/^Could not connect to [^:]+:\d+: /, '').replace(/\. Check the address.*$/, ''));
      });
      if (/unable|failed|cannot/i.test(msg)) throw refused(msg);
      steps.push('adb connect');
      await this.deps.waitReady(url, ctx.signal);
      const inner = new AndroidTarget(this.key, this.deps.local.adb, this.deps.store, () => this.deps.facts(this.key), this.deps.android, url);
      result = await inner.run(job, ctx);
    } catch (err) {
      failure = err;
    } finally {
      // Give everything back, whatever happened; a failure here is kept, never thrown over the result.
      if (url) {
        // Forget the link first: its disconnect is ours, not a phone lost mid-job.
        this.deps.setConnection(url, null);
        const hp = parseHostPort(url);
        if (hp) await this.deps.local.adb.disconnect(hp.host, hp.port);
        steps.push('adb disconnect');
      }
      if (remote) await client.remoteDisconnect(this.serial).then(() => steps.push('remoteDisconnect'), (e: Error) => steps.push(`remoteDisconnect failed: ${e.message}`));
      if (claimed) await client.release(this.serial).then(() => steps.push('release'), (e: Error) => steps.push(`release failed (STF frees it after the claim timeout): ${e.message}`));
      this.source.held.delete(this.serial);
    }
    const stf = { farm: this.source.address, serial: this.serial, remoteConnectUrl: url, claimTimeoutMs: claimMs, steps };
    if (failure) {
      const partial = failure instanceof BenchmarkFailure ? failure.partial : {};
      const error = failure instanceof BenchmarkFailure ? failure.error : failure instanceof AppError ? failure : new AppError('INTERNAL', (failure as Error).message);
      throw new BenchmarkFailure(error, { ...partial, extra: { ...(partial.extra ?? {}), stf } });
    }
    return { ...result!, extra: { ...result!.extra, stf } };
  }
}
