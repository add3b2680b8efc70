/**
 * The `profile` stage: benchmarks the exported .tflite on the recipe's targets. It runs in the
 * pipeline worker, but ADB and the device queues live in the host process, so it asks the host
 * (`devices.benchmark`, see pipeline-service.ts) and relays the progress it gets back.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BenchmarkProgress } from '../../src-shared/contract/devices';
import { AppError } from '../../src-shared/errors';
import type { BenchmarkSummary } from '../../src-shared/types';
import { callHost } from '../pipeline/host-call';
import type { StageRegistry } from '../pipeline/stage';
import { BENCHMARK_SERVICE, type BenchmarkRequest } from './pipeline-service';

/** Targets measured to the end by an earlier attempt of this stage (target → benchmark id), in its checkpoint folder. */
const DONE_FILE = 'profile-done.json';

function finishedBefore(file: string, artifactId: number | null, get: (id: number) => BenchmarkSummary | null): Map<string, BenchmarkSummary> {
  const out = new Map<string, BenchmarkSummary>();
  let saved: Record<string, number> = {};
  try {
    saved = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, number>;
  } catch {
    return out;
  }
  for (const [t, id] of Object.entries(saved)) {
    // A benchmark deleted from the history since (or of another file) is measured again.
    const b = get(id);
    if (b?.status === 'succeeded' && b.artifactId === artifactId) out.set(t, b);
  }
  return out;
}

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
    // A resumed stage keeps what finished before the stop (a cancel, a phone that dropped) and
    // re-measures only the other targets.
    const doneFile = path.join(ctx.checkpointDir, DONE_FILE);
    const done = ctx.resuming ? finishedBefore(doneFile, model.artifactId ?? null, (id) => ctx.store.benchmarks.get(id)) : new Map<string, BenchmarkSummary>();
    const todo = targets.filter((t) => !done.has(t));
    if (done.size) ctx.log('info', `Kept from before the stop: ${[...done.keys()].join(', ')} (benchmarks ${[...done.values()].map((b) => `#${b.id}`).join(', ')}); measuring ${todo.length ? todo.join(', ') : 'nothing more'}.`);
    const perTarget = new Map<string, number>([...done.keys()].map((t) => [t, 1]));
    ctx.throwIfCancelled();
    const fresh = todo.length
      ? await callHost<BenchmarkSummary[]>(BENCHMARK_SERVICE, { ...req, targets: todo }, {
          signal: ctx.signal,
          onProgress: (raw) => {
            const p = raw as BenchmarkProgress;
            const f = p.phase === 'done' ? 1 : (p.fraction ?? 0);
            perTarget.set(p.target, f);
            const total = [...perTarget.values()].reduce((a, b) => a + b, 0) / targets.length;
            ctx.progress({ phase: p.target, message: `${p.target}: ${p.message ?? p.status}`, fraction: total });
          },
        })
      : [];
    // The host answers in the order of the targets it was given.
    const freshBy = new Map(todo.map((t, i) => [t, fresh[i]]));
    for (const [t, b] of freshBy) if (b.status === 'succeeded') done.set(t, b);
    fs.writeFileSync(doneFile, JSON.stringify(Object.fromEntries([...done].map(([t, b]) => [t, b.id]))));
    ctx.throwIfCancelled();
    const results = targets.map((t) => freshBy.get(t) ?? done.get(t)!);
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
