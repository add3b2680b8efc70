import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../tf';
import { layerDilation } from './dilation';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

/** Largest |layer output − op output| for the op run with `dilation`. */
function gap(layer: tfl.layers.Layer, x: tf.Tensor4D, op: (d: [number, number]) => tf.Tensor, dilation: [number, number]): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(layer.apply(x) as tf.Tensor, op(dilation)))).dataSync()[0]);
}

describe('layerDilation', () => {
  const input = () => tf.tensor4d(Float32Array.from({ length: 7 * 6 * 3 }, (_, i) => Math.sin(i * 0.37)), [1, 7, 6, 3]);

  it('DepthwiseConv2D: TF.js computes it undilated whatever dilationRate says', () => {
    const x = input();
    const layer = tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', dilationRate: 2, useBias: false, depthwiseInitializer: 'glorotNormal' });
    layer.apply(x);
    const k = layer.getWeights()[0] as tf.Tensor4D;
    const op = (d: [number, number]) => tf.depthwiseConv2d(x, k, 1, 'same', 'NHWC', d);
    expect(layerDilation(layer)).toEqual({ computed: [1, 1], configured: [2, 2] });
    expect(gap(layer, x, op, layerDilation(layer).computed)).toBeLessThan(1e-6);
    expect(gap(layer, x, op, [2, 2])).toBeGreaterThan(1e-3);
  });

  it('Conv2D: TF.js honours dilationRate', () => {
    const x = input();
    const layer = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', dilationRate: 2, useBias: false });
    layer.apply(x);
    const k = layer.getWeights()[0] as tf.Tensor4D;
    expect(layerDilation(layer).computed).toEqual([2, 2]);
    expect(gap(layer, x, (d) => tf.conv2d(x, k, 1, 'same', 'NHWC', d), [2, 2])).toBeLessThan(1e-6);
  });
});
