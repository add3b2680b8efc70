/**
 * The `profile` stage: benchmarks the exported .tflite on the recipe's targets. It runs in the
 * pipeline worker, but ADB and the device queues live in the host process, so it asks the host
 * (`devices.benchmark`, see pipeline-service.ts) and relays the progress it gets back.
 */
import type { BenchmarkProgress } from '../../src-shared/contract/devices';
import { AppError } from '../../src-shared/errors';
import type { BenchmarkSummary } from '../../src-shared/types';
import { callHost } from '../pipeline/host-call';
import type { StageRegistry } from '../pipeline/stage';
import { BENCHMARK_SERVICE, type BenchmarkRequest } from './pipeline-service';

export const stages: StageRegistry = {
  profile: async (ctx) => {
    const model = ctx.slots.tflite;
    if (!model) throw new AppError('NO_TFLITE', 'Profiling needs a .tflite model: add an export stage before the profile stage.');
    const s = ctx.stage;
    const targets = [...new Set(s.targets)];
    const req: BenchmarkRequest = {
      modelPath: model.path,
      artifactId: model.artifactId,
      targets,
      options: { threads: s.threads, runs: s.runs, warmup: s.warmup, trials: s.trials, xnnpack: s.xnnpack, gpu: s.gpu, nnapi: s.nnapi, opProfiling: s.opProfiling },
    };
    const perTarget = new Map<string, number>();
    const results = await callHost<BenchmarkSummary[]>(BENCHMARK_SERVICE, req, {
      signal: ctx.signal,
      onProgress: (raw) => {
        const p = raw as BenchmarkProgress;
        const f = p.phase === 'done' ? 1 : (p.fraction ?? 0);
        perTarget.set(p.target, f);
        const total = [...perTarget.values()].reduce((a, b) => a + b, 0) / targets.length;
        ctx.progress({ phase: p.target, message: `${p.target}: ${p.message ?? p.status}`, fraction: total });
      },
    });
    ctx.throwIfCancelled();
    const metrics: Record<string, unknown> = {};
    const failures: string[] = [];
    results.forEach((b, i) => {
      const t = targets[i];
      metrics[`${t}.benchmarkId`] = b.id;
      metrics[`${t}.status`] = b.status;
      if (b.status === 'succeeded') {
        metrics[`${t}.latencyMs`] = b.latencyUs !== null ? b.latencyUs / 1000 : null;
        metrics[`${t}.ciLowMs`] = b.ciLowUs !== null ? b.ciLowUs / 1000 : null;
        metrics[`${t}.ciHighMs`] = b.ciHighUs !== null ? b.ciHighUs / 1000 : null;
        metrics[`${t}.ciCoverage`] = b.ciCoverage;
        metrics[`${t}.cv`] = b.cv;
        // A peak of the named kind (MiB), never a delta; what ran, as the runner reported it.
        metrics[`${t}.peakMemMb`] = b.peakMemMb;
        metrics[`${t}.peakMemKind`] = b.peakMemKind;
        metrics[`${t}.ranOn`] = b.ranDelegate;
        metrics[`${t}.delegatedShare`] = b.delegatedShare;
      } else {
        failures.push(`${t}: ${b.error ?? b.status}`);
        ctx.log('warn', `Benchmark on ${t} ${b.status}: ${b.error ?? ''}`);
      }
    });
    if (failures.length === results.length) throw new AppError('PROFILE_FAILED', `Every benchmark failed: ${failures.join('; ')}`);
    return { metrics };
  },
};
