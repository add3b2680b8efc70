/**
 * `QuantParams`: everything the `.tflite` exporter needs to write a full-INT8 model, shared by the
 * quantize stage (observers, PTQ, QAT) and the exporter. It follows the TFLite INT8 specification
 * (https://ai.google.dev/edge/litert/models/quantization_spec), so the file runs on phones unchanged:
 *
 * - weights: symmetric int8, zero point 0, values in −127…127; per channel (one scale per output
 *   channel) for CONV_2D (TFLite dimension 0) and DEPTHWISE_CONV_2D (dimension 3); per tensor for
 *   FULLY_CONNECTED unless `perChannelDense` (older runtimes and delegates reject per-channel there);
 * - bias: int32, zero point 0, scale = input scale × weight scale (per channel where the weights are);
 * - activations: asymmetric int8 per tensor, the range always containing 0;
 * - BatchNormalization is folded into the preceding convolution; ReLU/ReLU6 are fused into the
 *   producer, so the tensor after them carries the clipped range;
 * - SOFTMAX output: scale 1/256, zero point −128;
 * - MAX_POOL_2D, AVERAGE_POOL_2D, RESHAPE (Flatten, Reshape), PAD (ZeroPadding2D), Dropout and
 *   CONCATENATION keep their input's scale and zero point (for CONCATENATION all inputs share one).
 *
 * Activation ranges are keyed by the name of the TF.js layer whose OUTPUT they describe (the model's
 * input layer for the input; `<layer>:logits` for the pre-softmax output of a layer with a softmax
 * activation). A fused chain (Conv2D → BatchNormalization → ReLU) writes one tensor: the
 * exporter takes the range of the LAST layer of the chain. Layers that keep their input's parameters
 * need no entry (the exporter ignores one if present, see `KEEPS_INPUT_QUANT`).
 *
 * Weight scales are optional: when a layer has none, the exporter computes max-abs scales from the
 * (BN-folded) float weights. QAT that learns weight ranges stores them here, one scale per output
 * channel, computed on the BN-folded kernel.
 *
 * This is a plain JSON value (stored with artifacts and passed between processes).
 */
import { AppError } from '../../../src-shared/errors';

export const QUANT_PARAMS_VERSION = 1;

export const INT8_MIN = -128;
export const INT8_MAX = 127;
/** Weights use −127…127 (not −128), so the range is symmetric and zero point 0 is exact. */
export const WEIGHT_QMAX = 127;

/** Per-tensor asymmetric int8 parameters of an activation tensor. */
export interface ActivationQuant {
  scale: number;
  zeroPoint: number;
  /** The float range the parameters were made from (after nudging to contain 0), for display and re-derivation. */
  min: number;
  max: number;
}

/** Symmetric int8 weight scales of one layer: one per output channel, or a single one (per tensor). */
export interface WeightQuant {
  scales: number[];
}

export type Observer = 'minmax' | 'moving-average' | 'percentile' | 'mse' | 'qat';

export interface QuantParams {
  version: typeof QUANT_PARAMS_VERSION;
  /** Output range of each layer (by TF.js layer name), the input layer's for the model input. */
  activations: Record<string, ActivationQuant>;
  /** Optional weight scales per layer (by TF.js layer name), on the BN-folded kernel. */
  weights?: Record<string, WeightQuant>;
  /** Per-channel weights for Dense / FULLY_CONNECTED too (default false: per tensor). */
  perChannelDense?: boolean;
  /** Layers kept in float (sensitivity analysis): the exporter dequantizes into and quantizes out of them. */
  floatLayers?: string[];
  /** How the ranges were obtained. */
  calibration: { observer: Observer; samples: number; seed?: number };
}

/** TF.js layer classes whose int8 output has the same scale and zero point as their (first) input. */
export const KEEPS_INPUT_QUANT = new Set([
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'Flatten',
  'Reshape',
  'ZeroPadding2D',
  'Dropout',
  'Concatenate',
]);

/** TFLite's fixed SOFTMAX int8 output parameters. */
export const SOFTMAX_OUTPUT_QUANT: ActivationQuant = { scale: 1 / 256, zeroPoint: -128, min: 0, max: 255 / 256 };

/**
 * Asymmetric int8 parameters for a float range, as TFLite's converter makes them: the range is
 * widened to contain 0, scale = (max − min) / 255, and the zero point is rounded so that 0.0 is
 * exactly representable (the range is then re-derived from scale and zero point).
 */
export function activationQuant(min: number, max: number): ActivationQuant {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw new AppError('INVALID_ARGS', `An activation range must be finite with min ≤ max (got ${min} … ${max}); calibrate on real samples.`);
  }
  let lo = Math.min(min, 0);
  let hi = Math.max(max, 0);
  if (hi - lo < 1e-8) hi = lo + 1e-8; // a constant-zero tensor still needs a positive scale
  const scale = (hi - lo) / (INT8_MAX - INT8_MIN);
  const zeroPoint = Math.max(INT8_MIN, Math.min(INT8_MAX, Math.round(INT8_MIN - lo / scale)));
  lo = (INT8_MIN - zeroPoint) * scale;
  hi = (INT8_MAX - zeroPoint) * scale;
  return { scale, zeroPoint, min: lo, max: hi };
}

