/**
 * `npx tsx bench/native-micro.ts [--teacher] [--reps N] [--threads N]`: the native add-on's kernels
 * alone on the shapes of one issue-3 training step (student 8/16/32 by default, --teacher for
 * 32/64/128), batch 64, without tfjs: median µs per call over N calls (default 200); `--only TEXT`
 * keeps the cases whose name contains TEXT (for a profiler); `--mnv2` for MobileNetV2 α 0.35 224 px shapes,
 * `--resnet` for the ResNet template's 3×3 convolutions at 32 px (convolutions also print GFLOP/s). Diagnostic for
 * tuning the kernels; records nothing (the throughput figures come from bench:quick).
 */
import { createRequire } from 'node:module';
import { type NativeKernels, loadNativeKernels } from '../src-main/tf/native';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const teacher = args.includes('--teacher');
const reps = flag('--reps', 200);
// `--addon PATH`: an add-on built from another commit (for before/after figures), loaded as is.
const addon = args.includes('--addon') ? args[args.indexOf('--addon') + 1] : '';
const { kernels: k, reason } = addon ? { kernels: createRequire(import.meta.url)(addon) as NativeKernels, reason: '' } : loadNativeKernels();
if (!k) throw new Error(reason);
k.setThreads(flag('--threads', 2));

const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
const B = 64;
const [c1, c2, d1] = teacher ? [32, 64, 128] : [8, 16, 32];
// geometry: B H W Ci OH OW Co FH FW SH SW DH DW PT PL
const g1 = [B, 28, 28, 1, 26, 26, c1, 3, 3, 1, 1, 1, 1, 0, 0];
const p1 = [B, 26, 26, c1, 13, 13, c1, 2, 2, 2, 2, 1, 1, 0, 0];
const g2 = [B, 13, 13, c1, 11, 11, c2, 3, 3, 1, 1, 1, 1, 0, 0];
const p2 = [B, 11, 11, c2, 5, 5, c2, 2, 2, 2, 2, 1, 1, 0, 0];
const x0 = rand(B * 28 * 28), w1 = rand(9 * c1), b1 = rand(c1), y1 = new Float32Array(B * 26 * 26 * c1);
const q1 = new Float32Array(B * 13 * 13 * c1), w2 = rand(9 * c1 * c2), b2 = rand(c2), y2 = new Float32Array(B * 121 * c2);
const q2 = new Float32Array(B * 25 * c2), dy2 = rand(B * 121 * c2), dq1 = new Float32Array(q1.length), dw2 = new Float32Array(w2.length);
const dw1 = new Float32Array(w1.length), dy1 = rand(y1.length), dp1 = rand(q1.length), dx1 = new Float32Array(y1.length);
const dp2 = rand(q2.length), dx2 = new Float32Array(y2.length);
const flat = 25 * c2, wd = rand(flat * d1), hd = new Float32Array(B * d1), gd = rand(B * d1), dwd = new Float32Array(wd.length);
const sums = new Float32Array(c1);
y1.set(rand(y1.length));
y2.set(rand(y2.length));

/** Name, call, and its floating-point operations (2 per MAC) when it is a convolution. */
type Case = [string, () => void, number?];
const lenetCases: Case[] = [
  ['conv1 forward (+bias relu)', () => k.conv2d(x0, w1, b1, y1, 1, ...g1)],
  ['pool1 forward', () => k.maxPool(y1, q1, ...p1)],
  ['conv2 forward (+bias relu)', () => k.conv2d(q1, w2, b2, y2, 1, ...g2)],
  ['pool2 forward', () => k.maxPool(y2, q2, ...p2)],
  ['dense1 forward', () => k.matmul(q2, wd, b1.length === d1 ? b1 : null, hd, 0, 1, B, d1, flat, 0, 0, 0, 0)],
  ['dense1 dW', () => k.matmul(q2, gd, null, dwd, 0, 1, flat, d1, B, 1, 0, 0, 0)],
  ['pool2 grad', () => k.maxPoolGrad(dp2, y2, dx2, ...p2)],
  ['conv2 dW', () => k.conv2dBackpropFilter(q1, dy2, dw2, ...g2)],
  ['conv2 dX', () => k.conv2dBackpropInput(dy2, w2, dq1, ...g2)],
  ['pool1 grad', () => k.maxPoolGrad(dp1, y1, dx1, ...p1)],
  ['conv1 dW', () => k.conv2dBackpropFilter(x0, dy1, dw1, ...g1)],
  ['conv1 bias grad', () => k.sumRows(dy1, sums, B * 26 * 26, c1)],
  ['conv1 add bias', () => k.addBias(y1, b1, dx1, B * 26 * 26, c1)],
];
/**
 * `--mnv2`: the layer shapes of a MobileNetV2 α 0.35 at 224×224 (Teachable Machine's architecture),
 * batch `--batch` (default 32): forward, input gradient and filter gradient of each, plus the
 * batch-norm, ReLU6 and GAP kernels of the 112×112 block.
 */
