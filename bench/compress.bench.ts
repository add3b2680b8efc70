/**
 * Issue 4 benchmark: pruning and INT8 quantization on the reference CNN (LeNet-style
 * conv3×3(32)-pool-conv3×3(64)-pool-dense(128)-dense(10)) and Fashion-MNIST.
 *
 * Targets (issue 4): PTQ drop ≤ 0.5 points, QAT ≤ 0.2; unstructured 90 % sparsity drop ≤ 1.0 and
 * gzip ≤ 0.35 × dense; structured half the channels ≥ 1.8× fewer MACs, drop ≤ 1.5 after fine-tuning;
 * chain teacher → student → prune → INT8 ≥ 50× smaller (gzip -9 of both .tflite files), ≤ 1.5 points
 * loss, accuracy measured on the .tflite files with LiteRT.
 *
 * REDUCED by default (the build machine is shared): BENCH_TRAIN=6000 training images (10 % of them
 * held out for validation), BENCH_TEST=2000 test images, teacher 3 epochs, fine-tuning 1–2 epochs.
 * BENCH_FULL=1 uses all 60,000 / 10,000 images and longer schedules. The chain's student is distilled
 * from the teacher with the distill stage's KD objective (cached teacher logits, T and alpha of the
 * 'smallest' preset). BENCH_ONLY=chain runs the teacher and the chain only (skips PTQ, QAT, 90 % and
 * structured pruning of the teacher); BENCH_ONLY=sparse runs the teacher and its 90 % pruning only.
 * BENCH_CACHE=DIR keeps the trained teacher in DIR (keyed by images and epochs) and reuses it in the
 * next run with the same conditions (the training is seeded, so it is the same teacher).
 *
 * Pruning goes through `prunePolynomial` (compress/prune/gradual.ts), the prune stage's code path.
 *
 * Run: npm run bench -- compress
 */
import zlib from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { cachedTeacher, kdObjective } from '../src-main/compress/distill/objectives';
import fs from 'node:fs';
import path from 'node:path';
import { fineTune, stepsPerEpoch } from '../src-main/compress/prune/fine-tune';
import { prunePolynomial, RAMP_SHARE } from '../src-main/compress/prune/gradual';
import { scheduleOf } from '../src-main/compress/prune/run';
import { pruneStage } from '../src-shared/recipe';
import type { z } from 'zod';
import { DEFAULT_MIN_KEEP, stripPruning } from '../src-main/compress/prune/magnitude';
import { pruneStructured } from '../src-main/compress/prune/structured';
import { calibrate } from '../src-main/compress/quantize/observers';
import { sizesAt } from '../src-main/compress/quantize/precision';
import { QatModel } from '../src-main/compress/quantize/qat';
import { accuracyOf, evaluateInt8 } from '../src-main/compress/quantize/simulate';
import type { QuantParams } from '../src-main/compress/quantize/params';
import { calibrationSample, loadDataset, trainingView } from '../src-main/data';
import { buildTflite } from '../src-main/export/exporter';
import { loadTfliteModel } from '../src-main/export/litert-node';
import { buildTemplate, loadModel, saveModel } from '../src-main/models';
import { fit } from '../src-main/compress/train';
import { presetById } from '../src-shared/presets';
import { initBackend } from '../src-main/tf';
import { recordResult } from './results';

const FULL = process.env.BENCH_FULL === '1';
const ONLY = process.env.BENCH_ONLY ?? '';
if (!['', 'chain', 'sparse'].includes(ONLY)) throw new Error(`BENCH_ONLY must be chain or sparse (got ${ONLY}).`);
const CHAIN_ONLY = ONLY === 'chain';
const SPARSE_ONLY = ONLY === 'sparse';
const TRAIN = FULL ? 60_000 : Number(process.env.BENCH_TRAIN ?? 6000);
const TEST = FULL ? 10_000 : Number(process.env.BENCH_TEST ?? 2000);
const E = FULL ? { teacher: 10, qat: 2, prune: 6, structured: 4, student: 15, studentPrune: 6 } : { teacher: 3, qat: 1, prune: 2, structured: 1, student: Number(process.env.BENCH_STUDENT_EPOCHS ?? 8), studentPrune: Number(process.env.BENCH_STUDENT_PRUNE_EPOCHS ?? 4) };
const optimizer = { name: 'adam' as const, learningRate: 1e-3, momentum: 0.9 };
const fineOpt = { name: 'adam' as const, learningRate: Number(process.env.BENCH_PRUNE_LR ?? 5e-4), momentum: 0.9 };
/** Share of the pruning epochs over which the sparsity ramps up (the rest fine-tunes at the target). */
const RAMP = Number(process.env.BENCH_PRUNE_RAMP ?? RAMP_SHARE);
type PruneInput = Omit<z.input<typeof pruneStage>, 'kind'>;
/** QAT starts from a trained model and only has to absorb rounding: a small step size. */
const qatOpt = { name: 'adam' as const, learningRate: 1e-4, momentum: 0.9 };

