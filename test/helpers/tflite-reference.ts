/**
 * An integer reference interpreter for the full-INT8 `.tflite` files PocketBench writes, written from
 * TFLite's reference kernels (tensorflow/lite/kernels/internal/reference/integer_ops/*.h) and
 * independent of the exporter's and LiteRT's code: it reads the file with the flatbuffer reader and
 * computes every operator in integers — int32 accumulation, per-channel requantization with TFLite's
 * fixed-point multiplier (QuantizeMultiplier → SaturatingRoundingDoublingHighMul →
 * RoundingDivideByPOT), fused activation clamps.
 *
 * It runs models whose input/output are int8 (which LiteRT.js cannot feed) as well as their float-I/O
 * twins (QUANTIZE / DEQUANTIZE at the edges).
 */
import { readTflite, type ReadModel, type ReadTensor } from '../../src-main/export/tflite/read';
import { F } from '../../src-main/export/tflite/schema';

const INT32_MIN = -(2 ** 31);
const TWO31 = 2 ** 31;

/** TFLite's QuantizeMultiplier: a real multiplier as a Q31 fixed-point value and a power-of-two shift. */
export function quantizeMultiplier(m: number): { multiplier: number; shift: number } {
  if (m === 0) return { multiplier: 0, shift: 0 };
  // frexp: m = q · 2^shift with q in [0.5, 1).
  let shift = Math.floor(Math.log2(Math.abs(m))) + 1;
  let q = m / 2 ** shift;
  if (Math.abs(q) >= 1) {
    q /= 2;
    shift++;
  } else if (Math.abs(q) < 0.5) {
    q *= 2;
    shift--;
  }
  let fixed = Math.round(q * TWO31);
  if (fixed === TWO31) {
    fixed /= 2;
    shift++;
  }
  if (shift < -31) return { multiplier: 0, shift: 0 };
  return { multiplier: fixed, shift };
}

/** (a · b · 2 + rounding) >> 32, exactly, with doubles (a, b are int32). */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return TWO31 - 1;
  const bh = Math.floor(b / 65536);
  const bl = b - bh * 65536;
  const hi = a * bh; // exact: |a| < 2^31, |bh| < 2^15
  const lo = a * bl; // exact
  const negative = (a < 0) !== (b < 0) && a !== 0 && b !== 0;
  const nudge = negative ? 1 - 2 ** 30 : 2 ** 30;
  // ab + nudge = q1 · 2^31 + rest, each part exact.
  const q1 = Math.floor(hi / 32768);
  const rest = (hi - q1 * 32768) * 65536 + lo + nudge;
  const f = q1 + Math.floor(rest / TWO31);
  const rem = rest - Math.floor(rest / TWO31) * TWO31;
  // C++ division truncates toward zero.
  return f < 0 && rem !== 0 ? f + 1 : f;
}

export function roundingDivideByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  const p = 2 ** exponent;
  const floor = Math.floor(x / p);
  const remainder = x - floor * p; // x & mask, in two's complement
  const threshold = Math.floor((p - 1) / 2) + (x < 0 ? 1 : 0);
  return floor + (remainder > threshold ? 1 : 0);
}

export function multiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(x * 2 ** left, multiplier), right);
}

type Buf = Int8Array | Float32Array;

