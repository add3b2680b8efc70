/**
 * First run on a machine without Fashion-MNIST (issue 20): how much the download and the SHA-256
 * checks add to a finished `pocketbench demo`, with the four files served from a local mirror
 * (Debian's copies over loopback HTTP). Target: download + verification add ≤ 5 s.
 *
 * Measured three ways:
 * 1. `ensureFashionMnist` alone into empty folders (download + verify), median of 3;
 * 2. the real CLI (`bin/pocketbench.js demo`, built by `npm run build`) on an empty data folder
 *    and an empty dataset folder: total wall time, and when training started (the first progress
 *    line with a batch counter, which comes after the data is loaded);
 * 3. the same demo with the dataset present (a fresh data folder too): when training started.
 * The difference of the start times is what the first run adds; whole-demo times differ by tens of
 * seconds from run to run on a shared machine, so they are recorded but not subtracted. 2 and 3
 * run interleaved, twice each. `--no-demo` skips them (they take minutes).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEBIAN_FASHION_MNIST_DIR, ensureFashionMnist, FASHION_MNIST_FILES } from '../src-main/data/fashion-mnist-download';
import { startFileServer } from '../test/helpers/file-server';
import { recordResult } from './results';

const root = path.resolve(import.meta.dirname, '..');
const withDemo = !process.argv.includes('--no-demo');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-first-run-'));
const files: Record<string, Buffer> = {};
for (const f of FASHION_MNIST_FILES) files[`/fm/${f.name}`] = fs.readFileSync(path.join(DEBIAN_FASHION_MNIST_DIR, f.name));
const served = Object.values(files).reduce((a, b) => a + b.length, 0);
const server = await startFileServer(files);
const mirror = `${server.url}/fm`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// 1. Download + verify alone.
const direct: number[] = [];
process.env.POCKETBENCH_DATASET_MIRROR = mirror;
for (let i = 0; i < 3; i++) {
  process.env.POCKETBENCH_FASHION_MNIST_DIR = path.join(tmp, `direct-${i}`);
  const t0 = performance.now();
  await ensureFashionMnist(undefined);
  direct.push(performance.now() - t0);
}
delete process.env.POCKETBENCH_FASHION_MNIST_DIR;
delete process.env.POCKETBENCH_DATASET_MIRROR;
console.log(`download + verify of ${(served / 1e6).toFixed(1)} MB from a loopback mirror: median ${median(direct).toFixed(0)} ms (${direct.map((x) => x.toFixed(0)).join(', ')})`);

interface DemoRun {
  wallS: number;
  runStatus: string;
  /** Seconds from the command's start to the first progress line of training (not the download's). */
  trainingStartS: number | null;
  downloadLines: number;
}

/** One `pocketbench demo`, its stderr lines timestamped. */
function demo(dataDir: string, fmDir: string): Promise<DemoRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const lines: { t: number; text: string }[] = [];
    const child = spawn(process.execPath, [path.join(root, 'bin', 'pocketbench.js'), 'demo', '--json'], {
      cwd: root,
      env: { ...process.env, POCKETBENCH_DATA_DIR: dataDir, POCKETBENCH_FASHION_MNIST_DIR: fmDir, POCKETBENCH_DATASET_MIRROR: mirror },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let pending = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      pending += d;
      const parts = pending.split('\n');
      pending = parts.pop()!;
      for (const text of parts) lines.push({ t: (performance.now() - t0) / 1000, text });
    });
    child.on('error', reject);
    child.on('close', (status) => {
      const wallS = (performance.now() - t0) / 1000;
      // Training has begun at the first line with a batch counter (after the data is loaded, in both cases).
      const training = lines.find((l) => l.text.startsWith('stage ') && / batch \d+\//.test(l.text));
      if (process.env.FIRST_RUN_BENCH_DEBUG) for (const l of lines.slice(0, 12)) console.log(`  ${l.t.toFixed(2)} s  ${l.text.slice(0, 120)}`);
      let runStatus: string;
      try {
        runStatus = (JSON.parse(out) as { status: string }).status;
      } catch {
        runStatus = `no JSON (exit ${status}): ${lines.slice(-3).map((l) => l.text).join(' | ')}`;
      }
      resolve({ wallS, runStatus, trainingStartS: training ? training.t : null, downloadLines: lines.filter((l) => l.text.includes('dataset download')).length });
    });
  });
}

