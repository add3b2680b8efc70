/**
 * Issue 13 figures, original vs compressed for tm-keras-rps (the "Shrink my Teachable Machine model"
 * preset, src-shared/byom.ts, minus its profile stages, which need the app's device lab: host latency
 * is measured here directly, both files interleaved):
 * - file bytes of the original as FP32 .tflite and of the distilled INT8 student .tflite (uint8 input);
 * - parameters of both;
 * - host latency (LiteRT, this computer) of both files: median of per-trial medians, trials alternating;
 * - the student's fidelity (top-1 agreement with the original) on a held-out split of pictures the
 *   bench makes itself (the export has no training images: procedural pictures, no labels), for the
 *   float student and for its INT8 .tflite in LiteRT; with the share of the most common teacher class,
 *   the fidelity a constant guess would get;
 * - what the on-the-fly resize costs: building one batch of 32 pictures from 224-px uint8 pixels at
 *   the student's size and normalization, beside the teacher's forward pass on the same batch.
 * Run: npm run bench -- shrink   (POCKETBENCH_SHRINK_IMAGES, POCKETBENCH_SHRINK_EPOCHS to change the size)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { SHRINK_STAGES, shrinkRecipe, studentSuggestions } from '../src-shared/byom';
import type { ImageInputConvention } from '../src-shared/model-io';
import { recipeSchema } from '../src-shared/recipe';
import { imageBatch } from '../src-main/data/image-view';
import { loadRunDataset } from '../src-main/compress/train/run-data';
import { benchmarkOnHost } from '../src-main/devices/host-runner';
import { resolvePaths } from '../src-main/host/paths';
import { importModel } from '../src-main/models/import';
import { runRecipe } from '../src-main/pipeline/runner';
import { Store } from '../src-main/store';
import { initBackend } from '../src-main/tf';
import { writeSyntheticPhotos } from '../test/fixtures/synthetic-photos';
import { recordResult } from './results';

const started = performance.now();
const realDir = [path.resolve(import.meta.dirname, '../../shared/real-models'), '/work/shared/real-models'].find((d) => fs.existsSync(path.join(d, 'tm-keras-rps')));
if (!realDir) {
  console.log('No shared/real-models/tm-keras-rps beside the repository: nothing to measure.');
  process.exit(0);
}
const { info } = await initBackend();
const IMAGES = Number(process.env.POCKETBENCH_SHRINK_IMAGES ?? 400);
const EPOCHS = Number(process.env.POCKETBENCH_SHRINK_EPOCHS ?? 12);
const TRIALS = 5;
const RUNS = 30;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const modelDir = path.join(realDir, 'tm-keras-rps');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-shrink-bench-'));
const photos = path.join(dir, 'photos');
await writeSyntheticPhotos(photos, IMAGES, 224, 2026);
const teacherMeta = await importModel(modelDir);
teacherMeta.model.dispose();
const teacherInput = teacherMeta.meta.input as ImageInputConvention;
const student = studentSuggestions(teacherInput)[1];
const full = shrinkRecipe({ teacher: { path: modelDir }, teacherInput, folder: photos, labelled: false, targets: ['host'], student, epochs: EPOCHS });
// The profile stages ask the app's device lab; here both files are timed directly below.
const recipe = recipeSchema.parse({ ...full, stages: full.stages.filter((s) => s.kind !== 'profile') });
const at = (i: number) => i - (i > SHRINK_STAGES.teacherProfile ? 1 : 0);

const paths = resolvePaths(dir);
const store = new Store(paths.dbPath);
const runId = store.runs.create({ name: recipe.name, recipe, recipeHash: 'bench', seed: recipe.seed, appVersion: 'bench', stages: recipe.stages.map((s) => ({ kind: s.kind, params: s })) });
store.close();
const t0 = performance.now();
const done = await runRecipe(
  { type: 'start', runId, dbPath: paths.dbPath, dataDir: dir, resume: false, stagesModule: path.resolve(import.meta.dirname, '../test/helpers/byom-stages.ts') },
  new AbortController().signal,
  (m) => {
    if (m.type === 'progress' && m.progress.epoch && m.progress.batch === undefined) console.log(`  stage ${m.progress.stageIndex} ${m.progress.stageKind}: epoch ${m.progress.epoch}/${m.progress.epochs}`);
  },
);
const pipelineS = (performance.now() - t0) / 1000;
if (done.status !== 'succeeded') throw new Error(`The shrink recipe ${done.status}: ${done.error}`);
const db = new Store(paths.dbPath);
const detail = db.runs.get(runId)!;
const m = (i: number) => (detail.stages[at(i)].metrics ?? {}) as Record<string, unknown>;
const fileOf = (i: number) => (m(i).outputs as { tflite: { path: string } }).tflite.path;
const teacherFile = fileOf(SHRINK_STAGES.teacherExport);
const studentFile = fileOf(SHRINK_STAGES.studentExport);

// Host latency, the two files alternating trial by trial.
const lat: Record<'teacher' | 'student', number[]> = { teacher: [], student: [] };
for (let t = 0; t < TRIALS; t++) {
  for (const [k, f] of [['teacher', teacherFile], ['student', studentFile]] as const) {
    const { stats } = await benchmarkOnHost(f, { warmup: 5, runs: RUNS });
    lat[k].push((stats.medianUs ?? stats.meanUs) / 1000);
  }
}

// The held-out targets (the teacher's top-1) and the share of their most common class.
const ds = await loadRunDataset({ recipe, paths, store: db });
const counts = ds.info.classes.map((_, c) => Array.from(ds.test.y).filter((y) => y === c).length);
const majority = Math.max(...counts) / ds.test.n;

// The on-the-fly resize: one batch of 32 built from 224-px uint8 pixels, vs the teacher forward on it.
const idx = Int32Array.from({ length: Math.min(32, ds.train.n) }, (_, i) => i);
const buildMs: number[] = [];
for (let r = 0; r < 10; r++) {
  const b0 = performance.now();
  const x = imageBatch(ds.train.images!, idx);
  x.dataSync();
  buildMs.push(performance.now() - b0);
  x.dispose();
}
const teacherModel = await importModel(modelDir);
const tview = { size: teacherInput.size, normalization: teacherInput.normalization };
const fwdMs: number[] = [];
for (let r = 0; r < 3; r++) {
  const x = imageBatch(ds.train.images!, idx, tview);
  const f0 = performance.now();
  const y = teacherModel.model.predict(x) as tf.Tensor;
  y.dataSync();
  fwdMs.push(performance.now() - f0);
  tf.dispose([x, y]);
}
teacherModel.model.dispose();

const figures = {
  originalTfliteBytes: fs.statSync(teacherFile).size,
  studentTfliteBytes: fs.statSync(studentFile).size,
  sizeRatio: Number((fs.statSync(teacherFile).size / fs.statSync(studentFile).size).toFixed(2)),
  originalParams: m(SHRINK_STAGES.teacher).params as number,
  studentParams: m(SHRINK_STAGES.distill).params as number,
  originalHostLatencyMs: Number(median(lat.teacher).toFixed(3)),
  studentHostLatencyMs: Number(median(lat.student).toFixed(3)),
  speedup: Number((median(lat.teacher) / median(lat.student)).toFixed(2)),
  studentFidelityFloat: m(SHRINK_STAGES.distill).fidelity as number,
  studentFidelityInt8Tflite: m(SHRINK_STAGES.studentExport).deployedFidelity as number,
  heldOutImages: ds.test.n,
  majorityClassShare: Number(majority.toFixed(3)),
  batch32BuildMs: Number(median(buildMs).toFixed(2)),
  teacherForwardBatch32Ms: Number(median(fwdMs).toFixed(1)),
  pipelineS: Number(pipelineS.toFixed(1)),
};
db.close();
fs.rmSync(dir, { recursive: true, force: true });
recordResult('shrink-tm-keras-rps', {
  figures,
  conditions: {
    backend: info.name,
    threads: info.threads ?? null,
    model: 'tm-keras-rps (Teachable Machine MobileNetV2 x0.35, 224 px, Keras 2.4 .h5)',
    student: `MobileNet template x${student.width} at ${student.size} px, INT8, uint8 input`,
    pictures: `${IMAGES} procedural 224-px pictures, no labels (${ds.train.n} train / ${ds.val.n} val / ${ds.test.n} test); targets = the original's top-1`,
    teacherClassesOnHeldOut: Object.fromEntries(ds.info.classes.map((c, i) => [c, counts[i]])),
    epochs: EPOCHS,
    latency: `LiteRT on this computer, ${TRIALS} alternating trials of ${RUNS} runs, median of trial medians`,
  },
  wallTimeS: Math.round((performance.now() - started) / 100) / 10,
});
