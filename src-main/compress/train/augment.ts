/**
 * Image augmentation for training: per batch, a random shift of up to `maxShift` pixels in each
 * direction (zero padding) and a horizontal flip with probability 1/2. Seeded through `rand`.
 */
import * as tf from '@tensorflow/tfjs-core';

export function augmentImages(xs: tf.Tensor, rand: () => number, maxShift = 2): tf.Tensor {
  return tf.tidy(() => {
    const [b, h, w, c] = xs.shape as [number, number, number, number];
    const dy = Math.floor(rand() * (2 * maxShift + 1));
    const dx = Math.floor(rand() * (2 * maxShift + 1));
    const padded = tf.pad(xs as tf.Tensor4D, [[0, 0], [maxShift, maxShift], [maxShift, maxShift], [0, 0]]);
    const shifted = tf.slice(padded, [0, dy, dx, 0], [b, h, w, c]);
    return rand() < 0.5 ? tf.reverse(shifted, 2) : shifted;
  });
}
