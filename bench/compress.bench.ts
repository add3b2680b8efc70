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
 * structured pruning of the teacher).
 *
 * Run: npm run bench -- compress
 */
import zlib from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { cachedTeacher, kdObjective } from '../src-main/compress/distill/objectives';
import { fineTune, stepsPerEpoch } from '../src-main/compress/prune/fine-tune';
import { applyMasks, computeMasks, disposeMasks, type Masks, sparsityOf, stripPruning } from '../src-main/compress/prune/magnitude';
import { polynomialDecay, polynomialSparsity, polynomialUpdatesAt } from '../src-main/compress/prune/schedule';
import { pruneStructured } from '../src-main/compress/prune/structured';
import { calibrate } from '../src-main/compress/quantize/observers';
import { sizesAt } from '../src-main/compress/quantize/precision';
import { QatModel } from '../src-main/compress/quantize/qat';
import { accuracyOf, evaluateInt8 } from '../src-main/compress/quantize/simulate';
import type { QuantParams } from '../src-main/compress/quantize/params';
import { calibrationSample, loadDataset, trainingView } from '../src-main/data';
import { buildTflite } from '../src-main/export/exporter';
import { loadTfliteModel } from '../src-main/export/litert-node';
import { buildTemplate } from '../src-main/models';
import { fit } from '../src-main/compress/train';
import { presetById } from '../src-shared/presets';
import { initBackend } from '../src-main/tf';
import { recordResult } from './results';

const FULL = process.env.BENCH_FULL === '1';
const CHAIN_ONLY = process.env.BENCH_ONLY === 'chain';
const TRAIN = FULL ? 60_000 : Number(process.env.BENCH_TRAIN ?? 6000);
const TEST = FULL ? 10_000 : Number(process.env.BENCH_TEST ?? 2000);
const E = FULL ? { teacher: 10, qat: 2, prune: 6, structured: 4, student: 15, studentPrune: 6 } : { teacher: 3, qat: 1, prune: 2, structured: 1, student: Number(process.env.BENCH_STUDENT_EPOCHS ?? 8), studentPrune: Number(process.env.BENCH_STUDENT_PRUNE_EPOCHS ?? 4) };
const optimizer = { name: 'adam' as const, learningRate: 1e-3, momentum: 0.9 };
const fineOpt = { name: 'adam' as const, learningRate: 5e-4, momentum: 0.9 };
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
 * Polynomial magnitude pruning to `target` over `epochs` (ending at 2/3 of the steps), one global
 * threshold (the large dense layer gives up most; the small first conv keeps most), masks after every step.
 */
