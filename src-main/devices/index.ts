/**
 * Device lab: Android phones over ADB (discovery, facts, runners, benchmarks with variance
 * control) and any other benchmark target, such as "This computer".
 *
 * Public surface:
 * - `createLab({ store, bus, dataDir, extraTargets?, extraTargetKeys? })` → `DeviceLab`.
 *   One lab per host process; `labFor(deps)` returns the host's lab (the handlers and the pipeline
 *   service share it).
 * - `BenchmarkTarget` (./target.ts): implement it to add a target. `key` is what users pick
 *   (`host` for this computer), `deviceId()` upserts its row in `devices`, `run(job, ctx)` runs
 *   `job.options.trials` trials of `job.modelPath` and returns one `TrialMeasurement` per trial
 *   (LatencyStats in microseconds) plus memory figures; it throws `BenchmarkFailure(error, partial)`
 *   to keep what it measured. The lab queues jobs per key, computes the median/interval/CV and
 *   stores everything.
 * - Plugging in "This computer": src-main/devices/host-runner.ts (export area) exports a factory
 *   returning a `BenchmarkTarget` with key `host`; pass it as
 *   `extraTargets: (key) => key === 'host' ? hostTarget : null` and `extraTargetKeys: ['host']`
 *   (see `hostTargets` below, the one place to wire it).
 */
import type { HostDeps } from '../host/context';
import { createHostTarget } from './host-target';
import { DeviceLab, type ExtraTargets, type LabOptions } from './lab';

export { DeviceLab, type LabOptions, type QueueRequest, type ExtraTargets } from './lab';
export type { BenchmarkTarget, BenchOptions, TargetJob, TargetResult, TargetRunContext, TrialMeasurement } from './target';
export { BenchmarkFailure, defaultBenchOptions } from './target';

export function createLab(o: LabOptions): DeviceLab {
  return new DeviceLab(o);
}

/**
 * Targets other than ADB phones. Wire "This computer" here once host-runner.ts exists, e.g.
 * `const host = createHostTarget({ store: deps.store }); return { extraTargets: (k) => (k === 'host' ? host : null), extraTargetKeys: ['host'] };`
 */
export function hostTargets(deps: HostDeps): { extraTargets?: ExtraTargets; extraTargetKeys?: string[] } {
  // LiteRT runs in a task worker (its time limit and cancel kill that process, never the host).
  const host = createHostTarget({
    store: deps.store,
    trial: (path, o, signal) => deps.tasks.run('host.trial', { path, ...o }, { signal }),
    describe: () => deps.tasks.run('host.describe', undefined),
  });
  return { extraTargets: (k) => (k === host.key ? host : null), extraTargetKeys: [host.key] };
}

const labs = new WeakMap<object, DeviceLab>();

/** The host's one lab (created on first use, closed with the host). */
export function labFor(deps: HostDeps): DeviceLab {
  let lab = labs.get(deps.store);
  if (!lab) {
    lab = createLab({ store: deps.store, bus: deps.bus, dataDir: deps.paths.dataDir, ...hostTargets(deps) });
    labs.set(deps.store, lab);
    const l = lab;
    deps.onClose(() => l.close());
  }
  return lab;
}