/**
 * Largest requantization scale s_in·s_w/s_out a CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED may have.
 * XNNPack (LiteRT's CPU path on desktops and phones) refuses to create the operator at 256 or more, and
 * the interpreter then fails to allocate tensors; 255 leaves room for XNNPack's float32 arithmetic.
 */
export const MAX_REQUANT_SCALE = 255;

/**
 * The output parameters of a convolution / dense op, widened when its range is so narrow that
 * s_in·max(s_w)/s_out ≥ MAX_REQUANT_SCALE. That only happens when the calibration range collapsed (a
 * ReLU output that was 0 on every sample gets scale 1e-8/255): an output step below 1/255 of the
 * accumulator's unit resolves nothing, so widening loses no precision. The zero point is kept, so
 * 0 stays exact and a ReLU range still starts at 0. The exporter and the INT8 simulator both apply it.
 */
export function requantizableOutput(out: ActivationQuant, inScale: number, weightScales: readonly number[]): ActivationQuant {
  const floor = (inScale * Math.max(...weightScales)) / MAX_REQUANT_SCALE;
  if (out.scale >= floor) return out;
  return { scale: floor, zeroPoint: out.zeroPoint, min: (INT8_MIN - out.zeroPoint) * floor, max: (INT8_MAX - out.zeroPoint) * floor };
}

/** Symmetric weight scale for a max-abs value (zero point 0, −127…127). A zero channel gets a tiny positive scale. */
export function weightScale(maxAbs: number): number {
  return maxAbs > 0 ? maxAbs / WEIGHT_QMAX : 1e-12;
}

/** Float → int8 with a scale and zero point (round half away from zero, as TFLite does), clamped to [qmin, qmax]. */
export function quantizeValue(x: number, scale: number, zeroPoint: number, qmin = INT8_MIN, qmax = INT8_MAX): number {
  const q = Math.sign(x / scale) * Math.round(Math.abs(x / scale)) + zeroPoint;
  return Math.max(qmin, Math.min(qmax, q));
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Scale of an int32 bias: input scale × weight scale, multiplied in float32 as TFLite's quantizer does. */
export function biasScale(inputScale: number, weightScale: number): number {
  return Math.fround(Math.fround(inputScale) * Math.fround(weightScale));
}

/**
 * The int32 bias of a conv / depthwise / fully-connected op, one function for the `.tflite` writer
 * and the INT8 simulator (they used to differ: `Math.round` on a double scale rounds −2.5 to −2,
 * the simulator rounded half away from zero on a float32 scale). TFLite's
 * `SymmetricPerChannelBiasQuantize` rounds bias / (s_in · s_w[c]) half away from zero (std::round)
 * with float32 scales, clamped to int32. `weightScales` has one entry, or one per channel.
 */
export function quantizeBias(bias: ArrayLike<number>, inputScale: number, weightScales: readonly number[]): { q: Int32Array; scales: number[] } {
  const scales = Array.from({ length: bias.length }, (_, c) => biasScale(inputScale, weightScales[weightScales.length === 1 ? 0 : c]));
  const q = new Int32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    const v = bias[c] / scales[c];
    const r = v < 0 ? -Math.round(-v) : Math.round(v);
    q[c] = Math.max(INT32_MIN, Math.min(INT32_MAX, r));
  }
  return { q, scales };
}

export function dequantizeValue(q: number, scale: number, zeroPoint: number): number {
  return (q - zeroPoint) * scale;
}

/** Checks a QuantParams value from outside (a stored artifact, another process): throws naming what is wrong. */
export function validateQuantParams(p: unknown): QuantParams {
  const q = p as QuantParams;
  if (!q || typeof q !== 'object' || q.version !== QUANT_PARAMS_VERSION || typeof q.activations !== 'object' || !q.activations) {
    throw new AppError('INVALID_ARGS', `These quantization parameters are not version ${QUANT_PARAMS_VERSION} QuantParams; quantize the model again.`);
  }
  for (const [layer, a] of Object.entries(q.activations)) {
    if (!(a.scale > 0) || !Number.isInteger(a.zeroPoint) || a.zeroPoint < INT8_MIN || a.zeroPoint > INT8_MAX) {
      throw new AppError('INVALID_ARGS', `Layer "${layer}" has invalid activation parameters (scale ${a.scale}, zero point ${a.zeroPoint}); the scale must be positive and the zero point an integer in −128…127.`);
    }
  }
  for (const [layer, w] of Object.entries(q.weights ?? {})) {
    if (!Array.isArray(w.scales) || w.scales.length === 0 || w.scales.some((s) => !(s > 0))) {
      throw new AppError('INVALID_ARGS', `Layer "${layer}" has invalid weight scales; each must be a positive number.`);
    }
  }
  return q;
}
