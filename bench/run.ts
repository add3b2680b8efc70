/**
 * `npm run bench`: runs every bench/*.bench.ts (or those named on the command line) one after
 * another, each in its own process so one failure does not stop the rest. Figures are printed and
 * recorded in bench/results.json.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const dir = import.meta.dirname;
const wanted = process.argv.slice(2);
const all = fs.readdirSync(dir).filter((f) => f.endsWith('.bench.ts')).sort();
const files = wanted.length ? all.filter((f) => wanted.some((w) => f.startsWith(w))) : all;
if (!files.length) {
  console.error(`No benchmark matches ${wanted.join(', ')}. Available: ${all.join(', ')}`);
  process.exit(2);
}
const failed: string[] = [];
for (const f of files) {
  console.log(`\n=== ${f}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(dir, f)], { stdio: 'inherit' });
  if (r.status !== 0) failed.push(f);
}
console.log(`\n${files.length - failed.length}/${files.length} benchmarks finished; figures in bench/results.json.`);
if (failed.length) {
  console.log(`Failed: ${failed.join(', ')}`);
  process.exit(1);
}
