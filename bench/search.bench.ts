/**
 * Issue 18: "find the best model" on Fashion-MNIST with the LeNet teacher, target This computer
 * (LiteRT), budget "≤ 1 point accuracy drop". Runs the real recipe (train-teacher → search) through
 * the pipeline worker as the CLI does, and records: the recommended model's speed-up and size ratio
 * against the teacher's FP32 .tflite (targets ≥ 3× and ≥ 10×), its test-split accuracy drop (≤ 1
 * point, measured once on the exported file), the search's wall time (≤ 30 min on the 2-core VM),
 * and the latency model's median relative error on candidates it predicted before measuring them.
 * The machine's load is sampled during the run and recorded (it is shared).
 *
 * Run: npm run bench -- search          (`-- search --reduced`: 6,000 training images, a labelled quick check)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunProgress } from '../src-shared/contract/pipeline';
import { searchRecipe, searchSpecSchema, type SearchResult } from '../src-shared/search';
import { createLab } from '../src-main/devices';
import { createHostTarget } from '../src-main/devices/host-target';
import { devicesHostServices } from '../src-main/devices/pipeline-service';
import { EventBus } from '../src-main/host/events';
import { resolvePaths } from '../src-main/host/paths';
import { PipelineService } from '../src-main/pipeline/service';
import { defaultWorkerEntry } from '../src-main/pipeline/worker-process';
import { Store } from '../src-main/store';
import { recordResult } from './results';

const reduced = process.argv.includes('--reduced');
const started = Date.now();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-search-bench-'));
const paths = { ...resolvePaths(dir), dataDir: dir };
const store = new Store(paths.dbPath);
const bus = new EventBus();
const host = createHostTarget({ store });
const lab = createLab({ store, bus, dataDir: dir, extraTargets: (k) => (k === host.key ? host : null), extraTargetKeys: [host.key] });
const service = new PipelineService({ store, bus, paths, workerEntry: defaultWorkerEntry(), hostServices: devicesHostServices({ bus }, () => lab) });

const loads: number[] = [];
const sampler = setInterval(() => loads.push(os.loadavg()[0]), 30_000);
loads.push(os.loadavg()[0]);
let lastLine = 0;
bus.subscribe((ev, p) => {
  if (ev === 'run.log') console.log(`  ${(p as { level: string }).level}: ${(p as { message: string }).message}`);
  if (ev !== 'run.progress') return;
  const r = p as RunProgress;
  if (Date.now() - lastLine < 20_000) return;
  lastLine = Date.now();
  console.log(`  [${Math.round((Date.now() - started) / 1000)} s] ${r.stageKind} ${Math.round((r.fraction ?? 0) * 100)} % ${r.phase ?? ''} ${r.message ?? ''}${r.etaMs ? ` (ETA ${Math.round(r.etaMs / 1000)} s)` : ''}`);
});

const spec = searchSpecSchema.parse({
  name: 'bench: search',
  seed: 42,
  dataset: { kind: 'fashion-mnist', ...(reduced ? { limitTrain: 6000, limitTest: 2000 } : {}) },
  teacher: { template: 'lenet', width: 1, epochs: reduced ? 3 : 8 },
  target: 'host',
  budget: { maxAccuracyDrop: 1 },
  space: { widths: [0.25, 0.375, 0.5, 0.75], resolutions: [28, 20], sparsities: [0, 0.5], precisions: ['fp16', 'int8-dynamic', 'int8', 'int8-mixed'] },
  strategy: { eta: 3, minEpochs: 1, maxEpochs: reduced ? 4 : 8, pruneEpochs: 2, firstRungImages: reduced ? 3000 : 20_000 },
  bench: { runs: 200, warmup: 20, trials: 6, threads: 1 },
});
const { runId } = service.start(searchRecipe(spec));
await service.idle();
clearInterval(sampler);
loads.push(os.loadavg()[0]);
const run = store.runs.get(runId)!;
const teacherStage = run.stages[0];
const searchStage = run.stages[1];
await lab.close();
store.close();
fs.rmSync(dir, { recursive: true, force: true });
if (run.status !== 'succeeded') {
  console.error(`The search run ${run.status}: ${run.error}`);
  process.exit(1);
}
const r = (searchStage.metrics as { search: SearchResult }).search;
const rec = r.recommended;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const finals = r.candidates.filter((c) => c.precision !== null);
recordResult('search', {
  figures: {
    recommended: rec?.id ?? 'none',
    speedupVsTeacherFp32: rec ? Number(rec.speedup.toFixed(2)) : null,
    sizeRatioVsTeacherFp32: rec ? Number(rec.sizeRatio.toFixed(2)) : null,
    teacherTestAccuracy: Number(r.teacher.testAccuracy.toFixed(4)),
    recommendedTestAccuracy: rec ? Number(rec.testAccuracy.toFixed(4)) : null,
    testDropPoints: rec ? Number(rec.testDrop.toFixed(2)) : null,
    valDropPoints: rec ? Number(rec.valDrop.toFixed(2)) : null,
    teacherLatencyMs: Number(r.teacher.latencyMs.toFixed(4)),
    pairedTeacherMs: rec ? rec.paired.teacherMs.map((v) => v.toFixed(4)).join(', ') : null,
    pairedRecommendedMs: rec ? rec.paired.recommendedMs.map((v) => v.toFixed(4)).join(', ') : null,
    recommendedLatencyMs: rec ? Number(rec.latencyMs.toFixed(4)) : null,
    recommendedLatencyCiMs: rec?.latencyCiMs ? `${rec.latencyCiMs[0].toFixed(4)}-${rec.latencyCiMs[1].toFixed(4)}` : null,
    teacherBytes: r.teacher.bytes,
    recommendedBytes: rec?.bytes ?? null,
    searchMinutes: Number(((searchStage.durationMs ?? r.elapsedMs) / 60_000).toFixed(1)),
    teacherTrainMinutes: Number(((teacherStage.durationMs ?? 0) / 60_000).toFixed(1)),
    latencyModelMedianRelError: r.latencyModel.heldOut.medianRelError !== null ? Number(r.latencyModel.heldOut.medianRelError.toFixed(4)) : null,
    latencyModelMaxRelError: r.latencyModel.heldOut.maxRelError !== null ? Number(r.latencyModel.heldOut.maxRelError.toFixed(4)) : null,
    latencyModelHeldOut: r.latencyModel.heldOut.n,
    candidatesMeasured: finals.filter((c) => c.measured).length,
    architectures: r.candidates.length - finals.length + new Set(finals.map((c) => c.arch.template + c.arch.width + c.arch.resolution)).size,
    trainedEpochs: r.work.trainedEpochs,
    benchmarks: r.work.benchmarks,
    cachedBenchmarks: r.work.cachedBenchmarks,
    loadAvgMean: Number(mean(loads).toFixed(1)),
    loadAvgMax: Number(Math.max(...loads).toFixed(1)),
    verdict: r.verdict,
  },
  targets: { speedupVsTeacherFp32: '≥ 3', sizeRatioVsTeacherFp32: '≥ 10', testDropPoints: '≤ 1', searchMinutes: '≤ 30' },
  conditions: {
    backend: run.backend,
    threads: run.backendThreads,
    spec: { ...spec, dataset: spec.dataset },
    latency: 'LiteRT wasm on this computer, 1 thread; median of 6 trial means (200 runs each after 20 warm-up), distribution-free interval. speedupVsTeacherFp32 comes from the paired measurement at the end (teacher FP32, recommended, teacher, recommended; mean of the two medians each)',
    accuracy: 'chosen on the validation split (6,000 images) with each candidate\'s exported .tflite in LiteRT; test split measured once, at the end, on the recommended file and the teacher\'s FP32 file',
    latencyModelError: 'each finalist candidate predicted from the measurements before it (probes, teacher, earlier candidates), then measured',
    loadSamples: 'os.loadavg()[0] every 30 s during the run (2-core VM shared by the team)',
    candidates: r.candidates.map((c) => ({ id: c.id, status: c.status, val: c.valAccuracy, ms: c.latencyMs, predictedMs: c.predictedLatencyMs, bytes: c.bytes, why: c.reason })),
  },
  reduced,
  wallTimeS: Math.round((Date.now() - started) / 1000),
});
process.exit(0);
