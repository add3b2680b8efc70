/**
 * `npx tsx bench/step-kernels.ts`: which kernels one student training step (issue 3 student,
 * batch 64, Adam 1e-3, the pipeline's createTrainStep) runs on the active backend, with counts and
 * tf.profile kernel times (profiling reads each kernel back, so times are inflated; use counts to
 * find per-op overhead, bench:quick for throughput). Diagnostic only: records nothing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { buildTemplate } from '../src-main/models';
import { createOptimizer, createTrainStep } from '../src-main/compress/train/step';
import { initBackend } from '../src-main/tf';
const BASE = { template: 'lenet' as const, inputShape: [28, 28, 1], numClasses: 10 };
void (async () => {
  await import('@tensorflow/tfjs-layers');
  const { info } = await initBackend();
  const student = buildTemplate({ ...BASE, width: 0.25, seed: 2 });
  const step = createTrainStep(student, createOptimizer('adam', 1e-3));
  const xs = tf.randomUniform([64, 28, 28, 1]); const ys = tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 10), 'int32');
  for (let i = 0; i < 3; i++) step(xs, ys);
  const p = await tf.profile(() => { step(xs, ys); });
  const counts: Record<string, { n: number; ms: number }> = {};
  for (const k of p.kernels) { const c = (counts[k.name] ??= { n: 0, ms: 0 }); c.n++; c.ms += Number(k.kernelTimeMs) || 0; }
  console.log(JSON.stringify(info), 'kernels', p.kernels.length);
  console.log(Object.entries(counts).sort((a, b) => b[1].n - a[1].n).map(([k, v]) => `${k} ${v.n} ${v.ms.toFixed(2)}ms`).join('\n'));
})();
