/**
 * `npx tsx bench/native-micro.ts [--teacher] [--reps N] [--threads N]`: the native add-on's kernels
 * alone on the shapes of one issue-3 training step (student 8/16/32 by default, --teacher for
 * 32/64/128), batch 64, without tfjs: median µs per call over N calls (default 200); `--only TEXT`
 * keeps the cases whose name contains TEXT (for a profiler). Diagnostic for
 * tuning the kernels; records nothing (the throughput figures come from bench:quick).
 */
import { loadNativeKernels } from '../src-main/tf/native';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const teacher = args.includes('--teacher');
const reps = flag('--reps', 200);
const { kernels: k, reason } = loadNativeKernels();
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

const cases: [string, () => void][] = [
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
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : '';
let total = 0;
for (const [name, fn] of cases.filter(([name]) => name.includes(only))) {
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
  console.log(`${name.padEnd(28)} ${med.toFixed(1).padStart(8)} µs  (p10 ${(times[Math.floor(reps * 0.1)] * 1000).toFixed(1)})`);
}
console.log(`${'total'.padEnd(28)} ${total.toFixed(1).padStart(8)} µs`);
