/**
 * Issue 13: import time of the two shared Teachable Machine .tflite exports (target ≤ 3 s each).
 * - tm-tflite-catdog (float): `importTflite`, the file rebuilt as a trainable TF.js model (read, check,
 *   build the graph, set the weights), then storing it as an artifact (`saveModel`).
 * - tm-tflite-int8 (quantized): cannot be a teacher; the time to refuse it (QUANTIZED_TEACHER) and
 *   to import it for profiling instead (`importTfliteArtifact`: inspect, copy, record).
 * Each timed 5 times after one warm-up call; the median is recorded, the cold first call too.
 * Run: npm run bench -- import-tflite   (POCKETBENCH_REAL_MODELS moves the shared models)
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AppError } from '../src-shared/errors';
import { importTfliteArtifact } from '../src-main/export/service';
import { saveModel } from '../src-main/models';
import { importTflite } from '../src-main/models/import/tflite';
import { Store } from '../src-main/store';
import { initBackend } from '../src-main/tf';
import { recordResult } from './results';

const REAL = process.env.POCKETBENCH_REAL_MODELS ?? '/work/shared/real-models';
const catdog = path.join(REAL, 'tm-tflite-catdog', 'model_unquant.tflite');
const int8 = path.join(REAL, 'tm-tflite-int8', 'model.tflite');
if (!existsSync(catdog) || !existsSync(int8)) {
  console.error(`The shared Teachable Machine exports are not at ${REAL}; set POCKETBENCH_REAL_MODELS.`);
  process.exit(1);
}

const started = performance.now();
const { info } = await initBackend();
const dir = mkdtempSync(path.join(tmpdir(), 'pb-import-bench-'));
const store = new Store(path.join(dir, 'history.sqlite'));

async function timed(fn: () => Promise<void>, repeats = 5): Promise<{ coldMs: number; medianMs: number; minMs: number; maxMs: number }> {
  let t0 = performance.now();
  await fn();
  const coldMs = performance.now() - t0;
  const t: number[] = [];
  for (let i = 0; i < repeats; i++) {
    t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return { coldMs, medianMs: t[Math.floor(repeats / 2)], minMs: t[0], maxMs: t[repeats - 1] };
}
const round = (v: number) => Number(v.toFixed(1));

let layers = 0;
const teacher = await timed(async () => {
  const { model } = await importTflite(catdog);
  layers = model.layers.length;
  model.dispose();
});
const teacherStored = await timed(async () => {
  const { model, meta } = await importTflite(catdog);
  await saveModel(model, path.join(dir, 'artifacts'), meta);
  model.dispose();
});
const refusal = await timed(async () => {
  try {
    await importTflite(int8);
    throw new Error('the quantized export was not refused');
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'QUANTIZED_TEACHER') throw err;
  }
});
const forProfiling = await timed(async () => {
  importTfliteArtifact(store, { path: int8, artifactsDir: path.join(dir, 'artifacts') });
});
store.close();
rmSync(dir, { recursive: true, force: true });

recordResult('import-tflite', {
  figures: {
    catdogTeacherImportMedianMs: round(teacher.medianMs),
    catdogTeacherImportColdMs: round(teacher.coldMs),
    catdogTeacherImportRangeMs: `${round(teacher.minMs)}–${round(teacher.maxMs)}`,
    catdogImportAndStoreMedianMs: round(teacherStored.medianMs),
    catdogLayers: layers,
    int8RefusedAsTeacherMedianMs: round(refusal.medianMs),
    int8ImportForProfilingMedianMs: round(forProfiling.medianMs),
    int8ImportForProfilingColdMs: round(forProfiling.coldMs),
  },
  targets: { catdogTeacherImportMedianMs: '≤ 3000', int8ImportForProfilingMedianMs: '≤ 3000' },
  conditions: {
    backend: info.name,
    timing: 'median (and range) of 5 calls after one cold call, in one process',
    files: { catdog: 'tm-tflite-catdog/model_unquant.tflite (2.09 MB, 71 operators)', int8: 'tm-tflite-int8/model.tflite (0.79 MB, 73 operators)' },
  },
  wallTimeS: Number(((performance.now() - started) / 1000).toFixed(1)),
});
