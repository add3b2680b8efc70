/**
 * The quantize stage.
 * - `int8`: post-training quantization; ranges from a calibration sample of the training split.
 * - `qat`: calibration, then quantization-aware fine-tuning of the BN-folded model.
 * - `fp16` / `dynamic`: weight-only precisions (no calibration).
 * Every mode reports the accuracy of the quantized model simulated in TF.js (INT8 with TFLite's
 * integer arithmetic) next to the float accuracy. INT8 modes write their QuantParams to a JSON file
 * and put it in `slots.quant` (path = the JSON file, artifactId = the quantized model's artifact,
 * whose metrics also carry the params) for the export stage; the model goes to `slots.current`.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import type { z } from 'zod';
import { AppError } from '../../../src-shared/errors';
import type { quantizeStage } from '../../../src-shared/recipe';
import { calibrationSample, trainingView } from '../../data';
import { namedForTargets } from '../train/model-view';
import { loadRunDataset } from '../train';
import type { StageContext, StageResult } from '../../pipeline/stage';
import { fineTune } from '../prune/fine-tune';
import { floatAccuracy, loadCurrent, saveArtifact } from '../prune/stage-io';
import { FEW_CALIBRATION_SAMPLES } from './minmax';
import { calibrate } from './observers';
import type { QuantParams } from './params';
import { withPrecision } from './precision';
import { QatModel } from './qat';
import { layerSensitivity } from './sensitivity';
import { evaluateInt8 } from './simulate';

type QuantizeSpec = z.infer<typeof quantizeStage>;

/** Validation samples used for the per-layer sensitivity sweep (one simulated pass per layer). */
export const SENSITIVITY_SAMPLES = 1000;

export const QUANT_PARAMS_FILE = 'quant-params.json';

/** Write the params where the export stage finds them (content-addressed, written once). */
export function writeQuantParams(artifactsDir: string, params: QuantParams): string {
  const json = JSON.stringify(params);
  const dir = path.join(artifactsDir, `quant-${createHash('sha256').update(json).digest('hex').slice(0, 16)}`);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, QUANT_PARAMS_FILE);
  if (!fs.existsSync(file)) fs.writeFileSync(file, json);
  return file;
}

/** One row per quantized tensor, for the run view: activation scale/zero point/range and weight scales. */
export function quantTable(params: QuantParams): { layer: string; scale: number; zeroPoint: number; min: number; max: number; weightScales?: [number, number, number] }[] {
  return Object.entries(params.activations).map(([layer, a]) => {
    const w = params.weights?.[layer]?.scales;
    return { layer, scale: a.scale, zeroPoint: a.zeroPoint, min: a.min, max: a.max, ...(w ? { weightScales: [w.length, Math.min(...w), Math.max(...w)] as [number, number, number] } : {}) };
  });
}

