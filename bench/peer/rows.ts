/**
 * The rows of the peer benchmark (issue 14), PocketBench's side: each row builds its models with the
 * pipeline's own builders (templates, the model importer for the Teachable Machine MobileNetV2) and
 * its training step with the pipeline's own `createTrainStep` / `createOptimizer('adam', 1e-3)` /
 * loss (`crossEntropyLoss`, or `kdObjective` for distillation, T = 4, α = 0.5), on `initBackend()`.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { leanTeacher } from '../../src-main/compress/distill/frozen-teacher';
import { kdObjective, liveTeacher, type TeacherSource, teacherLogits } from '../../src-main/compress/distill/objectives';
import { createOptimizer, createTrainStep } from '../../src-main/compress/train/step';
import { buildTemplate, summarizeModel, toLogitsModel } from '../../src-main/models';
import { importModel } from '../../src-main/models/import';

export const TEMPERATURE = 4;
export const ALPHA = 0.5;

export interface RowDef {
  row: number;
  title: string;
  batch: number;
  /**
   * Rounds of A B (PocketBench then PyTorch), steps per side per round, and warm-up steps (V8 and
   * XNNPACK settle over the first steps). Many short rounds: on a shared machine the load moves
   * within seconds, and each round's ratio compares two measurements taken back to back.
   */
  rounds: number;
  steps: number;
  warmup: number;
}

export const ROWS: RowDef[] = [
  { row: 1, title: 'LeNet teacher (width 1), 28×28×1', batch: 64, rounds: 8, steps: 8, warmup: 10 },
  { row: 2, title: 'LeNet student (width 0.25), 28×28×1', batch: 64, rounds: 8, steps: 16, warmup: 20 },
  { row: 3, title: 'LeNet KD step (teacher forward + student), 28×28×1', batch: 64, rounds: 8, steps: 10, warmup: 10 },
  { row: 4, title: 'MobileNet template width 1, 32×32×3', batch: 64, rounds: 5, steps: 2, warmup: 2 },
  { row: 5, title: 'ResNet template (8 layers), 32×32×3', batch: 64, rounds: 5, steps: 3, warmup: 2 },
  { row: 6, title: 'MobileNetV2 α 0.35 teacher forward (224×224×3) + MobileNet-template student width 0.5 (128×128×3), KD step', batch: 32, rounds: 3, steps: 1, warmup: 1 },
  { row: 7, title: 'MobileNet-template student width 0.5, 96×96×3', batch: 64, rounds: 3, steps: 2, warmup: 1 },
  { row: 8, title: 'MobileNetV2 α 0.35 training step (fine-tuning the imported teacher), 224×224×3', batch: 32, rounds: 3, steps: 1, warmup: 1 },
];

/** The Teachable Machine export every MobileNetV2 row uses (Keras 2 .h5, 4 classes). */
export function realModelDir(): string | null {
  const here = import.meta.dirname;
  return [path.resolve(here, '../../../../shared/real-models/tm-keras-rps'), path.resolve(here, '../../../shared/real-models/tm-keras-rps'), '/work/shared/real-models/tm-keras-rps']
    .find((d) => fs.existsSync(path.join(d, 'keras_model.h5'))) ?? null;
}

export interface BuiltRow {
  step: () => number;
  /** Models the peer rebuilds: the trained one is `student`. */
  models: { id: 'student' | 'teacher'; model: tfl.LayersModel }[];
  studentInput: number[];
  teacherInput: number[] | null;
  classes: number;
  /** Floating-point operations of one step: 2 per MAC; a trained model 3 × its forward (forward, input and weight gradients), a frozen teacher 1 ×. */
  flopsPerStep: number;
  conditions: Record<string, unknown>;
  dispose(): void;
}

const seeded = (shape: number[], seed: number) => tf.randomUniform(shape, 0, 1, 'float32', seed);
const labels = (n: number, classes: number, seed: number) => tf.tidy(() => tf.cast(tf.floor(tf.randomUniform([n], 0, classes, 'float32', seed)), 'int32')) as tf.Tensor1D;
const forwardFlops = (m: tfl.LayersModel) => 2 * summarizeModel(m, { nonZero: false }).totals.macs;

async function tmTeacher(): Promise<tfl.LayersModel> {
  const dir = realModelDir();
  if (!dir) throw new Error('the Teachable Machine export (shared/real-models/tm-keras-rps) is not on this machine');
  const { model } = await importModel(dir);
  return toLogitsModel(model);
}

function mobilenetStudent(size: number, classes: number): tfl.LayersModel {
  // stemStride 2 from 96 px up, as the template advises.
  return buildTemplate({ template: 'mobilenet', inputShape: [size, size, 3], numClasses: classes, width: 0.5, stemStride: 2, seed: 2 });
}