const t0 = Date.now();
const { info: backend } = await initBackend();
const ds = await loadDataset({ kind: 'fashion-mnist' }, { seed: 1, limit: { train: TRAIN, test: TEST } });
const data = trainingView(ds);
const test = ds.test;
const pts = (a: number) => Number((a * 100).toFixed(2));
const log = (m: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0)} s] ${m}`);

async function train(model: tfl.LayersModel, epochs: number, opt = optimizer, afterStep?: (step: number) => void): Promise<void> {
  await fineTune({ model, data, epochs, batchSize: 64, optimizer: opt, seed: 1, afterStep });
}
const acc = (m: tfl.LayersModel) => accuracyOf((x) => m.predict(x) as tf.Tensor, test);

/**
 * Magnitude pruning as the prune stage does it for a polynomial schedule: the recipe's prune spec
 * (defaults filled by the recipe schema), its schedule from `scheduleOf`, `prunePolynomial` (masks
 * after every step, fine-tuning at the target after the ramp, selection only at the target).
 */
async function prunePoly(model: tfl.LayersModel, input: PruneInput, name: string) {
  const spec = pruneStage.parse({ kind: 'prune', method: 'magnitude', batchSize: 64, ...input });
  const schedule = scheduleOf(spec, stepsPerEpoch(data, spec.batchSize));
  if (schedule.kind !== 'polynomial') throw new Error('the bench measures the polynomial schedule');
  const r = await prunePolynomial({ model, data, schedule, scope: spec.scope, skipLayers: spec.skipLayers, epochs: spec.fineTuneEpochs, batchSize: spec.batchSize, optimizer: spec.optimizer, seed: 1 });
  const h = r.fit.history.map((e) => `${e.epoch}:${pts(e.valAccuracy ?? NaN)}`).join(' ');
  log(`${name}: ${spec.fineTuneEpochs} epochs, lr ${spec.optimizer.learningRate}, target at step ${schedule.endStep} (masks every ${schedule.frequency}); val accuracy by epoch ${h}; restored epoch ${r.fit.bestEpoch}; per-layer sparsity ${r.report.layers.map((l) => `${l.layer} ${(l.sparsity * 100).toFixed(1)} %`).join(', ')}${r.floored.length ? `; floored ${r.floored.join(', ')}` : ''}`);
  return { ...r, spec, schedule };
}

/** Per-layer sparsity as flat figures: `${prefix}Sparsity_${layer}`. */
const layerSparsity = (prefix: string, r: { report: { layers: { layer: string; sparsity: number }[] } }) => Object.fromEntries(r.report.layers.map((l) => [`${prefix}Sparsity_${l.layer}`, Number(l.sparsity.toFixed(4))]));

/** The teacher, trained here or reused from BENCH_CACHE. */
async function referenceTeacher(): Promise<tfl.LayersModel> {
  const cache = process.env.BENCH_CACHE;
  const key = cache ? path.join(cache, `teacher-${TRAIN}-${E.teacher}.json`) : '';
  if (key && fs.existsSync(key)) {
    const saved = JSON.parse(fs.readFileSync(key, 'utf8')) as { path: string };
    log(`teacher reused from ${saved.path}`);
    return (await loadModel(saved.path)).model;
  }
  const m = buildTemplate({ template: 'lenet', inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  await train(m, E.teacher);
  if (key) {
    fs.mkdirSync(cache!, { recursive: true });
    fs.writeFileSync(key, JSON.stringify({ path: (await saveModel(m, cache!)).path }));
  }
  return m;
}

async function tfliteAccuracy(model: tfl.LayersModel, precision: 'fp32' | 'int8', quant?: QuantParams): Promise<{ accuracy: number; gzipBytes: number; bytes: number }> {
  const built = buildTflite(model, { precision, quant });
  const m = await loadTfliteModel(built.bytes);
  const per = 28 * 28;
  let correct = 0;
  for (let i = 0; i < test.n; i++) {
    const [out] = await m.run([test.x.slice(i * per, (i + 1) * per)]);
    let best = 0;
    for (let k = 1; k < out.length; k++) if (out[k] > out[best]) best = k;
    if (best === test.y[i]) correct++;
  }
  m.close();
  return { accuracy: correct / test.n, bytes: built.bytes.length, gzipBytes: zlib.gzipSync(built.bytes, { level: 9 }).length };
}

// Reference CNN.
const teacher = await referenceTeacher();
const fp32 = acc(teacher);
log(`teacher fp32 accuracy ${pts(fp32)} %`);

const cal = calibrationSample(ds.train, 256, 1);
const denseGzip = sizesAt(teacher, 'fp32').gzipBytes;
const teacherTflite = await tfliteAccuracy(teacher, 'fp32');
log(`teacher fp32 .tflite accuracy ${pts(teacherTflite.accuracy)} %, ${teacherTflite.gzipBytes} B gzip`);
const others = CHAIN_ONLY ? null : SPARSE_ONLY ? await sparse90() : { ...(await teacherCompressions()), ...(await sparse90()) };
const chainFigures = SPARSE_ONLY ? null : await runChain();

// Chain: student distilled from the teacher (the 'smallest' preset's width, T, alpha) → global
// magnitude pruning (polynomial) to the preset's sparsity → INT8, as .tflite files checked by LiteRT.
async function runChain() {
  const smallest = presetById('smallest')!.recipe.stages;
  const distillSpec = smallest.find((st) => st.kind === 'distill') as { student?: { width?: number }; temperatures?: number[]; alphas?: number[] };
  const pruneSpec = smallest.find((st) => st.kind === 'prune') as PruneInput;
  const KD = { width: distillSpec.student?.width ?? 0.5, temperature: distillSpec.temperatures?.[0] ?? 4, alpha: distillSpec.alphas?.[0] ?? 0.7 };
  const student = buildTemplate({ template: 'lenet', inputShape: [28, 28, 1], numClasses: 10, width: KD.width, seed: 2 });
  const teacherLogits = cachedTeacher(teacher, data.train);
  const kd = kdObjective(student, teacherLogits, KD.temperature, KD.alpha);
  await fit({ model: student, data, epochs: E.student, batchSize: 64, optimizer: optimizer.name, lr: optimizer.learningRate, momentum: optimizer.momentum, seed: 2, lossFn: kd.loss, extraVariables: kd.extraVariables });
  kd.dispose();
  const studentAcc = acc(student);
  log(`student fp32 accuracy ${pts(studentAcc)} %`);
  // The preset's prune settings; reduced runs shorten its epochs.
  const pruned = await prunePoly(student, { ...pruneSpec, ...(FULL ? {} : { fineTuneEpochs: E.studentPrune }), ...(process.env.BENCH_PRUNE_LR ? { optimizer: fineOpt } : {}) }, 'chain prune');
  const studentSparse = pruned.model;
  const { params: studentParams } = calibrate(studentSparse, cal, { observer: 'minmax' });
  const chain = await tfliteAccuracy(studentSparse, 'int8', studentParams);
  const chainSim = await evaluateInt8(studentSparse, studentParams, test);
  log(`chain int8 tflite ${pts(chain.accuracy)} %, ${chain.gzipBytes} B gzip vs teacher ${teacherTflite.gzipBytes} B`);
  return {
    chainConditions: {
      chainStudent: `lenet width ${KD.width} distilled (kdObjective, cached teacher logits, T ${KD.temperature}, alpha ${KD.alpha}) from the teacher`,
      chainSparsity: pruned.spec.targetSparsity,
      chainPruneEpochs: pruned.spec.fineTuneEpochs,
      chainPruneLearningRate: pruned.spec.optimizer.learningRate,
      chainPruneTargetStep: pruned.schedule.endStep,
    },
    figures: {
      teacherTfliteAccuracyPct: pts(teacherTflite.accuracy),
      teacherTfliteGzipBytes: teacherTflite.gzipBytes,
      studentFp32AccuracyPct: pts(studentAcc),
      chainPrunedFp32AccuracyPct: pts(acc(studentSparse)),
      ...layerSparsity('chain', pruned),
      chainRestoredEpoch: pruned.fit.bestEpoch,
      chainValAccuracyByEpoch: pruned.fit.history.map((e) => pts(e.valAccuracy ?? NaN)).join(' '),
      chainTfliteAccuracyPct: pts(chain.accuracy),
      /** The same INT8 model simulated in TF.js (what the app shows before export). */
      chainSimulatedInt8AccuracyPct: pts(chainSim.accuracy),
      chainTfliteGzipBytes: chain.gzipBytes,
      chainGzipReduction: Number((teacherTflite.gzipBytes / chain.gzipBytes).toFixed(2)),
      chainDropPoints: pts(teacherTflite.accuracy - chain.accuracy),
    },
  };
}

recordResult(ONLY ? `compress-${ONLY}` : 'compress', {
  reduced: !FULL,
  wallTimeS: Math.round((Date.now() - t0) / 1000),
  conditions: { trainingLoop: 'compress/train fit', qatLearningRate: qatOpt.learningRate, fineTuneLearningRate: fineOpt.learningRate, backend: backend.name, threads: backend.threads, trainImages: ds.train.n, valImages: ds.val.n, testImages: test.n, epochs: E, calibrationSamples: cal.n, observer: 'minmax', only: ONLY || 'all', ...chainFigures?.chainConditions, pruneScope: 'global', pruneFloor: `every layer keeps ≥ ${DEFAULT_MIN_KEEP * 100} % of its kernel`, pruneSchedule: `polynomial (prunePolynomial, the prune stage's code), power 3, target reached at ${+(RAMP * 100).toFixed(1)} % of the fine-tuning steps, then fine-tuning at the target; model selection only among epochs at the target`, teacherCached: Boolean(process.env.BENCH_CACHE) },
  targets: {
    ptqDropPoints: '≤ 0.5',
    qatDropPoints: '≤ 0.2',
    sparse90DropPoints: '≤ 1.0',
    sparse90GzipRatio: '≤ 0.35',
    structuredMacsReduction: '≥ 1.8',
    structuredDropPoints: '≤ 1.5',
    chainGzipReduction: '≥ 50',
    chainDropPoints: '≤ 1.5',
  },
  figures: {
    fp32AccuracyPct: pts(fp32),
    ...others,
    teacherTfliteAccuracyPct: pts(teacherTflite.accuracy),
    teacherTfliteGzipBytes: teacherTflite.gzipBytes,
    ...chainFigures?.figures,
  },
});