export async function runQuantize(ctx: StageContext<QuantizeSpec>): Promise<StageResult> {
  const s = ctx.stage;
  const { model, ref } = await loadCurrent(ctx);
  const unknown = s.keepFloat.filter((n) => !model.layers.some((l) => l.name === n));
  if (unknown.length) throw new AppError('INVALID_ARGS', `Layers to keep in float not found in the model: ${unknown.join(', ')}. Its layers are: ${model.layers.map((l) => l.name).join(', ')}.`);
  const ds = await loadRunDataset(ctx);
  ctx.progress({ phase: 'float accuracy', fraction: 0 });
  const accuracyFloat = floatAccuracy(model, ds.test);

  if (s.mode === 'fp16' || s.mode === 'dynamic') {
    const rounded = await withPrecision(model, s.mode, { perChannelDense: s.perChannelDense });
    const accuracy = floatAccuracy(rounded, ds.test);
    rounded.dispose();
    const metrics = namedForTargets({ mode: s.mode, accuracyFloat, accuracy, accuracyDrop: accuracyFloat - accuracy, simulated: true }, ds);
    const out = await saveArtifact(ctx, model, { name: s.mode === 'fp16' ? 'FP16 weights' : 'dynamic-range INT8', precision: s.mode === 'fp16' ? 'fp16' : 'int8-dynamic', parentId: ref.artifactId, metrics });
    model.dispose();
    return { metrics, outputs: { current: out } };
  }

  if (s.calibrationSamples < 1) {
    throw new AppError('INVALID_ARGS', 'Full-integer INT8 needs calibration samples to choose the activation ranges, and none were asked for. Set calibrationSamples (256 is the default), or use the "dynamic" mode, which quantizes weights only.');
  }
  const cal = calibrationSample(ds.train, s.calibrationSamples, ctx.seed);
  if (cal.n < FEW_CALIBRATION_SAMPLES || cal.n < s.calibrationSamples) {
    ctx.log('warn', `Calibrating on ${cal.n} samples${cal.n < s.calibrationSamples ? ` (the training split has no more)` : ''}: activation ranges may miss rare values; 256 or more is safer.`);
  }
  ctx.progress({ phase: `calibration (${s.observer}, ${cal.n} samples)`, fraction: 0.05 });
  let quantModel = model;
  let params: QuantParams;
  const curves: Record<string, number[]> = {};
  if (s.mode === 'int8') {
    const r = calibrate(model, cal, { observer: s.observer, percentile: s.percentile, seed: ctx.seed });
    for (const w of r.warnings) ctx.log('warn', w);
    params = r.params;
  } else {
    const qat = await QatModel.create(model, cal, { observer: s.observer, percentile: s.percentile, perChannelDense: s.perChannelDense, floatLayers: s.keepFloat });
    const r = await fineTune({
      model: qat.model,
      data: trainingView(ds),
      epochs: s.qatEpochs,
      batchSize: s.batchSize,
      optimizer: s.optimizer,
      seed: ctx.seed,
      trainForward: (x: tf.Tensor) => qat.forward(x, true),
      evalForward: (x: tf.Tensor) => qat.forward(x, false),
      throwIfCancelled: ctx.throwIfCancelled,
      onBatch: (p) => ctx.progress({ phase: 'quantization-aware training', epoch: p.epoch + 1, epochs: s.qatEpochs, batch: p.batch, batches: p.batches, fraction: 0.1 + (0.7 * (p.epoch + p.batch / p.batches)) / s.qatEpochs, metrics: { loss: p.loss } }),
    });
    curves.qatLoss = r.curves.loss ?? [];
    params = { ...qat.params(), calibration: { observer: 'qat', samples: cal.n, seed: ctx.seed } };
    quantModel = qat.model;
    model.dispose();
  }
  params = { ...params, ...(s.perChannelDense ? { perChannelDense: true } : {}), ...(s.keepFloat.length ? { floatLayers: [...s.keepFloat] } : {}) };

  ctx.progress({ phase: 'INT8 accuracy (simulated)', fraction: 0.85 });
  const int8 = await evaluateInt8(quantModel, params, ds.test);
  if (int8.maxAccumulator >= 2 ** 24) {
    ctx.log('warn', `An INT8 accumulator reached ${int8.maxAccumulator}; above 2^24 the simulation rounds, so its accuracy may differ slightly from the .tflite file.`);
  }
  const metrics: Record<string, unknown> = namedForTargets(
    {
      mode: s.mode,
      observer: s.mode === 'qat' ? 'qat' : s.observer,
      calibrationSamples: cal.n,
      accuracyFloat,
      accuracy: int8.accuracy,
      accuracyDrop: accuracyFloat - int8.accuracy,
      simulated: true,
      keepFloat: s.keepFloat,
    },
    ds,
  );
  if (s.sensitivity) {
    const n = Math.min(SENSITIVITY_SAMPLES, ds.val.n);
    const per = ds.val.sampleShape.reduce((a, b) => a * b, 1);
    const val = { x: ds.val.x.subarray(0, n * per), y: ds.val.y.subarray(0, n), n, sampleShape: ds.val.sampleShape };
    const sens = await layerSensitivity(quantModel, params, val, {
      throwIfCancelled: ctx.throwIfCancelled,
      onLayer: (done, total) => ctx.progress({ phase: `sensitivity ${done}/${total}`, fraction: 0.9 + (0.09 * done) / total }),
    });
    metrics.sensitivity = { samples: n, floatAccuracy: sens.floatAccuracy, layers: sens.layers };
  }
  metrics.quantLayers = quantTable(params);
  const paramsFile = writeQuantParams(ctx.paths.artifactsDir, params);
  const artifactMetrics: Record<string, unknown> = { ...metrics, quantParams: params, quantParamsFile: paramsFile };
  const out = await saveArtifact(ctx, quantModel, {
    name: s.mode === 'qat' ? 'INT8 (QAT)' : `INT8 (${s.observer})`,
    precision: s.keepFloat.length ? 'mixed' : 'int8',
    parentId: ref.artifactId,
    metrics: artifactMetrics,
  });
  for (const k of ['params', 'nonzeroParams', 'sparsity', 'bytes', 'gzipBytes', 'macs']) metrics[k] = artifactMetrics[k];
  quantModel.dispose();
  return { metrics, curves, outputs: { current: out, quant: { artifactId: out.artifactId, path: paramsFile, format: out.format } } };
}