async function prunePoly(model: tfl.LayersModel, target: number, epochs: number): Promise<tfl.LayersModel> {
  const steps = epochs * stepsPerEpoch(data, 64);
  const schedule = polynomialDecay({ final: target, endStep: Math.round((steps * 2) / 3), frequency: Math.max(1, Math.round(steps / 30)) });
  let masks: Masks = computeMasks(model, { sparsity: 0, scope: 'global' });
  await train(model, epochs, fineOpt, (step) => {
    if (polynomialUpdatesAt(schedule, step)) {
      disposeMasks(masks);
      masks = computeMasks(model, { sparsity: polynomialSparsity(schedule, step), scope: 'global' });
    }
    applyMasks(model, masks);
  });
  const plain = await stripPruning(model, masks);
  disposeMasks(masks);
  return plain;
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
const teacher = buildTemplate({ template: 'lenet', inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
await train(teacher, E.teacher);
const fp32 = acc(teacher);
log(`teacher fp32 accuracy ${pts(fp32)} %`);

const cal = calibrationSample(ds.train, 256, 1);
const denseGzip = sizesAt(teacher, 'fp32').gzipBytes;
const teacherTflite = await tfliteAccuracy(teacher, 'fp32');
log(`teacher fp32 .tflite accuracy ${pts(teacherTflite.accuracy)} %, ${teacherTflite.gzipBytes} B gzip`);
const others = CHAIN_ONLY ? null : await teacherCompressions();

// Chain: student distilled from the teacher (the 'smallest' preset's width, T, alpha) → global
// magnitude pruning (polynomial) to the preset's sparsity → INT8, as .tflite files checked by LiteRT.
const smallest = presetById('smallest')!.recipe.stages;
const distillSpec = smallest.find((st) => st.kind === 'distill') as { student?: { width?: number }; temperatures?: number[]; alphas?: number[] };
const pruneSpec = smallest.find((st) => st.kind === 'prune') as { targetSparsity?: number };
const KD = { width: distillSpec.student?.width ?? 0.5, temperature: distillSpec.temperatures?.[0] ?? 4, alpha: distillSpec.alphas?.[0] ?? 0.7, sparsity: pruneSpec.targetSparsity ?? 0.9 };
const student = buildTemplate({ template: 'lenet', inputShape: [28, 28, 1], numClasses: 10, width: KD.width, seed: 2 });
const teacherLogits = cachedTeacher(teacher, data.train.x, data.train.n, data.train.sampleShape);
const kd = kdObjective(student, teacherLogits, KD.temperature, KD.alpha);
await fit({ model: student, data, epochs: E.student, batchSize: 64, optimizer: optimizer.name, lr: optimizer.learningRate, momentum: optimizer.momentum, seed: 2, lossFn: kd.loss, extraVariables: kd.extraVariables });
kd.dispose();
const studentAcc = acc(student);
log(`student fp32 accuracy ${pts(studentAcc)} %`);
const studentSparse = await prunePoly(student, KD.sparsity, E.studentPrune);
const { params: studentParams } = calibrate(studentSparse, cal, { observer: 'minmax' });
const chain = await tfliteAccuracy(studentSparse, 'int8', studentParams);
const chainSim = await evaluateInt8(studentSparse, studentParams, test);
log(`chain int8 tflite ${pts(chain.accuracy)} %, ${chain.gzipBytes} B gzip vs teacher ${teacherTflite.gzipBytes} B`);

recordResult(CHAIN_ONLY ? 'compress-chain' : 'compress', {
  reduced: !FULL,
  wallTimeS: Math.round((Date.now() - t0) / 1000),
  conditions: { trainingLoop: 'compress/train fit', qatLearningRate: qatOpt.learningRate, fineTuneLearningRate: fineOpt.learningRate, backend: backend.name, threads: backend.threads, trainImages: ds.train.n, valImages: ds.val.n, testImages: test.n, epochs: E, calibrationSamples: cal.n, observer: 'minmax', chainOnly: CHAIN_ONLY, chainStudent: `lenet width ${KD.width} distilled (kdObjective, cached teacher logits, T ${KD.temperature}, alpha ${KD.alpha}) from the teacher`, chainSparsity: KD.sparsity, pruneScope: 'global', pruneSchedule: 'polynomial, power 3, target reached at 2/3 of fine-tuning' },
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
    studentFp32AccuracyPct: pts(studentAcc),
    chainTfliteAccuracyPct: pts(chain.accuracy),
    /** The same INT8 model simulated in TF.js (what the app shows before export). */
    chainSimulatedInt8AccuracyPct: pts(chainSim.accuracy),
    chainTfliteGzipBytes: chain.gzipBytes,
    chainGzipReduction: Number((teacherTflite.gzipBytes / chain.gzipBytes).toFixed(2)),
    chainDropPoints: pts(teacherTflite.accuracy - chain.accuracy),
  },
});

/** PTQ, QAT, 90 % unstructured and half-channel structured pruning of the teacher (skipped with BENCH_ONLY=chain). */
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

  // Unstructured 90 % (polynomial schedule) on a copy of the teacher.
  const sparse = await prunePoly(await stripPruning(teacher), 0.9, E.prune);
  const sparseAcc = acc(sparse);
  const sparseTflite = await tfliteAccuracy(sparse, 'fp32');
  log(`90 % sparse ${pts(sparseAcc)} %, global sparsity ${sparsityOf(sparse).global.toFixed(3)}`);

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
    sparse90AccuracyPct: pts(sparseAcc),
    sparse90DropPoints: pts(fp32 - sparseAcc),
    sparse90WeightsGzipRatio: Number((sizesAt(sparse, 'fp32').gzipBytes / denseGzip).toFixed(3)),
    sparse90GzipRatio: Number((sparseTflite.gzipBytes / teacherTflite.gzipBytes).toFixed(3)),
    structuredMacsReduction: Number(structured.report.macsReduction.toFixed(3)),
    structuredParamsReduction: Number(structured.report.paramsReduction.toFixed(3)),
    structuredAccuracyPct: pts(structuredAcc),
    structuredDropPoints: pts(fp32 - structuredAcc),
    int8MaxAccumulator: ptq.maxAccumulator,
  };
}