/** 90 % unstructured pruning (polynomial schedule) of a copy of the teacher (skipped with BENCH_ONLY=chain). */
async function sparse90() {
  const r = await prunePoly(await stripPruning(teacher), { targetSparsity: 0.9, scope: 'global', schedule: { kind: 'polynomial', rampShare: RAMP }, fineTuneEpochs: E.prune, optimizer: fineOpt }, '90 % sparse');
  const sparse = r.model;
  const sparseAcc = acc(sparse);
  const sparseTflite = await tfliteAccuracy(sparse, 'fp32');
  log(`90 % sparse ${pts(sparseAcc)} %, global sparsity ${r.report.global.toFixed(3)}`);
  return {
    sparse90AccuracyPct: pts(sparseAcc),
    sparse90DropPoints: pts(fp32 - sparseAcc),
    sparse90Sparsity: Number(r.report.global.toFixed(4)),
    ...layerSparsity('sparse90', r),
    sparse90RestoredEpoch: r.fit.bestEpoch,
    sparse90ValAccuracyByEpoch: r.fit.history.map((e) => pts(e.valAccuracy ?? NaN)).join(' '),
    sparse90WeightsGzipRatio: Number((sizesAt(sparse, 'fp32').gzipBytes / denseGzip).toFixed(3)),
    sparse90GzipRatio: Number((sparseTflite.gzipBytes / teacherTflite.gzipBytes).toFixed(3)),
  };
}