function mnv2Cases(): Case[] {
  const b = flag('--batch', 32);
  const out: Case[] = [];
  // name, H, W, Ci, Co, filter, stride, padTop, padLeft, depthwise
  const layers: [string, number, number, number, number, number, number, number, number, boolean][] = [
    ['stem 3x3/2 224x224x3→16', 224, 224, 3, 16, 3, 2, 0, 0, false],
    ['dw 3x3 112x112x16', 112, 112, 16, 16, 3, 1, 1, 1, true],
    ['pw 112x112 16→8', 112, 112, 16, 8, 1, 1, 0, 0, false],
    ['pw 112x112 8→48', 112, 112, 8, 48, 1, 1, 0, 0, false],
    ['dw 3x3/2 113x113x48 (padded)', 113, 113, 48, 48, 3, 2, 0, 0, true],
    ['pw 56x56 48→8', 56, 56, 48, 8, 1, 1, 0, 0, false],
    ['dw 3x3 14x14x144', 14, 14, 144, 144, 3, 1, 1, 1, true],
    ['pw 14x14 144→24', 14, 14, 144, 24, 1, 1, 0, 0, false],
    ['pw 7x7 112→1280', 7, 7, 112, 1280, 1, 1, 0, 0, false],
  ];
  for (const [name, H, W, ci, co, f, st, pt, pl, dw] of layers) {
    const oh = Math.floor((H + (f === 3 && !dw && st === 2 ? 1 : 2 * pt) - f) / st) + 1;
    const ow = Math.floor((W + (f === 3 && !dw && st === 2 ? 1 : 2 * pl) - f) / st) + 1;
    const g = [b, H, W, ci, oh, ow, co, f, f, st, st, 1, 1, pt, pl];
    const x = rand(b * H * W * ci), y = new Float32Array(b * oh * ow * co), dy = rand(y.length), dx = new Float32Array(x.length);
    const w = rand(f * f * (dw ? co : ci * co)), dwt = new Float32Array(w.length);
    const flops = 2 * b * oh * ow * co * f * f * (dw ? 1 : ci);
    if (dw) {
      out.push([`${name} fwd`, () => k!.depthwise(x, w, null, y, 0, 1, ...g), flops], [`${name} dX`, () => k!.depthwiseBackpropInput(dy, w, dx, 1, ...g), flops],
        [`${name} dW`, () => k!.depthwiseBackpropFilter(x, dy, dwt, 1, ...g), flops]);
    } else {
      out.push([`${name} fwd`, () => k!.conv2d(x, w, null, y, 0, ...g), flops], [`${name} dX`, () => k!.conv2dBackpropInput(dy, w, dx, ...g), flops],
        [`${name} dW`, () => k!.conv2dBackpropFilter(x, dy, dwt, ...g), flops]);
    }
  }
  const R = b * 112 * 112, C = 16, x = rand(R * C), y = new Float32Array(R * C), dy = rand(R * C), gamma = rand(C), beta = rand(C);
  const mean = new Float32Array(C), variance = new Float32Array(C), dg = new Float32Array(C), db = new Float32Array(C), gap = new Float32Array(b * C);
  if (typeof k!.batchNormTrain === 'function') {
    out.push(['bn train 112x112x16', () => k!.batchNormTrain(x, gamma, beta, y, mean, variance, R, C, 1e-3)],
      ['bn grad 112x112x16', () => k!.batchNormGrad(dy, x, mean, variance, gamma, y, dg, db, R, C, 1e-3)],
      ['relu6 grad 112x112x16', () => k!.relu6Grad(dy, x, y)], ['gap 112x112x16', () => k!.meanMiddle(x, gap, b, 112 * 112, C)]);
  }
  return out;
}

/** `--resnet`: the 3×3 convolutions of the ResNet template at 32×32 (bench:peer row 5), batch `--batch` (default 64). */
function resnetCases(): Case[] {
  const b = flag('--batch', 64);
  const out: Case[] = [];
  // name, H, Ci, Co, stride ('same' padding: stride 1 pads 1/1, stride 2 on an even size pads 0/1)
  const layers: [string, number, number, number, number][] = [
    ['stem 32x32 3→16', 32, 3, 16, 1], ['3x3 32x32 16→16', 32, 16, 16, 1], ['3x3/2 32→16 16→32', 32, 16, 32, 2],
    ['3x3 16x16 32→32', 16, 32, 32, 1], ['3x3/2 16→8 32→64', 16, 32, 64, 2], ['3x3 8x8 64→64', 8, 64, 64, 1],
  ];
  for (const [name, H, ci, co, st] of layers) {
    const oh = H / st, pad = st === 1 ? 1 : 0;
    const g = [b, H, H, ci, oh, oh, co, 3, 3, st, st, 1, 1, pad, pad];
    const x = rand(b * H * H * ci), y = new Float32Array(b * oh * oh * co), dy = rand(y.length), dx = new Float32Array(x.length);
    const w = rand(9 * ci * co), dwt = new Float32Array(w.length), flops = 2 * b * oh * oh * co * 9 * ci;
    out.push([`${name} fwd`, () => k!.conv2d(x, w, null, y, 0, ...g), flops], [`${name} dX`, () => k!.conv2dBackpropInput(dy, w, dx, ...g), flops],
      [`${name} dW`, () => k!.conv2dBackpropFilter(x, dy, dwt, ...g), flops]);
  }
  return out;
}

const cases = args.includes('--mnv2') ? mnv2Cases() : args.includes('--resnet') ? resnetCases() : lenetCases;
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : '';
let total = 0;
for (const [name, fn, flops] of cases.filter(([name]) => name.includes(only))) {
  for (let i = 0; i < 10; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const med = times[times.length >> 1] * 1000;
  total += med;
  const rate = flops ? `  ${(flops / med / 1e3).toFixed(1).padStart(6)} GFLOP/s` : '';
  console.log(`${name.padEnd(32)} ${med.toFixed(1).padStart(8)} µs  (p10 ${(times[Math.floor(reps * 0.1)] * 1000).toFixed(1)})${rate}`);
}
console.log(`${'total'.padEnd(28)} ${total.toFixed(1).padStart(8)} µs`);
