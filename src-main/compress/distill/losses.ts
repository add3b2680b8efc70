/**
 * Distillation losses, written with functional tf ops only (`tf.mul(a, b)`, never `a.mul(b)`:
 * chained ops are not installed in our bundles).
 *
 * Response-based knowledge distillation (Hinton et al. 2015):
 *   loss = α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·CE(labels, s)
 * The T² factor keeps the soft-target gradients on the same scale whatever T is (they shrink as
 * 1/T² otherwise). The student is used at T = 1 at inference: nothing here changes the model.
 *
 * Semi-supervised: labels may be `UNLABELED` (−1). Those images still get the soft-target term;
 * the label term averages over the labelled images of the batch only (0 when there are none).
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients; tfjs-layers registers all of them when it loads (its Node
// bundle inlines them; `tfjs-core/dist/register_all_gradients` cannot be imported by Node's ESM loader).
import '@tensorflow/tfjs-layers';
import { labelLoss } from '../train/step';

/** Mean cross-entropy over the labelled rows only (hidden labels skipped; 0 when none): the training loop's label loss. */
export const maskedCrossEntropy = (labels: Labels, logits: tf.Tensor2D): tf.Scalar => labelLoss(logits, labels);

/** Per-image labels: class index, or −1 for an unlabelled image. */
export type Labels = tf.Tensor1D;

/** 1 where the label is known, 0 where it is hidden. */
function labelMask(labels: Labels): tf.Tensor1D {
  return tf.cast(tf.greaterEqual(labels, tf.scalar(0, 'int32')), 'float32');
}

/** Mean cross-entropy of `logits` against probability targets (rows sum to 1). */
export function softCrossEntropy(targets: tf.Tensor2D, logits: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1))));
}

/** The soft-target loss and the two tensors its gradient needs: p = softmax(teacher/T), logQ = logSoftmax(student/T). */
function softTargetTerms(teacherLogits: tf.Tensor2D, studentLogits: tf.Tensor2D, temperature: number): { value: tf.Scalar; p: tf.Tensor; logQ: tf.Tensor } {
  const invT = tf.scalar(1 / temperature);
  const logP = tf.logSoftmax(tf.mul(teacherLogits, invT));
  const p = tf.exp(logP);
  const logQ = tf.logSoftmax(tf.mul(studentLogits, invT));
  const kl = tf.sum(tf.mul(p, tf.sub(logP, logQ)), 1);
  return { value: tf.mul(tf.mean(kl), tf.scalar(temperature * temperature)) as tf.Scalar, p, logQ };
}

/**
 * Mean over rows of KL(softmax(teacher/T) ‖ softmax(student/T)), times T². The teacher's logits
 * are constants: training differentiates only with respect to the student's variables.
 */
export function softTargetLoss(teacherLogits: tf.Tensor2D, studentLogits: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => softTargetTerms(teacherLogits, studentLogits, temperature).value);
}

/**
 * softTargetLoss for teacher logits that are constants of the step (not computed from trained
 * variables: a cached table, or a teacher model that is not trained), with the gradient tfjs
 * derives for the student's logits (Mul by T², Mean, Sum broadcast, Mul by p, Sub, logSoftmax's
 * own, Mul by 1/T) reduced to the same float32 operations on the same values, so the same bits:
 * 9 kernels instead of 17, and 2 tensors saved for the backward pass instead of 17. No gradient
 * is returned for the teacher's logits.
 */
function constantTargetLoss(teacherLogits: tf.Tensor2D, studentLogits: tf.Tensor2D, temperature: number): tf.Scalar {
  const loss = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [s, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const { value, p, logQ } = softTargetTerms(teacherLogits, s, temperature);
    save([p, logQ]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, [pSaved, logQSaved]: tf.Tensor[]) => {
        const perRow = tf.div(tf.mul(dy, tf.scalar(temperature * temperature)), tf.scalar(s.shape[0]));
        const dLogQ = tf.neg(tf.mul(perRow, pSaved));
        const dScaled = tf.sub(dLogQ, tf.mul(tf.sum(dLogQ, -1, true), tf.exp(logQSaved)));
        return tf.mul(dScaled, tf.scalar(1 / temperature));
      },
    };
  });
  return loss(studentLogits) as tf.Scalar;
}

export interface KdLossArgs {
  /** Constants of the step (a cached table, or a teacher that is not trained): no gradient flows into them. */
  teacherLogits: tf.Tensor2D;
  studentLogits: tf.Tensor2D;
  labels: Labels;
  temperature: number;
  /** Weight of the soft-target term; 1 − alpha goes to the labels. */
  alpha: number;
}

/** α·T²·KL(teacher_T ‖ student_T) + (1 − α)·CE(labels, student). */
export function kdLoss({ teacherLogits, studentLogits, labels, temperature, alpha }: KdLossArgs): tf.Scalar {
  if (!(temperature > 0)) throw new RangeError(`temperature must be above 0 (got ${temperature})`);
  return tf.tidy(() => {
    const soft = constantTargetLoss(teacherLogits, studentLogits, temperature);
    const hard = maskedCrossEntropy(labels, studentLogits);
    return tf.add(tf.mul(soft, tf.scalar(alpha)), tf.mul(hard, tf.scalar(1 - alpha)));
  });
}

/** Mean squared error between the (adapted) student features and the teacher's, for hint training. */
export function hintLoss(teacherFeatures: tf.Tensor, adaptedStudent: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(teacherFeatures, adaptedStudent)));
}

/**
 * Progressive self-knowledge distillation (Kim et al. 2021): the target is a mix of the one-hot
 * label and the model's own probabilities from the previous epoch, `(1 − a)·y + a·p_prev`.
 * Unlabelled rows use `p_prev` alone.
 */
export function progressiveSelfTargets(labels: Labels, previousProbs: tf.Tensor2D, a: number): tf.Tensor2D {
  return tf.tidy(() => {
    const numClasses = previousProbs.shape[1];
    const mask = tf.expandDims(labelMask(labels), 1);
    const onehot = tf.oneHot(tf.cast(labels, 'int32'), numClasses);
    // Labelled: (1 − a)·y + a·p; unlabelled: p.
    const weightP = tf.add(tf.mul(mask, tf.scalar(a)), tf.sub(tf.scalar(1), mask));
    return tf.add(tf.mul(onehot, tf.scalar(1 - a)), tf.mul(previousProbs, weightP)) as tf.Tensor2D;
  });
}
