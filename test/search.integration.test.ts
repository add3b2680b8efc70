/**
 * "Find the best model" end to end, reduced in size, against a simulated phone through the real adb
 * server: a real pipeline worker trains the teacher and runs the search stage, which benchmarks every
 * candidate on the phone through the host's device lab. The phone disconnects in the middle of a
 * benchmark (the run fails saying what to do, everything finished is kept), comes back, the run is
 * resumed, cancelled, and resumed again to the end: nothing is trained or measured twice.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunProgress } from '../src-shared/contract/pipeline';
import { searchRecipe, searchSpecSchema, type SearchResult } from '../src-shared/search';
import { Adbc } from '../src-main/devices/adb';
import { DeviceLab } from '../src-main/devices/lab';
import { devicesHostServices } from '../src-main/devices/pipeline-service';
import { EventBus } from '../src-main/host/events';
import { resolvePaths } from '../src-main/host/paths';
import { PipelineService } from '../src-main/pipeline/service';
import { defaultWorkerEntry } from '../src-main/pipeline/worker-process';
import { Store } from '../src-main/store';
import { DEFAULT_FASHION_MNIST_DIR, findFashionMnistFiles } from '../src-main/data';
import { EM_AARCH64, fakeElf } from './helpers/fake-elf';
import { type LabSim, type SimPhone, simAvailable, simUnavailableReason, startLabSim } from './helpers/sim-lab';
import { writeFakeFashionMnist } from './fixtures/data-fixtures';
import { waitFor } from './helpers/wait-for';

let env: LabSim;
let dir: string;
let store: Store;
let bus: EventBus;
let lab: DeviceLab;
let service: PipelineService;
let phone: SimPhone;
let fmnist: string;
const progress: RunProgress[] = [];

if (!simAvailable) console.warn(`search integration test skipped: ${simUnavailableReason}`);

beforeAll(async () => {
  if (!simAvailable) return;
  env = await startLabSim();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-search-'));
  try {
    findFashionMnistFiles(DEFAULT_FASHION_MNIST_DIR);
    fmnist = DEFAULT_FASHION_MNIST_DIR;
  } catch {
    writeFakeFashionMnist((fmnist = path.join(dir, 'fmnist')), 1200, 300);
  }
  store = new Store(path.join(dir, 'h.sqlite'));
  bus = new EventBus();
  bus.subscribe((ev, p) => ev === 'run.progress' && progress.push(p as RunProgress));
  lab = new DeviceLab({ store, bus, dataDir: dir, adb: new Adbc(env.adbPort), android: { cooldownPollMs: 200, sampleMs: 50 } });
  await lab.start();
  const runner = path.join(dir, 'benchmark_model-arm64');
  fs.writeFileSync(runner, fakeElf(EM_AARCH64, 64 * 1024));
  await lab.setRunner('arm64-v8a', runner);
  phone = await env.device('pixel');
  await lab.connect('127.0.0.1', phone.port);
  await waitFor(() => lab.live().find((d) => d.key === phone.serial && d.state === 'device' && d.device?.model), 'phone facts', 30_000);
  service = new PipelineService({
    store,
    bus,
    paths: { ...resolvePaths(dir), dataDir: dir },
    workerEntry: defaultWorkerEntry(),
    stagesModule: path.resolve(import.meta.dirname, 'helpers/search-stages.ts'),
    hostServices: devicesHostServices({ bus }, () => lab),
    cancelGraceMs: 60_000,
  });
}, 120_000);

afterAll(async () => {
  await service?.close();
  await lab?.close();
  store?.close();
  await env?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const searchStage = (runId: number) => store.runs.get(runId)!.stages.find((s) => s.kind === 'search')!;

describe.skipIf(!simAvailable)('search on a simulated phone', { timeout: 900_000 }, () => {
  it('survives a disconnect mid-benchmark, a cancel and two resumes, and returns a measured recommendation', async () => {
    const spec = searchSpecSchema.parse({
      name: 'search on the sim phone',
      seed: 5,
      dataset: { kind: 'fashion-mnist', path: fmnist, limitTrain: 1200, limitTest: 300, validationFraction: 0.2 },
      teacher: { template: 'lenet', width: 0.5, epochs: 2 },
      target: phone.serial,
      budget: { maxAccuracyDrop: 50 },
      space: { widths: [0.125, 0.25, 0.5], resolutions: [28, 20], sparsities: [0, 0.5], precisions: ['fp16', 'int8-mixed'] },
      strategy: { eta: 3, minEpochs: 1, maxEpochs: 2, pruneEpochs: 1, batchSize: 32 },
      bench: { runs: 3, warmup: 1, trials: 2, threads: 4 },
    });
    const { runId } = service.start(searchRecipe(spec));

    // 1. The phone drops mid-benchmark once the finalists are being measured.
    await waitFor(() => progress.some((p) => p.runId === runId && p.phase === 'finalists'), 'finalists', 600_000);
    phone.setFaults({ dropMidRun: true });
    await service.idle();
    let run = store.runs.get(runId)!;
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/disconnected|not connected/);
    expect(run.error).toMatch(/resume the run: the candidates finished so far are kept/);
    expect(run.stages[0].status).toBe('succeeded');

    // 2. Plug it back in and resume; cancel while it works on the finalists again.
    await phone.unplug();
    phone.replug();
    await lab.connect('127.0.0.1', phone.port);
    await waitFor(() => lab.live().find((d) => d.key === phone.serial && d.state === 'device'), 'phone back', 30_000);
    const before = progress.length;
    service.resume(runId);
    await waitFor(() => progress.slice(before).some((p) => p.runId === runId && p.stageKind === 'search' && /Exporting|Validating/.test(p.message ?? '')), 'finalist work after resume', 600_000);
    service.cancel(runId);
    await service.idle();
    run = store.runs.get(runId)!;
    expect(run.status).toBe('cancelled');
    expect(searchStage(runId).status).toBe('cancelled');

    // 3. Resume to the end.
    service.resume(runId);
    await service.idle();
    run = store.runs.get(runId)!;
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    const result = (searchStage(runId).metrics as { search: SearchResult }).search;

    // Nothing trained twice: 6 architectures × 1 epoch, 2 finalists × 1 more, 2 pruned × 1 fine-tuning epoch.
    expect(result.work.trainedEpochs).toBe(6 + 2 + 2);
    // Candidates: every finalist × sparsity × precision, plus the architectures dropped on the way with a reason.
    const finals = result.candidates.filter((c) => c.precision !== null);
    expect(finals).toHaveLength(2 * 2 * 2);
    const dropped = result.candidates.filter((c) => c.precision === null);
    expect(dropped).toHaveLength(4);
    for (const c of dropped) expect(c.reason).toMatch(/dropped after rung 1 \(1 epochs\): /);
    // One .tflite artifact per candidate (a resumed candidate is not exported again), each a stored artifact with its recipe.
    const tflites = store.artifacts.list({ limit: 1000, offset: 0, runId }).items.filter((a) => a.format === 'tflite' && a.metrics?.searchCandidate);
    expect(tflites.map((a) => a.metrics!.searchCandidate).sort()).toEqual(finals.map((c) => c.id).sort());
    for (const c of finals) {
      const model = store.artifacts.get(c.modelArtifactId!)!;
      expect(model.metrics).toMatchObject({ role: 'search-candidate', searchRecipe: { template: 'lenet', width: c.arch.width, resolution: c.arch.resolution } });
      expect(c.measured).toBe(true);
      expect(c.latencyMs).toBeGreaterThan(0);
      expect(c.bestLatencyMs).toBeGreaterThan(0);
      expect(c.bestLatencyMs).toBeLessThanOrEqual(c.latencyCiMs ? c.latencyCiMs[1] : Infinity);
      expect(c.valAccuracy).toBeGreaterThan(0.1);
    }
    // The mixed-precision files keep their most sensitive layer in float.
    expect(finals.filter((c) => c.precision === 'int8-mixed').every((c) => c.keptInFloat?.length === 1)).toBe(true);
    expect(result.work.benchmarks + result.work.cachedBenchmarks).toBeGreaterThanOrEqual(1 + finals.length);
    // The latency model predicted candidates before measuring them.
    expect(result.latencyModel.heldOut.n).toBe(finals.length);
    expect(result.latencyModel.heldOut.medianRelError).toBeGreaterThanOrEqual(0);
    // A recommendation with the test accuracy of its .tflite, its interval and margins.
    expect(result.recommended).not.toBeNull();
    const rec = result.recommended!;
    expect(rec.testAccuracy).toBeGreaterThan(0.1);
    expect(rec.latencyCiMs).toHaveLength(2);
    expect(rec.paired.teacherMs).toHaveLength(2);
    expect(rec.paired.recommendedMs).toHaveLength(2);
    expect(rec.speedup).toBeGreaterThan(0);
    expect(rec.speedupQuietest).toBeGreaterThan(0);
    expect(rec.margins.accuracy).toBeGreaterThanOrEqual(0);
    // The fastest within the budget by the statistic the search ranks on, each file's quietest trial
    // (another within 5 %, benchmark noise, may be slower and smaller). Medians can cross under load.
    const meeting = finals.filter((c) => c.status === 'meets-budget' || c.status === 'recommended');
    expect(meeting.length).toBeGreaterThanOrEqual(1);
    const rankMs = (c: (typeof finals)[number]) => c.bestLatencyMs ?? c.latencyMs!;
    const chosen = meeting.find((c) => c.status === 'recommended')!;
    expect(chosen).toBeDefined();
    for (const c of meeting) expect(rankMs(c) * 1.05).toBeGreaterThanOrEqual(rankMs(chosen));
    expect(result.frontier.latency.length).toBeGreaterThanOrEqual(1);
    expect(store.artifacts.get(rec.tfliteArtifactId)!.metrics).toMatchObject({ deployedAccuracy: rec.testAccuracy });
    expect(result.verdict).toMatch(/^Recommended /);
    // Measured on the phone, each file content at most once during the search; then the teacher and
    // the recommendation are measured again, alternately, for the speed-up (the last 4 benchmarks).
    const onPhone = store.benchmarks
      .list({ limit: 1000, offset: 0 })
      .items.filter((b) => b.status === 'succeeded' && store.benchmarks.extra(b.id)!.target === phone.serial)
      .sort((a, b) => a.id - b.id);
    const during = onPhone.slice(0, -4).map((b) => store.benchmarks.extra(b.id)!.modelSha256);
    expect(new Set(during).size).toBe(during.length);
    const t = result.teacher.tfliteArtifactId;
    expect(onPhone.slice(-4).map((b) => b.artifactId)).toEqual([t, rec.tfliteArtifactId, t, rec.tfliteArtifactId]);
    // Live progress carried an ETA.
    expect(progress.some((p) => p.runId === runId && p.stageKind === 'search' && (p.etaMs ?? 0) > 0)).toBe(true);
  });
});
