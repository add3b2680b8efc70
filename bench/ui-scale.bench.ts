/**
 * Issue 7 benchmark: with 2,000 runs and 10,000 benchmarks in the store, every list query takes
 * ≤ 50 ms and the Compare view renders in ≤ 500 ms (Chromium, real backend, browser mode).
 * Run: npm run bench -- ui-scale
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Store } from '../src-main/store';
import { launchBrowser, startBackend } from '../test/e2e/harness';
import { recordResult } from './results';

const RUNS = 2000;
const BENCHMARKS = 10_000;

function seed(file: string): void {
  const store = new Store(file);
  const devices = [
    store.devices.upsert('host', 'host', { model: 'This computer' }),
    store.devices.upsert('PIXEL7', 'android', { manufacturer: 'Google', model: 'Pixel 7', sdk: 34 }),
    store.devices.upsert('S21', 'android', { manufacturer: 'Samsung', model: 'Galaxy S21', sdk: 33 }),
    store.devices.upsert('A52', 'android', { manufacturer: 'Samsung', model: 'Galaxy A52', sdk: 31 }),
  ];
  const tflites: number[] = [];
  store.db.transaction(() => {
    for (let i = 0; i < RUNS; i++) {
      const runId = store.runs.create({
        name: `recipe ${i % 40}`,
        recipe: { stages: ['train-teacher', 'distill', 'quantize', 'export'] },
        recipeHash: `h${i % 40}`,
        seed: i,
        appVersion: 'bench',
        status: 'succeeded',
        stages: [{ kind: 'train-teacher' }, { kind: 'distill' }, { kind: 'quantize' }, { kind: 'export' }],
      });
      const teacher = store.artifacts.create({ runId, name: 'teacher', format: 'tfjs-layers', path: `/b/${i}/t/model.json`, contentHash: `t${i}`, bytes: 1_700_000, params: 420_000, metrics: { accuracy: 0.91 } });
      const student = store.artifacts.create({ runId, parentId: teacher, name: 'student', format: 'tfjs-layers', path: `/b/${i}/s/model.json`, contentHash: `s${i}`, bytes: 110_000, params: 27_000, metrics: { accuracy: 0.89 } });
      tflites.push(
        store.artifacts.create({ runId, parentId: student, name: 'student-int8.tflite', format: 'tflite', path: `/b/${i}.tflite`, contentHash: `q${i}`, bytes: 31_000, gzipBytes: 26_000, params: 27_000, precision: 'int8', metrics: { accuracy: 0.888, deployedAccuracy: 0.887 } }),
      );
    }
    for (let j = 0; j < BENCHMARKS; j++) {
      const b = store.benchmarks.create({ artifactId: tflites[j % tflites.length], deviceId: devices[j % devices.length], config: { threads: [1, 2, 4][j % 3], xnnpack: j % 5 !== 0, gpu: j % 7 === 0, nnapi: false } });
      const lat = 800 + (j % 97) * 10;
      store.benchmarks.finish(b, { status: 'succeeded', latencyUs: lat, ciLowUs: lat - 15, ciHighUs: lat + 15, cv: 0.02, peakMemMb: 10 + (j % 13) }, [{ meanUs: lat }, { meanUs: lat + 3 }, { meanUs: lat - 2 }]);
    }
  })();
  store.close();
}

function timeIt(fn: () => unknown, repeats = 5): number {
  fn(); // warm the statement cache
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-bench-ui-'));
const dbFile = path.join(dataDir, 'history.sqlite');
const t0 = performance.now();
seed(dbFile);
const seedS = (performance.now() - t0) / 1000;

const store = new Store(dbFile);
const lineage = store.compare.lineages()[0];
const queries: Record<string, () => unknown> = {
  'runs.list': () => store.runs.list({ limit: 200, offset: 0 }),
  'artifacts.list': () => store.artifacts.list({ limit: 500, offset: 0 }),
  'benchmarks.list': () => store.benchmarks.list({ limit: 100, offset: 0 }),
  'devices.list': () => store.devices.list(),
  'datasets.list': () => store.datasets.list(),
  // As the Compare view asks: the newest 300 rows, more on request.
  'compare.rows (default view)': () => store.compare.rows({ limit: 300, includeUnbenchmarked: true }),
  'compare.rows (device+delegate filter)': () => store.compare.rows({ limit: 300, deviceId: 2, delegate: 'xnnpack', includeUnbenchmarked: false }),
  'trends.lineages': () => store.compare.lineages(),
  'trends.series': () => store.compare.series({ runName: lineage.runName, artifactName: lineage.artifactName, deviceId: lineage.deviceId, metric: 'latencyUs' }),
};
const queryMs: Record<string, number> = {};
for (const [name, fn] of Object.entries(queries)) queryMs[name] = timeIt(fn);
store.close();

// Compare view render: navigation to #/compare until its table has rows, in Chromium.
const backend = await startBackend({}, dataDir);
const browser = await launchBrowser();
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
await page.goto(backend.url);
await page.getByTestId('status-db').waitFor();
const renders: number[] = [];
for (let i = 0; i < 5; i++) {
  await page.goto(new URL('#/runs', backend.url.split('#')[0]).href);
  await page.getByTestId('runs-table').waitFor();
  // Runs in the page (DOM globals), so it is passed as source text.
  const ms = (await page.evaluate(`(async () => {
    const t = performance.now();
    location.hash = '#/compare';
    for (;;) {
      await new Promise((r) => requestAnimationFrame(() => r(null)));
      const rows = document.querySelectorAll('[data-testid="compare-table"] tbody tr').length;
      const chart = document.querySelector('[data-testid="chart-latency"] canvas');
      if (rows > 0 && chart) return performance.now() - t;
    }
  })()`)) as number;
  renders.push(ms);
}
await browser.close();
await backend.stop();
fs.rmSync(dataDir, { recursive: true, force: true });

const slowest = Object.entries(queryMs).sort((a, b) => b[1] - a[1])[0];
renders.sort((a, b) => a - b);
recordResult('ui-scale', {
  figures: {
    compareRenderMsMedian: Number(renders[2].toFixed(1)),
    slowestListQueryMs: Number(slowest[1].toFixed(2)),
    slowestListQuery: slowest[0],
    ...Object.fromEntries(Object.entries(queryMs).map(([k, v]) => [`${k} ms`, Number(v.toFixed(2))])),
  },
  targets: { compareRenderMsMedian: '≤ 500', slowestListQueryMs: '≤ 50' },
  conditions: { runs: RUNS, artifacts: RUNS * 3, benchmarks: BENCHMARKS, trialsPerBenchmark: 3, renderRepeats: renders.length, seedSeconds: Number(seedS.toFixed(1)) },
});
