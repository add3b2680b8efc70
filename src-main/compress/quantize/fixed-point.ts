/**
 * TFLite's integer requantization, bit for bit (tensorflow/lite/kernels/internal/common.h and
 * gemmlowp's fixedpoint.h): a real multiplier M is stored as a Q31 int32 `m0` and a power-of-two
 * `shift`; an int32 accumulator x becomes RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(
 * x · 2^left, m0), right). JavaScript numbers are doubles, so the 64-bit product is split into
 * exact pieces instead of rounding.
 */

const TWO31 = 2147483648;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

export interface QuantizedMultiplier {
  /** Q31 fixed-point significand in [2^30, 2^31). */
  m0: number;
  /** Positive: shift left; negative: shift right. */
  shift: number;
}

/** QuantizeMultiplier(double) from TFLite: M = m0 · 2^(shift − 31). */
export function quantizeMultiplier(real: number): QuantizedMultiplier {
  if (real === 0) return { m0: 0, shift: 0 };
  // frexp: real = q · 2^shift with q in [0.5, 1).
  let shift = Math.floor(Math.log2(real)) + 1;
  let q = real / 2 ** shift;
  if (q >= 1) {
    q /= 2;
    shift++;
  } else if (q < 0.5) {
    q *= 2;
    shift--;
  }
  let m0 = Math.round(q * TWO31);
  if (m0 === TWO31) {
    m0 /= 2;
    shift++;
  }
  if (shift < -31) return { m0: 0, shift: 0 };
  return { m0, shift };
}

/** gemmlowp SaturatingRoundingDoublingHighMul for int32 a and b (exact). */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  // a·b = a·bh·2^16 + a·bl, each piece exact in a double (|piece| < 2^48).
  const bh = Math.floor(b / 65536);
  const bl = b - bh * 65536;
  const q1 = a * bh;
  const hi = Math.floor(q1 / 32768); // q1 = hi·2^15 + r1
  const r1 = q1 - hi * 32768;
  const negative = a * b < 0;
  const nudge = negative ? 1 - 2 ** 30 : 2 ** 30;
  // (a·b + nudge) / 2^31 = hi + rest / 2^31, with rest exact.
  const rest = r1 * 65536 + a * bl + nudge;
  const restDiv = rest / TWO31;
  // Integer division in C++ truncates toward zero.
  const value = hi + restDiv;
  return (value >= 0 ? hi + Math.floor(restDiv) : hi + Math.ceil(restDiv)) | 0;
}

/** gemmlowp RoundingDivideByPOT (round half away from zero). */
export function roundingDivideByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  const mask = (1 << exponent) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/** MultiplyByQuantizedMultiplier(int32 x, m0, shift). */
export function multiplyByQuantizedMultiplier(x: number, m: QuantizedMultiplier): number {
  const left = m.shift > 0 ? m.shift : 0;
  const right = m.shift > 0 ? 0 : -m.shift;
  let shifted = x * 2 ** left;
  if (shifted > INT32_MAX) shifted = INT32_MAX;
  else if (shifted < INT32_MIN) shifted = INT32_MIN;
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(shifted, m.m0), right);
}

/** Round half away from zero (std::round), which TFLite uses when quantizing; tf.round rounds half to even. */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/**
 * Requantize int32 accumulators in place: out = clamp(MBQM(acc, m[channel]) + zeroPoint, lo, hi),
 * channel = index mod channels (channels last).
 */
export function requantize(acc: Float32Array | Int32Array, multipliers: QuantizedMultiplier[], zeroPoint: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array(acc.length);
  const c = multipliers.length;
  for (let i = 0; i < acc.length; i++) {
    const v = multiplyByQuantizedMultiplier(acc[i], multipliers[c === 1 ? 0 : i % c]) + zeroPoint;
    out[i] = v < lo ? lo : v > hi ? hi : v;
  }
  return out;
}