/** PTQ, QAT and half-channel structured pruning of the teacher (skipped with BENCH_ONLY=chain or sparse). */
async function teacherCompressions() {
  // PTQ.
  const { params } = calibrate(teacher, cal, { observer: 'minmax' });
  const ptq = await evaluateInt8(teacher, params, test);
  log(`PTQ int8 ${pts(ptq.accuracy)} %`);

  // QAT from the float model.
  const qat = await QatModel.create(teacher, cal);
  await fineTune({ model: qat.model, data, epochs: E.qat, batchSize: 64, optimizer: qatOpt, seed: 2, trainForward: (x) => qat.forward(x, true), evalForward: (x) => qat.forward(x, false) });
  const qatAcc = await evaluateInt8(qat.model, qat.params(), test);
  log(`QAT int8 ${pts(qatAcc.accuracy)} %`);

  // Structured: half the channels of every prunable layer, then fine-tuning.
  const structured = await pruneStructured(teacher, { fraction: 0.5, norm: 'l1' });
  await train(structured.model, E.structured, fineOpt);
  const structuredAcc = acc(structured.model);
  log(`structured half ${pts(structuredAcc)} %, MACs ${structured.report.macsReduction.toFixed(2)}× fewer`);
  return {
    ptqInt8AccuracyPct: pts(ptq.accuracy),
    ptqDropPoints: pts(fp32 - ptq.accuracy),
    qatInt8AccuracyPct: pts(qatAcc.accuracy),
    qatDropPoints: pts(fp32 - qatAcc.accuracy),
    structuredMacsReduction: Number(structured.report.macsReduction.toFixed(3)),
    structuredParamsReduction: Number(structured.report.paramsReduction.toFixed(3)),
    structuredAccuracyPct: pts(structuredAcc),
    structuredDropPoints: pts(fp32 - structuredAcc),
    int8MaxAccumulator: ptq.maxAccumulator,
  };
}
