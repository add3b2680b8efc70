/**
 * Issue 13 benchmark: import time of each shared Teachable Machine export (target ≤ 3 s each on this
 * machine): `importModel` (read, flatten, build, copy weights, labels and convention) and the whole
 * `pocketbench import` path (plus saving the artifact, its summary and gzip size). The first import
 * in a process also pays for loading h5wasm and the backend: reported apart as "cold".
 * The float .tflite export goes through the same `importModel` entry (bench/import-tflite.bench.ts has its own detail).
 * Run: npm run bench -- import
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { importModelArtifact } from '../src-main/compress/train/import-artifact';
import { resolvePaths } from '../src-main/host/paths';
import { importModel } from '../src-main/models/import';
import { Store } from '../src-main/store';
import { initBackend } from '../src-main/tf';
import { recordResult } from './results';

const started = performance.now();
const realDir = [path.resolve(import.meta.dirname, '../../shared/real-models'), '/work/shared/real-models'].find((d) => fs.existsSync(d));
if (!realDir) {
  console.log('No shared/real-models folder beside the repository: nothing to measure.');
  process.exit(0);
}
const { info } = await initBackend();
const exports = ['tm-keras-rps', 'tm-keras-water', 'tm-tfjs-water', 'tm-tflite-catdog'];
const REPEATS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const data = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-import-bench-'));
const paths = resolvePaths(data);
const store = new Store(paths.dbPath);
const figures: Record<string, number | string> = {};
try {
  for (const [i, name] of exports.entries()) {
    const dir = path.join(realDir, name);
    const times: number[] = [];
    // Interleave nothing else: each export is timed back to back, first call apart (cold for the first export).
    for (let r = 0; r <= REPEATS; r++) {
      const t0 = performance.now();
      const m = await importModel(dir);
      const ms = performance.now() - t0;
      m.model.dispose();
      if (r === 0) figures[`${name}FirstMs`] = Math.round(ms);
      else times.push(ms);
    }
    figures[`${name}ImportMs`] = Math.round(median(times));
    figures[`${name}ImportMaxMs`] = Math.round(Math.max(...times));
    const t0 = performance.now();
    await importModelArtifact({ store, paths }, { path: dir });
    figures[`${name}ImportAndStoreMs`] = Math.round(performance.now() - t0);
    console.log(
      `${name}: import ${figures[`${name}ImportMs`]} ms (median of ${REPEATS}; max ${figures[`${name}ImportMaxMs`]}; first ${figures[`${name}FirstMs`]}${i === 0 ? ', cold' : ''}), import + store as artifact ${figures[`${name}ImportAndStoreMs`]} ms`,
    );
  }
} finally {
  store.close();
  fs.rmSync(data, { recursive: true, force: true });
}
recordResult('import', {
  figures,
  targets: Object.fromEntries(exports.map((n) => [`${n}ImportMs`, '≤ 3000 ms'])),
  conditions: { backend: info.name, threads: info.threads ?? null, repeats: REPEATS, exports, realModels: realDir },
  wallTimeS: Math.round((performance.now() - started) / 100) / 10,
});
