/**
 * Fake quantization for quantization-aware training: the forward pass rounds to the int8 grid and
 * back (so the loss sees the quantization error), the backward pass is the straight-through
 * estimator: gradient 1 inside the representable range, 0 outside (values clipped by the range get
 * no gradient, as in TF's FakeQuantWithMinMaxVars).
 */
import * as tf from '@tensorflow/tfjs-core';
import { roundAway } from './simulate';

/**
 * x → (clamp(round(x / s) + zp, qmin, qmax) − zp) · s, with the straight-through gradient.
 * `scale` is a scalar or broadcasts against x (per-channel weights: shape of the last axis).
 */
export function fakeQuant(x: tf.Tensor, scale: tf.Tensor | number, zeroPoint: number, qmin = -128, qmax = 127): tf.Tensor {
  const s = typeof scale === 'number' ? tf.scalar(scale) : scale;
  const f = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    const q = tf.clipByValue(tf.add(roundAway(tf.div(input, s)), zeroPoint), qmin, qmax);
    const value = tf.mul(tf.sub(q, zeroPoint), s);
    const lo = tf.mul(s, qmin - zeroPoint);
    const hi = tf.mul(s, qmax - zeroPoint);
    const inside = tf.cast(tf.logicalAnd(tf.greaterEqual(input, lo), tf.lessEqual(input, hi)), 'float32');
    save([inside]);
    return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const out = f(x);
  if (typeof scale === 'number') s.dispose();
  return out;
}

/** Symmetric per-channel (last axis) int8 fake quantization of a kernel, scales from the current max |w|. */
export function fakeQuantWeights(kernel: tf.Tensor, perChannel: boolean, channelsLast = kernel.shape[kernel.shape.length - 1]): tf.Tensor {
  // The scale is only read inside customGrad, so no gradient flows through it (a constant to the backward pass).
  const maxAbs = perChannel ? tf.max(tf.abs(tf.reshape(kernel, [-1, channelsLast])), 0) : tf.max(tf.abs(kernel));
  const scale = tf.div(tf.maximum(maxAbs, 1e-12), 127);
  // Depthwise kernels [kh, kw, in, mult] flatten to in·mult channels: reshape the scales to match.
  const s = perChannel && channelsLast !== kernel.shape[kernel.shape.length - 1] ? tf.reshape(scale, [1, 1, kernel.shape[2]!, kernel.shape[3]!]) : scale;
  return fakeQuant(kernel, s, 0, -127, 127);
}
