/**
 * BatchNormalization and ReLU6 layers as one taped op each while a model trains on wasm (issue 14).
 *
 * tfjs-layers trains a BatchNormalization through `tf.moments` and `tf.batchNorm4d` with tiling
 * workarounds, all recorded on the tape: a MobileNetV2 step ran ~60 kernels per BN layer forward and
 * backward and kept ~12 floats per activation element alive until the backward pass (memory.ts), and
 * a ReLU(maxValue 6) is Relu then ClipByValue, each saving its input, with a five-kernel gradient.
 *
 * Here, while a tape records on wasm (the switch of fused-layers.ts on):
 * - BatchNormalization (training, channels last, scale and center): one `tf.customGrad` whose
 *   forward computes μ = Σx/n, σ² = Σ(x − μ)²/n, y = (x − μ)·γ/√(σ² + ε) + β and tfjs-layers' own
 *   moving-average update, and saves x, μ and 1/√(σ² + ε). Its gradient is the closed form
 *     x̂ = (x − μ)/√(σ² + ε),  dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ/√(σ² + ε) · (dy − dβ/n − x̂·dγ/n)
 *   (n = values per channel), the value of tfjs' chain rule through the moments to float rounding.
 *   The kernels are chosen for speed on wasm: sums over the leading axes and adds of a per-channel
 *   vector (the native add-on's, when built) instead of wasm's Mean and FusedBatchNorm, which took
 *   ~40 and ~57 ms on a [4, 112, 112, 48] tensor where a Sum takes 0.2 and a bias Add 0.5.
 * - ReLU with maxValue 6: one Relu6 kernel saving its output y; gradient dy·[0 < y < 6] as two
 *   one-kernel ReLU masks (lean-kernels' reluGradient: dy·[y > 0], then ·[6 − y > 0]).
 * Anything else (inference, other backends, other axes or activations) runs the layer's own code.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { fusedLayerTrainingActive, layerCallOwner } from './fused-layers';
import { reluGradient } from './lean-kernels';

interface LayerVariableLike {
  read(): tf.Tensor;
  write(t: tf.Tensor): void;
}
interface BatchNormLike {
  axis: number | number[];
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: LayerVariableLike | null;
  beta: LayerVariableLike | null;
  movingMean: LayerVariableLike;
  movingVariance: LayerVariableLike;
  invokeCallHook?(inputs: unknown, kwargs: unknown): void;
}
interface ReluLike {
  maxValue: number | null | undefined;
}
type Call = (this: unknown, inputs: tf.Tensor | tf.Tensor[], kwargs: unknown) => tf.Tensor | tf.Tensor[];

function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor | null {
  if (!Array.isArray(inputs)) return inputs;
  return inputs.length === 1 ? inputs[0] : null;
}

/** tfjs-layers' moving-average update, op for op: v ← v − (v − value)·(1 − momentum). */
function movingAverage(variable: LayerVariableLike, value: tf.Tensor, momentum: number): void {
  tf.tidy(() => {
    const orig = variable.read();
    variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - momentum)));
  });
}

/** A training BatchNormalization over the last axis as one taped op, or null when it does not apply. */
export function batchNormTraining(layer: BatchNormLike, x: tf.Tensor): tf.Tensor | null {
  const rank = x.rank;
  const axis = Array.isArray(layer.axis) ? (layer.axis.length === 1 ? layer.axis[0] : NaN) : layer.axis;
  if ((rank !== 4 && rank !== 2) || x.dtype !== 'float32' || !(axis === -1 || axis === rank - 1)) return null;
  if (!layer.scale || !layer.center || !layer.gamma || !layer.beta) return null;
  const axes = Array.from({ length: rank - 1 }, (_, i) => i);
  const eps = layer.epsilon;
  const n = x.size / x.shape[rank - 1];
  // Scalars are made inside each scope: tensors made around the op die with the model call's tidy.
  const op = tf.customGrad(((input: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
    const invN = tf.scalar(1 / n);
    const mean = tf.mul(tf.sum(input, axes), invN);
    const centred = tf.add(input, tf.neg(mean));
    const variance = tf.mul(tf.sum(tf.square(centred), axes), invN);
    const invStd = tf.rsqrt(tf.add(variance, tf.scalar(eps)));
    const y = tf.add(tf.mul(centred, tf.mul(gamma, invStd)), beta);
    movingAverage(layer.movingMean, mean, layer.momentum);
    movingAverage(layer.movingVariance, variance, layer.momentum);
    save([input, mean, invStd, gamma]);
    return {
      value: y,
      // In a tidy: tfjs runs a customGrad's gradFunc outside the per-input tidy of the backward
      // pass, so its full-size temporaries would otherwise live until the whole backward pass ends.
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xs, mu, inv, g] = saved;
          const invN = tf.scalar(1 / n);
          const xhat = tf.mul(tf.add(xs, tf.neg(mu)), inv);
          const dBeta = tf.sum(dy, axes);
          const dGamma = tf.sum(tf.mul(dy, xhat), axes);
          const k = tf.mul(g, inv);
          // dx = k·(dy − dβ/n − x̂·dγ/n)
          const centredDy = tf.add(tf.sub(dy, tf.mul(xhat, tf.mul(dGamma, invN))), tf.neg(tf.mul(dBeta, invN)));
          return [tf.mul(centredDy, k), dGamma, dBeta];
        }),
    };
  }) as never) as (input: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;
  return op(x, layer.gamma.read(), layer.beta.read());
}

/** ReLU6 as one taped op: Relu6 forward, dy·[0 < y < 6] backward. */
export function relu6Training(x: tf.Tensor): tf.Tensor {
  const op = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = tf.relu6(input);
    save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [out]: tf.Tensor[]) => tf.tidy(() => reluGradient(reluGradient(dy, out), tf.add(tf.neg(out), tf.scalar(6)))),
    };
  }) as never) as (input: tf.Tensor) => tf.Tensor;
  return op(x);
}

let installed = false;

/** Patches BatchNormalization and ReLU (once); active whenever fused-layers' training fusion is. */
export function installFusedNormTraining(): void {
  if (installed) return;
  installed = true;
  const bn = layerCallOwner('BatchNormalization');
  const bnCall = bn.call;
  bn.call = function (this: unknown, inputs, kwargs) {
    const training = Boolean((kwargs as { training?: boolean } | undefined)?.training);
    const x = single(inputs);
    const out = training && x && fusedLayerTrainingActive() ? batchNormTraining(this as BatchNormLike, x) : null;
    return out ?? bnCall.call(this, inputs, kwargs);
  };
  const relu = layerCallOwner('ReLU');
  const reluCall = relu.call as Call;
  relu.call = function (this: unknown, inputs, kwargs) {
    const x = single(inputs);
    const six = (this as ReluLike).maxValue === 6;
    return six && x && x.dtype === 'float32' && fusedLayerTrainingActive() ? relu6Training(x) : reluCall.call(this, inputs, kwargs);
  };
}
