/**
 * The real stage runners, instrumented to cancel a stage at its Nth cancellation point and count the
 * work done after that (cancel-per-stage.test.ts). Runs inside the pipeline worker. The cancel is
 * requested the way the host requests it (the cancel file, pipeline/service.ts), from inside the stage,
 * while the worker is busy; the work after it is measured independently of the cancellation points:
 * TF.js kernels run (every op goes through the engine's `runKernel`) against the most kernels any one
 * unit of work (batch, inference chunk, calibration batch) took before the cancel.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { stages as distill } from '../../src-main/compress/distill/stages';
import { stages as prune } from '../../src-main/compress/prune/stages';
import { stages as quantize } from '../../src-main/compress/quantize/stages';
import { stages as train } from '../../src-main/compress/train/stages';
import { stages as search } from '../../src-main/compress/search/stages';
import { stages as profile } from '../../src-main/devices/stages';
import { stages as exporting } from '../../src-main/export/stages';
import { cancelFlagPath } from '../../src-main/pipeline/runner';
import type { StageContext, StageRegistry, StageRunner } from '../../src-main/pipeline/stage';
import { setCancelCheck } from '../../src-main/tf/cancel';

export interface CancelReport {
  stageIndex: number;
  /** Cancellation points passed in the stage before the request. */
  pointsBefore: number;
  /** Points passed after it (the one that saw it included). */
  pointsAfter: number;
  /** Most kernels run between two consecutive points before the cancel: one unit of work. */
  kernelsPerUnit: number;
  kernelsAfter: number;
  /** The stage's progress phase when the cancel was requested. */
  phase: string | null;
  /** Cancellation points passed in each progress phase (the whole stage when nothing was cancelled). */
  pointsByPhase: Record<string, number>;
  /** Benchmarks the lab created after the request (a search or profile stage asks the host for them). */
  benchmarksAfter: number;
  /** Where the stage stopped: the call stack of the first check after the request. */
  stoppedAt?: string | null;
  error: string | null;
}

const plan = JSON.parse(process.env.POCKETBENCH_TEST_CANCEL ?? '{}') as { stageIndex?: number; atPoint?: number };
let kernels = 0;
const engine = tf.engine() as unknown as { runKernel: (...a: unknown[]) => unknown };
const runKernel = engine.runKernel.bind(engine);
engine.runKernel = (...a: unknown[]) => {
  kernels++;
  return runKernel(...a);
};

function instrument(runner: StageRunner): StageRunner {
  return (async (ctx: StageContext) => {
    if (ctx.stageIndex !== plan.stageIndex) return runner(ctx as never);
    const report: CancelReport = { stageIndex: ctx.stageIndex, pointsBefore: 0, pointsAfter: 0, kernelsPerUnit: 0, kernelsAfter: 0, phase: null, error: null, pointsByPhase: {}, benchmarksAfter: 0 };
    const benchmarks = () => (ctx.store.db.prepare('SELECT COUNT(*) AS n FROM benchmarks').get() as { n: number }).n;
    let benchmarksAtRequest = 0;
    let requestedAt: number | null = null;
    let lastPointKernels = kernels;
    let phase: string | null = null;
    const progress = ctx.progress;
    ctx.progress = (p) => {
      phase = p.phase ?? phase;
      progress(p);
    };
    // Stages also check through ctx.throwIfCancelled: the first check after the request counts, wherever it is.
    const check = ctx.throwIfCancelled;
    ctx.throwIfCancelled = () => {
      if (requestedAt !== null) {
        report.pointsAfter++;
        report.stoppedAt ??= new Error().stack?.split('\n').slice(2, 6).join(' | ').replace(/\s+/g, ' ') ?? null;
      }
      check();
    };
    setCancelCheck(() => {
      ctx.throwIfCancelled();
      if (requestedAt !== null) return;
      report.pointsByPhase[phase ?? '-'] = (report.pointsByPhase[phase ?? '-'] ?? 0) + 1;
      report.pointsBefore++;
      if (report.pointsBefore > 1) report.kernelsPerUnit = Math.max(report.kernelsPerUnit, kernels - lastPointKernels);
      lastPointKernels = kernels;
      if (report.pointsBefore === plan.atPoint) {
        // The cancel arrives just as a unit of work starts (the worst moment): exactly what the host's
        // cancel does first. The IPC message could not be read while this synchronous loop runs.
        fs.writeFileSync(cancelFlagPath(ctx.paths.dataDir, ctx.runId), 'test');
        requestedAt = kernels;
        benchmarksAtRequest = benchmarks();
        report.phase = phase;
      }
    });
    try {
      return await runner(ctx as never);
    } catch (err) {
      report.error = (err as Error).message;
      throw err;
    } finally {
      if (requestedAt !== null) {
        report.kernelsAfter = kernels - requestedAt;
        report.benchmarksAfter = benchmarks() - benchmarksAtRequest;
      }
      fs.writeFileSync(path.join(ctx.paths.dataDir, `cancel-report-${ctx.stageIndex}.json`), JSON.stringify(report));
    }
  }) as StageRunner;
}

const all = { ...train, ...distill, ...prune, ...quantize, ...exporting, ...search, ...profile } as Record<string, StageRunner>;
export const stages = Object.fromEntries(Object.entries(all).map(([k, r]) => [k, instrument(r)])) as StageRegistry;
