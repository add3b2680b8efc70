/**
 * Host side of the profile stage: the stage (in the pipeline worker) sends a `host-request` for
 * `devices.benchmark`; this queues the benchmarks in the host's lab, relays their progress, cancels
 * them when the run is cancelled, and answers with the stored summaries.
 */
import { benchOptionsSchema, type BenchmarkProgress } from '../../src-shared/contract/devices';
import { AppError } from '../../src-shared/errors';
import type { BenchmarkSummary } from '../../src-shared/types';
import type { HostDeps } from '../host/context';
import type { HostService } from '../pipeline/service';
import { labFor } from './index';
import type { DeviceLab } from './lab';

export interface BenchmarkRequest {
  modelPath: string;
  artifactId: number | null;
  modelName?: string;
  targets: string[];
  options: unknown;
}

export const BENCHMARK_SERVICE = 'devices.benchmark';

export function devicesHostServices(deps: Pick<HostDeps, 'bus'> & Partial<HostDeps>, getLab: () => DeviceLab = () => labFor(deps as HostDeps)): Record<string, HostService> {
  return {
    [BENCHMARK_SERVICE]: async (payload, ctx) => {
      const req = payload as BenchmarkRequest;
      const options = benchOptionsSchema.safeParse(req.options ?? {});
      if (!options.success) throw AppError.fromZod(options.error, 'Bad profile options');
      if (ctx.signal.aborted) throw new AppError('CANCELLED', 'Cancelled before the benchmark was queued.');
      const lab = getLab();
      // Subscribe first: a fast target reports progress before queue() returns the ids.
      const early: BenchmarkProgress[] = [];
      let mine: Set<number> | null = null;
      const unsub = deps.bus.subscribe((ev, p) => {
        if (ev !== 'benchmark.progress') return;
        const bp = p as BenchmarkProgress;
        if (!mine) early.push(bp);
        else if (mine.has(bp.benchmarkId)) ctx.progress(bp);
      });
      let ids: number[];
      try {
        ids = await lab.queue({ modelPath: req.modelPath, artifactId: req.artifactId, modelName: req.modelName, targets: req.targets, options: options.data });
      } catch (err) {
        unsub();
        throw err;
      }
      mine = new Set(ids);
      for (const bp of early) if (mine.has(bp.benchmarkId)) ctx.progress(bp);
      const onAbort = () => ids.forEach((id) => lab.cancel(id));
      // A cancel that came while queue() hashed the model and created the rows fired no listener
      // (none was there yet): without this the whole benchmark ran after it.
      if (ctx.signal.aborted) onAbort();
      else ctx.signal.addEventListener('abort', onAbort, { once: true });
      try {
        return (await Promise.all(ids.map((id) => lab.wait(id)))) satisfies BenchmarkSummary[];
      } finally {
        unsub();
        ctx.signal.removeEventListener('abort', onAbort);
      }
    },
  };
}