/** Builds the row's models, data and the pipeline's step. */
export async function buildRow(def: RowDef): Promise<BuiltRow> {
  const b = def.batch;
  const lenet = { template: 'lenet' as const, inputShape: [28, 28, 1], numClasses: 10 };
  const train = (model: tfl.LayersModel, input: number[], classes: number, conditions: Record<string, unknown>): BuiltRow => {
    const xs = seeded([b, ...input], 11);
    const ys = labels(b, classes, 12);
    const step = createTrainStep(model, createOptimizer('adam', 1e-3));
    return {
      step: () => step(xs, ys),
      models: [{ id: 'student', model }],
      studentInput: input,
      teacherInput: null,
      classes,
      flopsPerStep: b * 3 * forwardFlops(model),
      conditions: { loss: 'crossEntropyLoss (labelLoss)', ...conditions },
      dispose: () => tf.dispose([xs, ys]),
    };
  };
  const kd = async (student: tfl.LayersModel, original: tfl.LayersModel, input: number[], teacherInput: number[], classes: number, conditions: Record<string, unknown>): Promise<BuiltRow> => {
    // As the distill stage does: the teacher's logits from its inference copy (BatchNorm folded, ReLUs merged).
    const teacher = (await leanTeacher(original)).model;
    const xs = seeded([b, ...input], 11);
    const ys = labels(b, classes, 12);
    const sameInput = input.join() === teacherInput.join();
    const txs = sameInput ? xs : seeded([b, ...teacherInput], 13);
    // The pipeline's live teacher; a teacher at another resolution reads its own copy of the batch's
    // images (by index: a batch split into micro-batches asks for its part).
    const source: TeacherSource = sameInput ? liveTeacher(teacher) : { logits: (_xs, idx) => tf.tidy(() => teacherLogits(teacher, tf.gather(txs, tf.tensor1d(idx, 'int32')))) };
    const objective = kdObjective(student, source, TEMPERATURE, ALPHA);
    const step = createTrainStep(student, createOptimizer('adam', 1e-3), objective.loss);
    const info = { indices: Int32Array.from({ length: b }, (_, i) => i), epoch: 0, batch: 0, step: 0 };
    return {
      step: () => step(xs, ys, info),
      models: [{ id: 'student', model: student }, { id: 'teacher', model: original }],
      studentInput: input,
      teacherInput,
      classes,
      flopsPerStep: b * (3 * forwardFlops(student) + forwardFlops(original)),
      conditions: { loss: `kdObjective (T ${TEMPERATURE}, α ${ALPHA}), live teacher (leanTeacher: BatchNorm folded, ReLUs merged)`, ...conditions },
      dispose: () => tf.dispose(sameInput ? [xs, ys] : [xs, ys, txs]),
    };
  };
  switch (def.row) {
    case 1:
      return train(buildTemplate({ ...lenet, width: 1, seed: 1 }), [28, 28, 1], 10, { model: 'lenet width 1' });
    case 2:
      return train(buildTemplate({ ...lenet, width: 0.25, seed: 2 }), [28, 28, 1], 10, { model: 'lenet width 0.25' });
    case 3:
      return kd(buildTemplate({ ...lenet, width: 0.25, seed: 2 }), buildTemplate({ ...lenet, width: 1, seed: 1 }), [28, 28, 1], [28, 28, 1], 10, { teacher: 'lenet width 1', student: 'lenet width 0.25' });
    case 4:
      return train(buildTemplate({ template: 'mobilenet', inputShape: [32, 32, 3], numClasses: 10, width: 1, seed: 1 }), [32, 32, 3], 10, { model: 'mobilenet template width 1' });
    case 5:
      return train(buildTemplate({ template: 'resnet', inputShape: [32, 32, 3], numClasses: 10, width: 1, seed: 1 }), [32, 32, 3], 10, { model: 'resnet template (stages 16/32/64, 1 block each)' });
    case 6: {
      const teacher = await tmTeacher();
      const classes = teacher.outputs[0].shape[1] as number;
      return kd(mobilenetStudent(128, classes), teacher, [128, 128, 3], [224, 224, 3], classes, {
        teacher: 'Teachable Machine MobileNetV2 α 0.35 (tm-keras-rps, imported, softmax removed)',
        student: 'mobilenet template width 0.5, stemStride 2',
      });
    }
    case 7:
      return train(mobilenetStudent(96, 4), [96, 96, 3], 4, { model: 'mobilenet template width 0.5, stemStride 2' });
    case 8: {
      const teacher = await tmTeacher();
      return train(teacher, [224, 224, 3], teacher.outputs[0].shape[1] as number, { model: 'Teachable Machine MobileNetV2 α 0.35 (tm-keras-rps, imported, softmax removed), every layer trainable' });
    }
    default:
      throw new Error(`no row ${def.row}`);
  }
}

/** A model as the PyTorch peer rebuilds it: layers in topological order with config, inbound layers and shapes, and the weights. */
export function describeModel(model: tfl.LayersModel): { layers: unknown[]; weights: Record<string, [number[], string]> } {
  const layers = model.layers.map((l) => {
    const node = l.inboundNodes[0];
    const inbound = node.inboundLayers.map((p) => p.name);
    const inShapes = l.getClassName() === 'InputLayer' ? [(l as unknown as { batchInputShape: number[] }).batchInputShape] : (Array.isArray(node.inputShapes[0]) ? node.inputShapes : [node.inputShapes]);
    return { name: l.name, className: l.getClassName(), config: l.getConfig(), inbound, inShapes };
  });
  const out = model.outputs[0].sourceLayer.name;
  if (layers[layers.length - 1].name !== out) throw new Error(`the output layer ${out} is not the last layer`);
  const weights: Record<string, [number[], string]> = {};
  for (const l of model.layers) {
    for (const w of l.weights) {
      const leaf = w.originalName.split('/').pop()!.replace(/_\d+$/, '');
      const v = w.read().dataSync() as Float32Array;
      weights[`${l.name}/${leaf}`] = [w.shape as number[], Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')];
    }
  }
  return { layers, weights };
}
