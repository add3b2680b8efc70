/**
 * `npx tsx bench/step-kernels.ts`: which kernels one training step (issue 3 student by default,
 * batch 64, Adam 1e-3, the pipeline's createTrainStep) runs on the active backend: per kernel its
 * count per step and the wall time spent inside it, measured by wrapping every registered kernel of
 * the backend (nothing is read back, unlike tf.profile, so times are not inflated; kernels that call
 * other kernels count those twice). The step's own wall and CPU time are printed too: the part not
 * inside kernels is the engine's bookkeeping (tape, tidy, tensor tracking). Diagnostic only: records
 * nothing. `--width 1` for the teacher, `--distill` for the distillation step's loss, `--steps N` (default 50);
 * `--template mobilenet|resnet --size 32|96 --batch N` for the CNN templates (stem stride 2 from 96 px);
 * `--warmup N` steps before timing (default 5); `--micro-batch N` overrides the memory planner's split; `--json` prints one JSON line (bench/native-speedup.ts reads it).
 * `--row N`: the step of row N of `npm run bench:peer` (bench/peer/rows.ts, e.g. 8: the Teachable Machine
 * MobileNetV2 α 0.35 at 224 px, batch 32) instead of a template.
 *
 * Where the kernels come from (student, wasm+native): the Identity are the engine cloning every
 * tensor it saves for the backward pass (Engine.saveTensorsForBackwardMode → Engine.clone, inside
 * tfjs-core), and Cast float32→float32 come from tfjs gradients and type matching: both share the
 * buffer on wasm (src-main/tf/lean-kernels.ts), so they cost the engine's bookkeeping only; Relu's
 * gradient is one PocketBenchReluGrad kernel; the Adam update is one PocketBenchAdam kernel
 * (src-main/tf/fused-adam.ts). `POCKETBENCH_LEAN_KERNELS=off` shows the stock kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc } from '@tensorflow/tfjs-core';
import { buildTemplate } from '../src-main/models';
import { createOptimizer, createTrainStep, type LossFn } from '../src-main/compress/train/step';
import { kdLoss } from '../src-main/compress/distill/losses';
import { initBackend } from '../src-main/tf';
import { buildRow, ROWS } from './peer/rows';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);

void (async () => {
  await import('@tensorflow/tfjs-layers');
  const { info } = await initBackend();
  const rowDef = args.includes('--row') ? ROWS.find((r) => r.row === flag('--row', 0)) : undefined;
  if (args.includes('--row') && !rowDef) throw new Error(`no peer row ${args[args.indexOf('--row') + 1]} (rows: ${ROWS.map((r) => r.row).join(', ')})`);
  const template = args.includes('--template') ? (args[args.indexOf('--template') + 1] as 'lenet' | 'mobilenet' | 'resnet') : 'lenet';
  const size = flag('--size', template === 'lenet' ? 28 : 32);
  const batch = flag('--batch', 64);
  const shape = [size, size, template === 'lenet' ? 1 : 3];
  const model = buildTemplate({ template, inputShape: shape, numClasses: 10, width: flag('--width', template === 'lenet' ? 0.25 : 1), seed: 2,
    ...(template === 'mobilenet' && size >= 96 ? { stemStride: 2 as const } : {}) } as never);
  const xs = tf.randomUniform([batch, ...shape]);
  // --distill: the distillation step (KD loss, T 4, α 0.9, teacher logits from the cache as a constant).
  const teacherLogits = tf.randomNormal([batch, 10], 0, 3) as tf.Tensor2D;
  const distill: LossFn = (x, y) => kdLoss({ teacherLogits, studentLogits: model.apply(x, { training: true }) as tf.Tensor2D, labels: y, temperature: 4, alpha: 0.9 });
  // --micro-batch N: samples per micro-batch instead of the memory planner's split (N = batch: one pass).
  const microBatch = flag('--micro-batch', 0);
  const step = createTrainStep(model, createOptimizer('adam', 1e-3), args.includes('--distill') ? distill : undefined, [], microBatch ? { microBatch } : {});
  const ys = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32');
  const run = rowDef ? (await buildRow(rowDef)).step : () => step(xs, ys);
  for (let i = 0; i < flag('--warmup', 5); i++) run();

  const spent = new Map<string, { n: number; ms: number }>();
  const backend = tf.getBackend();
  for (const k of tf.getKernelsForBackend(backend)) {
    const inner = k.kernelFunc;
    const timed = ((a: Parameters<KernelFunc>[0]) => {
      const t0 = performance.now();
      const out = inner(a);
      const s = spent.get(k.kernelName) ?? { n: 0, ms: 0 };
      s.n++;
      s.ms += performance.now() - t0;
      spent.set(k.kernelName, s);
      return out;
    }) as KernelFunc;
    tf.unregisterKernel(k.kernelName, backend);
    tf.registerKernel({ ...k, kernelFunc: timed });
  }
  run();
  spent.clear();
  const steps = flag('--steps', 50);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) run();
  const wall = (performance.now() - t0) / steps;
  const cpu = process.cpuUsage(cpu0);
  const rows = [...spent.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const inKernels = rows.reduce((t, [, s]) => t + s.ms, 0) / steps;
  const count = rows.reduce((t, [, s]) => t + s.n, 0) / steps;
  if (args.includes('--json')) {
    const kernels = Object.fromEntries(rows.map(([name, st]) => [name, { perStep: st.n / steps, msPerStep: st.ms / steps }]));
    console.log(JSON.stringify({ backend: info.name, threads: info.threads, kernelsPerStep: count, wallMs: wall, cpuMs: (cpu.user + cpu.system) / 1000 / steps, inKernelsMs: inKernels, kernels }));
    return;
  }
  console.log(`${info.name} (${info.threads ?? '?'} threads): ${count} kernels per step; per step ${wall.toFixed(2)} ms wall, ` +
    `${((cpu.user + cpu.system) / 1000 / steps).toFixed(2)} ms CPU, ${inKernels.toFixed(2)} ms inside kernels`);
  for (const [name, s] of rows) {
    console.log(`${name.padEnd(28)} ${String(s.n / steps).padStart(4)} × ${((s.ms / s.n) * 1000).toFixed(1).padStart(8)} µs = ${((s.ms / steps) * 1000).toFixed(0).padStart(6)} µs/step`);
  }
})();
