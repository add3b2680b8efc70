/**
 * What each distillation candidate minimises, as a per-batch loss for the shared training step
 * (`createTrainStep` / `fit` in compress/train), plus the extra variables it trains (feature
 * adapters, auxiliary heads) that are not part of the saved student.
 *
 * - `control`: labels only (the same student, start and budget, so the gain is measured).
 * - `kd`: response distillation from the teacher's logits (cached for the whole split when possible).
 * - `features`: hint loss (MSE between adapted student features and the teacher's) with weight β,
 *   alone for the first `hintEpochs` (`hint-first`) or added to the response loss (`joint`).
 * - `self-progressive`: the student's own predictions from the previous epoch as soft targets,
 *   weight ramped linearly to `maxAlpha` (Kim et al. 2021, PS-KD).
 * - `self-aux`: auxiliary classifiers on intermediate layers, each trained on the labels and on the
 *   final head's softened outputs (Zhang et al. 2019, "Be your own teacher").
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import type { Split } from '../../data';
import { splitBatch, splitRows } from '../../data/image-view';
import { layerSeed } from '../../models/templates/common';
import { inferenceBatchSize } from '../train/memory';
import { kdLoss, hintLoss, maskedCrossEntropy, progressiveSelfTargets, softCrossEntropy, softTargetLoss } from './losses';

/** The subset of the training step's batch info the objectives read. */
export interface BatchRef {
  indices: Int32Array;
  epoch: number;
}
export type ObjectiveLoss = (xs: tf.Tensor, ys: tf.Tensor1D, batch: BatchRef) => tf.Scalar;

export interface Objective {
  loss: ObjectiveLoss;
  /** Trained with the student, discarded after (adapters, auxiliary heads). */
  extraVariables: tf.Variable[];
  dispose(): void;
}

/** Where the teacher's logits for a batch come from: a cache of the whole split, or the teacher itself. */
export interface TeacherSource {
  logits(xs: tf.Tensor, indices: Int32Array): tf.Tensor2D;
}

/**
 * Teacher logits for every training image, computed once (valid while inputs are not augmented).
 * `split` is the training split as the teacher sees it (an image split may be in the teacher's own
 * size and normalization, data/image-view.ts); row i of the table belongs to training index i.
 */
export function cachedTeacher(teacher: tfl.LayersModel, split: Pick<Split, 'x' | 'n' | 'sampleShape' | 'images'>, batchSize = 256): TeacherSource & { table: Float32Array } {
  const n = split.n;
  const numClasses = (teacher.outputs[0].shape as number[])[1];
  const table = new Float32Array(n * numClasses);
  batchSize = inferenceBatchSize(teacher, batchSize);
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const out = tf.tidy(() => teacher.predict(splitRows(split, start, end)) as tf.Tensor);
    table.set(out.dataSync(), start * numClasses);
    out.dispose();
  }
  return {
    table,
    logits: (_xs, indices) => tf.tidy(() => tf.gather(tf.tensor2d(table, [n, numClasses]), tf.tensor1d(indices, 'int32'))) as tf.Tensor2D,
  };
}

/**
 * The teacher run on each batch (when caching is off). With `split` (the training split in the
 * teacher's own view), the teacher's batch is built from the same indices; else it takes the student's.
 */
export function liveTeacher(teacher: tfl.LayersModel, split?: Pick<Split, 'x' | 'sampleShape' | 'images'>): TeacherSource {
  if (!split) return { logits: (xs) => teacherLogits(teacher, xs) };
  return { logits: (_xs, indices) => tf.tidy(() => teacherLogits(teacher, splitBatch(split, indices))) };
}

/**
 * A frozen teacher's forward pass inside a training step, kept off the gradient tape: run as the
 * forward function of a `tf.customGrad` op (tfjs records no kernel inside another op), through
 * `predict` (inference mode, each intermediate tensor freed as soon as the next layers have read it).
 * On the tape it would record every kernel and keep every activation alive until the step ends
 * (a MobileNetV2 teacher at 224×224: about 37 MiB per image). Its gradient is zero: nothing trains
 * through a teacher.
 */