const figures: Record<string, number | string | null> = {
  servedMB: Number((served / 1e6).toFixed(1)),
  downloadVerifyMedianMs: Math.round(median(direct)),
  downloadVerifyRunsMs: direct.map((x) => Math.round(x)).join(', '),
};
if (withDemo) {
  if (!fs.existsSync(path.join(root, 'out', 'main', 'cli.js'))) throw new Error('Run `npm run build` first: the demo runs the built CLI.');
  const present = path.join(tmp, 'fm-present');
  await (async () => {
    process.env.POCKETBENCH_DATASET_MIRROR = mirror;
    process.env.POCKETBENCH_FASHION_MNIST_DIR = present;
    await ensureFashionMnist(undefined);
    delete process.env.POCKETBENCH_FASHION_MNIST_DIR;
    delete process.env.POCKETBENCH_DATASET_MIRROR;
  })();
  const first: DemoRun[] = [];
  const warm: DemoRun[] = [];
  for (let i = 0; i < 2; i++) {
    first.push(await demo(path.join(tmp, `data-first-${i}`), path.join(tmp, `fm-empty-${i}`)));
    console.log(`demo without the dataset: ${first[i].wallS.toFixed(1)} s (${first[i].runStatus}), training from ${first[i].trainingStartS?.toFixed(2)} s, ${first[i].downloadLines} download progress lines`);
    warm.push(await demo(path.join(tmp, `data-warm-${i}`), present));
    console.log(`demo with the dataset present: ${warm[i].wallS.toFixed(1)} s (${warm[i].runStatus}), training from ${warm[i].trainingStartS?.toFixed(2)} s`);
  }
  const starts = (runs: DemoRun[]) => runs.map((r) => r.trainingStartS ?? NaN);
  const added = first.map((r, i) => (r.trainingStartS ?? NaN) - (warm[i].trainingStartS ?? NaN));
  Object.assign(figures, {
    demoFirstRunS: first.map((r) => r.wallS.toFixed(1)).join(', '),
    demoWithDatasetS: warm.map((r) => r.wallS.toFixed(1)).join(', '),
    demoStatuses: [...first, ...warm].map((r) => r.runStatus).join(', '),
    demoTrainingStartFirstRunS: starts(first).map((x) => x.toFixed(2)).join(', '),
    demoTrainingStartWithDatasetS: starts(warm).map((x) => x.toFixed(2)).join(', '),
    demoAddedByDownloadS: added.map((x) => x.toFixed(2)).join(', '),
    demoAddedByDownloadMaxS: Number(Math.max(...added).toFixed(2)),
    demoDownloadProgressLines: first[0].downloadLines,
  });
}
await server.close();
fs.rmSync(tmp, { recursive: true, force: true });

recordResult('first-run', {
  figures,
  targets: { downloadVerifyAdded: '≤ 5 s on loopback' },
  conditions: {
    mirror: 'local HTTP server on 127.0.0.1 serving Debian dataset-fashion-mnist files',
    files: FASHION_MNIST_FILES.map((f) => f.name),
    demo: withDemo
      ? 'bin/pocketbench.js demo --json, fresh POCKETBENCH_DATA_DIR each run; first runs with an empty POCKETBENCH_FASHION_MNIST_DIR, interleaved with runs that have it; 2 each'
      : 'skipped (--no-demo)',
  },
  reduced: !withDemo,
});