function activationRange(act: number, scale: number, zp: number): [number, number] {
  const q = (v: number) => zp + Math.round(v / scale);
  if (act === 1) return [Math.max(-128, q(0)), 127];
  if (act === 3) return [Math.max(-128, q(0)), Math.min(127, q(6))];
  if (act === 2) return [Math.max(-128, q(-1)), Math.min(127, q(1))];
  return [-128, 127];
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function samePad(inSize: number, outSize: number, stride: number, dilation: number, k: number): number {
  const effective = (k - 1) * dilation + 1;
  return Math.max(0, Math.floor(((outSize - 1) * stride + effective - inSize) / 2));
}

export class TfliteReference {
  readonly model: ReadModel;
  private readonly consts = new Map<number, Buf | Int32Array>();

  constructor(bytes: Uint8Array) {
    this.model = readTflite(bytes, 'the reference model');
  }

  get inputTensor(): ReadTensor {
    return this.model.tensors[this.model.inputs[0]];
  }
  get outputTensor(): ReadTensor {
    return this.model.tensors[this.model.outputs[0]];
  }

  private constant(i: number): Int8Array | Int32Array | Float32Array {
    let c = this.consts.get(i);
    if (!c) {
      const t = this.model.tensors[i];
      const raw = this.model.buffers[t.buffer];
      const copy = raw.slice().buffer;
      c = t.type === 'INT8' ? new Int8Array(copy) : t.type === 'INT32' ? new Int32Array(copy) : new Float32Array(copy);
      this.consts.set(i, c);
    }
    return c;
  }

  /** Runs one sample. `input` is int8 for an int8-input model, float32 otherwise; returns the output tensor's values. */
  run(input: Int8Array | Float32Array): Int8Array | Float32Array {
    const values = new Map<number, Buf>();
    values.set(this.model.inputs[0], input);
    const { tensors } = this.model;
    const get = (i: number): Buf => values.get(i) ?? (this.constant(i) as Buf);
    for (const op of this.model.operators) {
      const out = tensors[op.outputs[0]];
      const o = op.options;
      const x = get(op.inputs[0]);
      const tin = tensors[op.inputs[0]];
      const qin = tin.quant;
      const qout = out.quant;
      let y: Buf;
      switch (op.op) {
        case 'QUANTIZE': {
          const r = new Int8Array(size(out.shape));
          if (x instanceof Float32Array) for (let i = 0; i < r.length; i++) r[i] = clamp(Math.round(x[i] / qout!.scale[0]) + qout!.zeroPoint[0], -128, 127);
          else {
            const { multiplier, shift } = quantizeMultiplier(qin!.scale[0] / qout!.scale[0]);
            for (let i = 0; i < r.length; i++) r[i] = clamp(multiplyByQuantizedMultiplier(x[i] - qin!.zeroPoint[0], multiplier, shift) + qout!.zeroPoint[0], -128, 127);
          }
          y = r;
          break;
        }
        case 'DEQUANTIZE': {
          y = Float32Array.from(x, (v) => (v - qin!.zeroPoint[0]) * qin!.scale[0]);
          break;
        }
        case 'CONV_2D':
        case 'DEPTHWISE_CONV_2D': {
          const depthwise = op.op === 'DEPTHWISE_CONV_2D';
          const slots = depthwise ? F.DepthwiseConv2DOptions : F.Conv2DOptions;
          const w = this.constant(op.inputs[1]) as Int8Array;
          const bias = this.constant(op.inputs[2]) as Int32Array;
          const wq = tensors[op.inputs[1]].quant!;
          const [, ih, iw, ic] = tin.shape;
          const [, oh, ow, oc] = out.shape;
          const ws = tensors[op.inputs[1]].shape;
          const [kh, kw] = [ws[1], ws[2]];
          const strideW = o!.int32(slots.stride_w);
          const strideH = o!.int32(slots.stride_h);
          const dilW = o!.int32(slots.dilation_w_factor, 1);
          const dilH = o!.int32(slots.dilation_h_factor, 1);
          const same = o!.int8(slots.padding) === 0;
          const padH = same ? samePad(ih, oh, strideH, dilH, kh) : 0;
          const padW = same ? samePad(iw, ow, strideW, dilW, kw) : 0;
          const act = o!.int8(slots.fused_activation_function);
          const [lo, hi] = activationRange(act, qout!.scale[0], qout!.zeroPoint[0]);
          const inOff = -qin!.zeroPoint[0];
          const mults = Array.from({ length: oc }, (_, c) => quantizeMultiplier((qin!.scale[0] * wq.scale[wq.scale.length > 1 ? c : 0]) / qout!.scale[0]));
          const mult = depthwise ? oc / ic : 1;
          const r = new Int8Array(oh * ow * oc);
          for (let oy = 0; oy < oh; oy++)
            for (let ox = 0; ox < ow; ox++)
              for (let c = 0; c < oc; c++) {
                let acc = 0;
                for (let ky = 0; ky < kh; ky++) {
                  const iy = oy * strideH - padH + ky * dilH;
                  if (iy < 0 || iy >= ih) continue;
                  for (let kx = 0; kx < kw; kx++) {
                    const ix = ox * strideW - padW + kx * dilW;
                    if (ix < 0 || ix >= iw) continue;
                    const base = (iy * iw + ix) * ic;
                    if (depthwise) acc += (x[base + Math.floor(c / mult)] + inOff) * w[(ky * kw + kx) * oc + c];
                    else {
                      const wb = ((c * kh + ky) * kw + kx) * ic;
                      for (let i = 0; i < ic; i++) acc += (x[base + i] + inOff) * w[wb + i];
                    }
                  }
                }
                acc += bias[c];
                const v = multiplyByQuantizedMultiplier(acc, mults[c].multiplier, mults[c].shift) + qout!.zeroPoint[0];
                r[(oy * ow + ox) * oc + c] = clamp(v, lo, hi);
              }
          y = r;
          break;
        }
        case 'FULLY_CONNECTED': {
          const w = this.constant(op.inputs[1]) as Int8Array;
          const bias = this.constant(op.inputs[2]) as Int32Array;
          const wq = tensors[op.inputs[1]].quant!;
          const [nout, nin] = tensors[op.inputs[1]].shape;
          const [lo, hi] = activationRange(o!.int8(F.FullyConnectedOptions.fused_activation_function), qout!.scale[0], qout!.zeroPoint[0]);
          const inOff = -qin!.zeroPoint[0];
          const r = new Int8Array(nout);
          for (let c = 0; c < nout; c++) {
            let acc = bias[c];
            for (let i = 0; i < nin; i++) acc += (x[i] + inOff) * w[c * nin + i];
            const { multiplier, shift } = quantizeMultiplier((qin!.scale[0] * wq.scale[wq.scale.length > 1 ? c : 0]) / qout!.scale[0]);
            r[c] = clamp(multiplyByQuantizedMultiplier(acc, multiplier, shift) + qout!.zeroPoint[0], lo, hi);
          }
          y = r;
          break;
        }
        case 'MAX_POOL_2D':
        case 'AVERAGE_POOL_2D': {
          const s = F.Pool2DOptions;
          const [, ih, iw, c] = tin.shape;
          const [, oh, ow] = out.shape;
          const fh = o!.int32(s.filter_height);
          const fw = o!.int32(s.filter_width);
          const sh = o!.int32(s.stride_h);
          const sw = o!.int32(s.stride_w);
          const same = o!.int8(s.padding) === 0;
          const padH = same ? samePad(ih, oh, sh, 1, fh) : 0;
          const padW = same ? samePad(iw, ow, sw, 1, fw) : 0;
          const [lo, hi] = activationRange(o!.int8(s.fused_activation_function), qout!.scale[0], qout!.zeroPoint[0]);
          const r = new Int8Array(oh * ow * c);
          for (let oy = 0; oy < oh; oy++)
            for (let ox = 0; ox < ow; ox++)
              for (let ch = 0; ch < c; ch++) {
                let acc = op.op === 'MAX_POOL_2D' ? -128 : 0;
                let n = 0;
                for (let ky = 0; ky < fh; ky++)
                  for (let kx = 0; kx < fw; kx++) {
                    const iy = oy * sh - padH + ky;
                    const ix = ox * sw - padW + kx;
                    if (iy < 0 || iy >= ih || ix < 0 || ix >= iw) continue;
                    const v = x[(iy * iw + ix) * c + ch];
                    if (op.op === 'MAX_POOL_2D') acc = Math.max(acc, v);
                    else acc += v;
                    n++;
                  }
                if (op.op === 'AVERAGE_POOL_2D') acc = acc > 0 ? Math.trunc((acc + Math.floor(n / 2)) / n) : Math.trunc((acc - Math.floor(n / 2)) / n);
                r[(oy * ow + ox) * c + ch] = clamp(acc, lo, hi);
              }
          y = r;
          break;
        }
        case 'MEAN': {
          const [, ih, iw, c] = tin.shape;
          const n = ih * iw;
          const { multiplier, shift } = quantizeMultiplier(qin!.scale[0] / (qout!.scale[0] * n));
          const r = new Int8Array(c);
          for (let ch = 0; ch < c; ch++) {
            let acc = 0;
            for (let p = 0; p < n; p++) acc += x[p * c + ch] - qin!.zeroPoint[0];
            r[ch] = clamp(multiplyByQuantizedMultiplier(acc, multiplier, shift) + qout!.zeroPoint[0], -128, 127);
          }
          y = r;
          break;
        }
        case 'ADD': {
          const x2 = get(op.inputs[1]);
          const q2 = tensors[op.inputs[1]].quant!;
          const leftShift = 20;
          const twiceMax = 2 * Math.max(qin!.scale[0], q2.scale[0]);
          const m1 = quantizeMultiplier(qin!.scale[0] / twiceMax);
          const m2 = quantizeMultiplier(q2.scale[0] / twiceMax);
          const mo = quantizeMultiplier(twiceMax / (2 ** leftShift * qout!.scale[0]));
          const [lo, hi] = activationRange(o!.int8(F.AddOptions.fused_activation_function), qout!.scale[0], qout!.zeroPoint[0]);
          const r = new Int8Array(x.length);
          for (let i = 0; i < r.length; i++) {
            const a = multiplyByQuantizedMultiplier((x[i] - qin!.zeroPoint[0]) * 2 ** leftShift, m1.multiplier, m1.shift);
            const b = multiplyByQuantizedMultiplier((x2[i] - q2.zeroPoint[0]) * 2 ** leftShift, m2.multiplier, m2.shift);
            r[i] = clamp(multiplyByQuantizedMultiplier(a + b, mo.multiplier, mo.shift) + qout!.zeroPoint[0], lo, hi);
          }
          y = r;
          break;
        }
        case 'RESHAPE':
          y = x;
          break;
        case 'SOFTMAX': {
          const beta = o ? o.float32(F.SoftmaxOptions.beta, 1) : 1;
          const f = Array.from(x, (v) => (v - qin!.zeroPoint[0]) * qin!.scale[0] * beta);
          const max = Math.max(...f);
          const e = f.map((v) => Math.exp(v - max));
          const sum = e.reduce((a, b) => a + b, 0);
          y = Int8Array.from(e, (v) => clamp(Math.round(v / sum / qout!.scale[0]) + qout!.zeroPoint[0], -128, 127));
          break;
        }
        case 'RELU':
        case 'RELU6': {
          const { multiplier, shift } = quantizeMultiplier(qin!.scale[0] / qout!.scale[0]);
          const [lo, hi] = activationRange(op.op === 'RELU' ? 1 : 3, qout!.scale[0], qout!.zeroPoint[0]);
          y = Int8Array.from(x, (v) => clamp(multiplyByQuantizedMultiplier(v - qin!.zeroPoint[0], multiplier, shift) + qout!.zeroPoint[0], lo, hi));
          break;
        }
        case 'PAD': {
          const pads = this.constant(op.inputs[1]) as Int32Array;
          const [, ih, iw, c] = tin.shape;
          const [, oh, ow] = out.shape;
          const r = new Int8Array(oh * ow * c).fill(qout!.zeroPoint[0]);
          for (let iy = 0; iy < ih; iy++)
            for (let ix = 0; ix < iw; ix++)
              for (let ch = 0; ch < c; ch++) r[((iy + pads[2]) * ow + ix + pads[4]) * c + ch] = x[(iy * iw + ix) * c + ch];
          y = r;
          break;
        }
        case 'CONCATENATION': {
          const axis = o!.int32(F.ConcatenationOptions.axis);
          const parts = op.inputs.map((i) => ({ data: get(i), shape: tensors[i].shape }));
          const outer = size(out.shape.slice(0, axis));
          const r = new Int8Array(size(out.shape));
          let at = 0;
          for (let k = 0; k < outer; k++)
            for (const p of parts) {
              const inner = size(p.shape.slice(axis));
              r.set(p.data.subarray(k * inner, (k + 1) * inner) as Int8Array, at);
              at += inner;
            }
          y = r;
          break;
        }
        default:
          throw new Error(`The reference interpreter has no ${op.op}.`);
      }
      values.set(op.outputs[0], y);
    }
    return values.get(this.model.outputs[0])!;
  }
}