export function teacherLogits(teacher: tfl.LayersModel, xs: tf.Tensor): tf.Tensor2D {
  const run = () => teacher.predict(xs, { batchSize: Math.max(1, xs.shape[0]) }) as tf.Tensor2D;
  if (!(tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn()) return run();
  const offTape = tf.customGrad(((x: tf.Tensor) => ({ value: run(), gradFunc: () => tf.zerosLike(x) })) as never) as (x: tf.Tensor) => tf.Tensor2D;
  return offTape(xs);
}

/**
 * An identity in the forward pass whose gradient is zero: targets made from the student's own
 * outputs must not be pulled towards the student (tfjs-core has no stopGradient op).
 */
const stopGradient = tf.customGrad(((x: tf.Tensor) => ({ value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as never) as (x: tf.Tensor) => tf.Tensor;

export function controlObjective(student: tfl.LayersModel): Objective {
  return { loss: (xs, ys) => maskedCrossEntropy(ys, student.apply(xs, { training: true }) as tf.Tensor2D), extraVariables: [], dispose: () => {} };
}

export function kdObjective(student: tfl.LayersModel, teacher: TeacherSource, temperature: number, alpha: number): Objective {
  return {
    loss: (xs, ys, b) => kdLoss({ teacherLogits: teacher.logits(xs, b.indices), studentLogits: student.apply(xs, { training: true }) as tf.Tensor2D, labels: ys, temperature, alpha }),
    extraVariables: [],
    dispose: () => {},
  };
}

/** A linear map on the last axis (a dense layer, or a 1×1 convolution on NHWC features). */
interface LastAxisLinear {
  w: tf.Variable;
  b: tf.Variable;
}
function lastAxisLinear(inDim: number, outDim: number, seed: number, name: string): LastAxisLinear {
  const limit = Math.sqrt(6 / (inDim + outDim));
  return { w: tf.variable(tf.randomUniform([inDim, outDim], -limit, limit, 'float32', seed), true, name + '_w'), b: tf.variable(tf.zeros([outDim]), true, name + '_b') };
}
function applyLinear(l: LastAxisLinear, x: tf.Tensor): tf.Tensor {
  const shape = x.shape;
  const flat = tf.reshape(x, [-1, shape[shape.length - 1]]);
  const y = tf.add(tf.matMul(flat, l.w), l.b);
  return tf.reshape(y, [...shape.slice(0, -1), l.w.shape[1] as number]);
}

function layerOutput(model: tfl.LayersModel, name: string, who: 'teacher' | 'student'): tfl.SymbolicTensor {
  let layer: tfl.layers.Layer;
  try {
    layer = model.getLayer(name);
  } catch {
    const names = model.layers.map((l) => l.name).join(', ');
    throw new AppError('INVALID_ARGS', `The ${who} has no layer named "${name}". Its layers are: ${names}.`);
  }
  return layer.output as tfl.SymbolicTensor;
}

export interface FeatureOptions {
  pairs: { teacher: string; student: string }[];
  beta: number;
  adapter: 'auto' | 'dense' | 'conv1x1';
  phase: 'hint-first' | 'joint';
  hintEpochs: number;
}

/**
 * Feature-level distillation (FitNets, Romero et al. 2015). The adapter maps the student's features
 * to the teacher's channel count; spatial sizes must match (pair layers at the same depth).
 * `epochOffset` is the first epoch number the training loop reports (0 or 1).
 */
export function featureObjective(
  student: tfl.LayersModel,
  teacher: tfl.LayersModel,
  teacherSource: TeacherSource,
  opts: FeatureOptions & { temperature: number; alpha: number; seed: number; firstEpoch: number },
): Objective {
  const sOut = opts.pairs.map((p) => layerOutput(student, p.student, 'student'));
  const tOut = opts.pairs.map((p) => layerOutput(teacher, p.teacher, 'teacher'));
  const adapters = opts.pairs.map((p, i) => {
    const ss = sOut[i].shape as number[];
    const ts = tOut[i].shape as number[];
    const pair = `(${p.teacher}, ${p.student})`;
    if (ss.length !== ts.length) throw new AppError('INVALID_ARGS', `Feature pair ${pair}: the teacher's output has shape [${ts.join(', ')}] but the student's has [${ss.join(', ')}]; pair layers of the same kind (both convolutional or both dense).`);
    if (ss.length === 4) {
      if (ss[1] !== ts[1] || ss[2] !== ts[2]) throw new AppError('INVALID_ARGS', `Feature pair ${pair}: spatial sizes differ (${ts[1]}×${ts[2]} vs ${ss[1]}×${ss[2]}); pair layers at the same depth.`);
      if (opts.adapter === 'dense') throw new AppError('INVALID_ARGS', `Feature pair ${pair} holds feature maps; a dense adapter would need ${ss[1] * ss[2] * ss[3]}×${ts[1] * ts[2] * ts[3]} weights. Use the 1×1 convolution adapter ("conv1x1" or "auto").`);
    } else if (ss.length === 2) {
      if (opts.adapter === 'conv1x1') throw new AppError('INVALID_ARGS', `Feature pair ${pair} holds vectors, not feature maps; use the dense adapter ("dense" or "auto").`);
    } else {
      throw new AppError('INVALID_ARGS', `Feature pair ${pair}: only dense (2-D) or convolutional (4-D) outputs can be paired; got rank ${ss.length}.`);
    }
    return lastAxisLinear(ss[ss.length - 1], ts[ts.length - 1], layerSeed(opts.seed, `adapter_${p.student}`), `adapter_${i}_${p.student}`);
  });
  const studentTap = tfl.model({ inputs: student.inputs, outputs: [student.outputs[0], ...sOut] });
  const teacherTap = tfl.model({ inputs: teacher.inputs, outputs: tOut });
  return {
    loss: (xs, ys, b) => {
      const [logits, ...feats] = studentTap.apply(xs, { training: true }) as tf.Tensor[];
      const tFeats = teacherTap.apply(xs, { training: false }) as tf.Tensor | tf.Tensor[];
      const tList = Array.isArray(tFeats) ? tFeats : [tFeats];
      let hint: tf.Tensor = tf.scalar(0);
      feats.forEach((f, i) => (hint = tf.add(hint, hintLoss(tList[i], applyLinear(adapters[i], f)))));
      const weighted = tf.mul(hint, tf.scalar(opts.beta)) as tf.Scalar;
      const hintOnly = opts.phase === 'hint-first' && b.epoch - opts.firstEpoch < opts.hintEpochs;
      // tfjs' Adam keeps its moments by the position of each variable in the gradient map, so every
      // step must produce gradients for the same variables: the logits layer joins with weight 0.
      if (hintOnly) return tf.add(weighted, tf.mul(tf.sum(logits), tf.scalar(0))) as tf.Scalar;
      const response = kdLoss({ teacherLogits: teacherSource.logits(xs, b.indices), studentLogits: logits as tf.Tensor2D, labels: ys, temperature: opts.temperature, alpha: opts.alpha });
      return tf.add(response, weighted) as tf.Scalar;
    },
    extraVariables: adapters.flatMap((a) => [a.w, a.b]),
    dispose: () => adapters.forEach((a) => tf.dispose([a.w, a.b])),
  };
}

/**
 * Progressive self-distillation. Each batch records the student's probabilities for its images;
 * the next epoch uses them as soft targets, weight `maxAlpha · (epoch index) / (epochs − 1)`. The
 * first epoch (and the epoch after a resume, whose predictions were not kept) uses labels only.
 */
export function progressiveObjective(student: tfl.LayersModel, opts: { n: number; numClasses: number; epochs: number; maxAlpha: number; firstEpoch: number }): Objective {
  let prev: Float32Array | null = null;
  let prevSeen = new Uint8Array(opts.n);
  let current = new Float32Array(opts.n * opts.numClasses);
  let seen = new Uint8Array(opts.n);
  let epochNow: number | null = null;
  return {
    loss: (xs, ys, b) => {
      if (epochNow !== null && b.epoch !== epochNow) {
        prev = current;
        prevSeen = seen;
        current = new Float32Array(opts.n * opts.numClasses);
        seen = new Uint8Array(opts.n);
      }
      epochNow = b.epoch;
      const logits = student.apply(xs, { training: true }) as tf.Tensor2D;
      const probs = tf.softmax(logits).dataSync();
      b.indices.forEach((idx, r) => {
        current.set(probs.subarray(r * opts.numClasses, (r + 1) * opts.numClasses), idx * opts.numClasses);
        seen[idx] = 1;
      });
      const e = b.epoch - opts.firstEpoch;
      // A batch with an image the previous epoch did not predict (the epoch after a resume) uses labels only.
      if (!prev || e <= 0 || b.indices.some((idx) => !prevSeen[idx])) return maskedCrossEntropy(ys, logits);
      const a = opts.maxAlpha * Math.min(1, e / Math.max(1, opts.epochs - 1));
      const p = prev;
      const prevRows = new Float32Array(b.indices.length * opts.numClasses);
      b.indices.forEach((idx, r) => prevRows.set(p.subarray(idx * opts.numClasses, (idx + 1) * opts.numClasses), r * opts.numClasses));
      const targets = progressiveSelfTargets(ys, tf.tensor2d(prevRows, [b.indices.length, opts.numClasses]), a);
      return softCrossEntropy(targets, logits);
    },
    extraVariables: [],
    dispose: () => {},
  };
}

/**
 * Auxiliary heads on intermediate layers (global average pooling for feature maps, then a linear
 * classifier). Loss: CE on the final head + for each auxiliary head α·T²·KL(final_T ‖ head_T)
 * + (1 − α)·CE. The final head's outputs are targets only (no gradient through them). The heads are
 * discarded after training: the saved student is the plain network.
 */
/**
 * Where auxiliary heads go when the recipe names none: after each pooling or residual-add layer
 * (the ends of the CNN templates' stages), else after each hidden dense layer (MLP); at most 3.
 */
export function defaultAuxHeads(model: tfl.LayersModel): string[] {
  const last = model.outputs[0].sourceLayer.name;
  const stageEnds = model.layers.filter((l) => ['MaxPooling2D', 'Add'].includes(l.getClassName())).map((l) => l.name);
  const dense = model.layers.filter((l) => l.getClassName() === 'Dense' && l.name !== last).map((l) => l.name);
  return (stageEnds.length ? stageEnds : dense).slice(0, 3);
}

export function auxHeadsObjective(student: tfl.LayersModel, opts: { heads: string[]; temperature: number; alpha: number; seed: number; numClasses: number }): Objective {
  const names = opts.heads.length ? opts.heads : defaultAuxHeads(student);
  if (!names.length) throw new AppError('INVALID_ARGS', 'This student has no intermediate layer to attach an auxiliary head to; name one in self.heads, or use progressive self-distillation.');
  const taps = names.map((h) => layerOutput(student, h, 'student'));
  const heads = taps.map((t, i) => {
    const shape = t.shape as number[];
    if (shape.length !== 4 && shape.length !== 2) throw new AppError('INVALID_ARGS', `Layer "${names[i]}" has rank-${shape.length} output; auxiliary heads attach to dense or convolutional layers.`);
    return lastAxisLinear(shape[shape.length - 1], opts.numClasses, layerSeed(opts.seed, `aux_${names[i]}`), `aux_${i}_${names[i]}`);
  });
  const tap = tfl.model({ inputs: student.inputs, outputs: [student.outputs[0], ...taps] });
  return {
    loss: (xs, ys) => {
      const [logits, ...feats] = tap.apply(xs, { training: true }) as tf.Tensor[];
      const target = stopGradient(logits) as tf.Tensor2D;
      let total: tf.Tensor = maskedCrossEntropy(ys, logits as tf.Tensor2D);
      feats.forEach((f, i) => {
        const pooled = f.shape.length === 4 ? tf.mean(f, [1, 2]) : f;
        const aux = applyLinear(heads[i], pooled) as tf.Tensor2D;
        const soft = softTargetLoss(target, aux, opts.temperature);
        const hard = maskedCrossEntropy(ys, aux);
        total = tf.add(total, tf.add(tf.mul(soft, tf.scalar(opts.alpha)), tf.mul(hard, tf.scalar(1 - opts.alpha))));
      });
      return total as tf.Scalar;
    },
    extraVariables: heads.flatMap((h) => [h.w, h.b]),
    dispose: () => heads.forEach((h) => tf.dispose([h.w, h.b])),
  };
}
