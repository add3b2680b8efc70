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

export interface BenchmarkRequest {
  modelPath: string;
  artifactId: number | null;
  modelName?: string;
  targets: string[];
  options: unknown;
}

export const BENCHMARK_SERVICE = 'devices.benchmark';

export function devicesHostServices(deps: HostDeps): Record<string, HostService> {
  return {
    [BENCHMARK_SERVICE]: async (payload, ctx) => {
      const req = payload as BenchmarkRequest;
      const options = benchOptionsSchema.safeParse(req.options ?? {});
      if (!options.success) throw AppError.fromZod(options.error, 'Bad profile options');
      const lab = labFor(deps);
      const ids = await lab.queue({ modelPath: req.modelPath, artifactId: req.artifactId, modelName: req.modelName, targets: req.targets, options: options.data });
      const mine = new Set(ids);
      const unsub = deps.bus.subscribe((ev, p) => {
        if (ev === 'benchmark.progress' && mine.has((p as BenchmarkProgress).benchmarkId)) ctx.progress(p);
      });
      const onAbort = () => ids.forEach((id) => lab.cancel(id));
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      try {
        return (await Promise.all(ids.map((id) => lab.wait(id)))) satisfies BenchmarkSummary[];
      } finally {
        unsub();
        ctx.signal.removeEventListener('abort', onAbort);
      }
    },
  };
}
