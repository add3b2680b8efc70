/**
 * `npx tsx bench/native-speedup.ts [--base DIR] [--rounds N]`: the native kernels' effect on a
 * MobileNet-template training step (width 1, batch 64, Adam), at 32×32×3 (stem stride 1) and 96×96×3
 * (stem stride 2), kernel by kernel: bench/step-kernels.ts runs in a fresh process on this tree and on
 * a checkout of the commit before (`--base`, default /tmp/pb-base: `git archive <commit> | tar -x`,
 * node_modules linked, `npm run build:native`, and this tree's bench/step-kernels.ts copied in),
 * alternating base, new, base, new... in one run, so both see the same machine load. Records medians
 * per kernel family and per kernel under `native-kernels-step` in bench/results.json.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { recordResult } from './results';

interface StepRun {
  backend: string;
  threads: number | null;
  kernelsPerStep: number;
  wallMs: number;
  cpuMs: number;
  inKernelsMs: number;
  kernels: Record<string, { perStep: number; msPerStep: number }>;
}

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const base = path.resolve(opt('--base', '/tmp/pb-base'));
const here = path.resolve(import.meta.dirname, '..');
const rounds = Number(opt('--rounds', '2'));

if (!fs.existsSync(path.join(base, 'out', 'native'))) throw new Error(`no built base checkout at ${base} (see the header of this file)`);
fs.copyFileSync(path.join(here, 'bench', 'step-kernels.ts'), path.join(base, 'bench', 'step-kernels.ts'));

/** Kernel families; in this model the small element-wise ops all come from BatchNormalization's tfjs op chain. */
const FAMILY: [string, RegExp][] = [
  ['batchNorm', /BatchNorm|^Tile$|^Sub$|^Square$|^RealDiv$|^Multiply$|^Add$|^Rsqrt$|^Neg$|^Sum$/],
  ['relu6', /Relu6|ReluGrad|^Relu$|ClipByValue|LessEqual|GreaterEqual|LogicalAnd|^Select$|ZerosLike|ClipGrad/],
  ['depthwise', /Depthwise/],
  ['conv', /Conv2D/],
  ['gap', /^Mean$|MeanGrad/],
];
const familyOf = (kernel: string) => FAMILY.find(([, re]) => re.test(kernel))?.[0] ?? 'other';

function run(dir: string, size: number, steps: number): StepRun {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/step-kernels.ts', '--template', 'mobilenet', '--size', String(size), '--batch', '64',
    '--steps', String(steps), '--warmup', '2', '--micro-batch', '64', '--json'], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 24 });
  return JSON.parse(out.trim().split('\n').pop()!) as StepRun;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r2 = (x: number) => Math.round(x * 100) / 100;

const figures: Record<string, number | string> = {};
const conditions: Record<string, unknown> = { model: 'mobilenet template, width 1, 10 classes', batch: 64, optimizer: 'adam 1e-3', rounds,
  order: 'base, new alternating, each in a fresh process',
  microBatch: '64 (one pass: the memory planner of this tree would split the step, the base does not; kernels are compared, not plans)', families: Object.fromEntries(FAMILY.map(([f, re]) => [f, re.source])) };
for (const [size, steps] of [[32, 3], [96, 2]] as const) {
  const runs: Record<'base' | 'new', StepRun[]> = { base: [], new: [] };
  for (let i = 0; i < rounds; i++) {
    for (const which of ['base', 'new'] as const) {
      const r = run(which === 'base' ? base : here, size, steps);
      runs[which].push(r);
      console.log(`${size}px ${which}: ${r.wallMs.toFixed(0)} ms wall, ${r.cpuMs.toFixed(0)} ms CPU, ${r.kernelsPerStep} kernels (${r.backend}, ${r.threads} threads)`);
    }
  }
  conditions[`${size}px`] = { input: [size, size, 3], stemStride: size >= 96 ? 2 : 1, stepsPerRun: steps, threads: runs.new[0].threads };
  const key = `${size}px`;
  for (const which of ['base', 'new'] as const) {
    figures[`${key} ${which} wall ms/step`] = r2(median(runs[which].map((r) => r.wallMs)));
    figures[`${key} ${which} CPU ms/step`] = r2(median(runs[which].map((r) => r.cpuMs)));
    figures[`${key} ${which} kernels/step`] = runs[which][0].kernelsPerStep;
  }
  figures[`${key} step speedup (wall)`] = r2(figures[`${key} base wall ms/step`] as number / (figures[`${key} new wall ms/step`] as number));
  const families = (r: StepRun) => {
    const f: Record<string, number> = {};
    for (const [name, k] of Object.entries(r.kernels)) f[familyOf(name)] = (f[familyOf(name)] ?? 0) + k.msPerStep;
    return f;
  };
  for (const [family] of [...FAMILY, ['other']] as [string][]) {
    const b = median(runs.base.map((r) => families(r)[family] ?? 0));
    const n = median(runs.new.map((r) => families(r)[family] ?? 0));
    figures[`${key} ${family} base ms/step`] = r2(b);
    figures[`${key} ${family} new ms/step`] = r2(n);
    if (n > 0) figures[`${key} ${family} speedup`] = r2(b / n);
  }
  // Per kernel name, the ones that take at least 1 ms per step on either side.
  const names = new Set([...runs.base, ...runs.new].flatMap((r) => Object.keys(r.kernels)));
  for (const name of names) {
    const b = median(runs.base.map((r) => r.kernels[name]?.msPerStep ?? 0));
    const n = median(runs.new.map((r) => r.kernels[name]?.msPerStep ?? 0));
    if (Math.max(b, n) >= 1) figures[`${key} kernel ${name} ms/step base→new`] = `${r2(b)} → ${r2(n)}`;
  }
}
recordResult('native-kernels-step', { figures, conditions });
