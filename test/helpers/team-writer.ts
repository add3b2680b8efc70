/**
 * One PocketBench instance writing to a shared history as fast as it can, for the concurrency test
 * and bench: each round creates a run with two stages, an artifact, upserts a phone every writer
 * shares, queues and finishes a benchmark with trials and an op profile (the app's own calls). At
 * the end it prints one JSON line with the ids it was given, for the parent to check nothing was
 * lost or duplicated.  argv: <history url> <writer name> <milliseconds>
 */
import { Store } from '../../src-main/store';

const [url, name, ms] = process.argv.slice(2);
const store = new Store(url, { identity: { madeBy: name, machine: `machine-${name}`, pid: process.pid } });
const runs: number[] = [];
const benchmarks: number[] = [];
const until = Date.now() + Number(ms);
let i = 0;
while (Date.now() < until) {
  const run = store.runs.create({ name: `${name}-${i}`, recipe: { i }, recipeHash: `h${i}`, seed: i, appVersion: 'team-writer', stages: [{ kind: 'distill' }, { kind: 'export' }] });
  store.runs.setStatus(run, 'running');
  const artifact = store.artifacts.create({ runId: run, name: 'student-int8.tflite', format: 'tflite', path: `/shared/${name}-${i}.tflite`, contentHash: `${name}-${i}`, bytes: 1000 + i, metrics: { accuracy: 0.9 } });
  const device = store.devices.upsert('shared-phone', 'android', { model: 'Pixel 7', facts: { source: { id: 'lab', kind: 'adb', label: 'Lab' } } });
  const b = store.benchmarks.create({ artifactId: artifact, deviceId: device, config: { threads: 4 } });
  store.benchmarks.markRunning(b);
  store.benchmarks.finish(b, { status: 'succeeded', latencyUs: 1000 + (i % 50), ciLowUs: 990, ciHighUs: 1060, cv: 0.01 }, [{ meanUs: 1000 }, { meanUs: 1010 }], [{ section: 'by_type', nodeType: 'CONV_2D', avgMs: 0.4 }]);
  store.runs.setStatus(run, 'succeeded');
  runs.push(run);
  benchmarks.push(b);
  i++;
}
store.close();
process.stdout.write(`${JSON.stringify({ name, runs, benchmarks })}\n`);
