/**
 * The other precisions, simulated on the float model so the app can show their accuracy before
 * export: FP16 weights (each weight rounded to the nearest half-precision value) and dynamic range
 * (weights symmetric int8 per output channel, dequantized; activations stay float; TFLite's hybrid
 * kernels also quantize activations on the fly per batch, which this leaves out). Also the weight
 * payload of a model at a precision, raw and gzip -9 compressed (what a sparse model saves on download).
 */
import zlib from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fromHalfBits } from '../../../src-shared/float16';
import type { Precision } from '../../../src-shared/types';
import { summarizeModel } from '../../models';
import { roundAway } from './simulate';

const KERNEL = /(kernel|depthwise_kernel)$/;

/** IEEE 754 half-precision bits of a float32 value (round to nearest even). */
export function toHalfBits(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

export { fromHalfBits };

/** Symmetric int8 per output channel (last axis; depthwise: in·mult), dequantized. */
function int8Weights(kernel: tf.Tensor, perChannel: boolean): tf.Tensor {
  return tf.tidy(() => {
    const c = kernel.shape[kernel.shape.length - 1];
    const maxAbs = perChannel ? tf.max(tf.abs(tf.reshape(kernel, [-1, c])), 0) : tf.max(tf.abs(kernel));
    const s = tf.div(tf.maximum(maxAbs, 1e-12), 127);
    return tf.mul(tf.clipByValue(roundAway(tf.div(kernel, s)), -127, 127), s);
  });
}

/**
 * A copy of the model whose weights carry the precision's rounding: `fp16` (all weights), `dynamic`
 * (Conv/Depthwise kernels per channel, Dense per tensor unless `perChannelDense`).
 */
export async function withPrecision(model: tfl.LayersModel, precision: 'fp16' | 'dynamic', opts: { perChannelDense?: boolean } = {}): Promise<tfl.LayersModel> {
  const copy = await tfl.models.modelFromJSON({ modelTopology: model.toJSON(null, false) } as unknown as tf.io.ModelJSON);
  copy.layers.forEach((layer, i) => {
    const src = model.layers[i];
    const type = src.getClassName();
    const values = src.weights.map((w) => {
      const v = w.read();
      if (precision === 'fp16') {
        const d = v.dataSync();
        return tf.tensor(Float32Array.from(d, (x) => fromHalfBits(toHalfBits(x))), v.shape);
      }
      return KERNEL.test(w.originalName) ? int8Weights(v, type !== 'Dense' || opts.perChannelDense === true) : tf.clone(v);
    });
    layer.setWeights(values);
    tf.dispose(values);
  });
  return copy;
}

export interface SizeRecord {
  params: number;
  nonzeroParams: number;
  sparsity: number;
  /** Weight payload at the precision: kernels at 4/2/1 bytes, biases and other weights 4 (fp16: 2). */
  bytes: number;
  gzipBytes: number;
  macs: number;
}

/** Sizes for the artifact record: the weights encoded at `precision`, raw and gzip -9. */
export function sizesAt(model: tfl.LayersModel, precision: Precision): SizeRecord {
  const summary = summarizeModel(model);
  const parts: Buffer[] = [];
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const d = w.read().dataSync() as Float32Array;
      const kernel = KERNEL.test(w.originalName);
      if (precision === 'fp16') parts.push(Buffer.from(Uint16Array.from(d, toHalfBits).buffer));
      else if ((precision === 'int8' || precision === 'int8-dynamic' || precision === 'mixed') && kernel) {
        const q = tf.tidy(() => {
          const t = w.read();
          const c = t.shape[t.shape.length - 1];
          const s = tf.div(tf.maximum(tf.max(tf.abs(tf.reshape(t, [-1, c])), 0), 1e-12), 127);
          return roundAway(tf.div(t, s)).dataSync();
        });
        parts.push(Buffer.from(Int8Array.from(q).buffer));
      } else parts.push(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    }
  }
  const buf = Buffer.concat(parts);
  return {
    params: summary.totals.params,
    nonzeroParams: summary.totals.nonZeroParams,
    sparsity: summary.totals.sparsity,
    bytes: buf.length,
    gzipBytes: zlib.gzipSync(buf, { level: 9 }).length,
    macs: summary.totals.macsDeployed,
  };
}
