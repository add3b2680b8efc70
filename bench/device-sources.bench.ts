/**
 * Issue 19, scale figures for the device half: 10 simulated phones across 3 real ADB servers (the
 * lab's local server and two remote sources on private ports), benchmarked concurrently.
 * - overhead per benchmark (from "running" to stored, minus the runner's own wall time), alone on
 *   one phone and with all 10 phones busy at once;
 * - no cross-talk between queues: each phone received exactly the runner starts of its own jobs,
 *   two jobs of one phone never overlapped and ran in the order queued, every stored benchmark
 *   belongs to the device it was queued for; how many ran at the same time.
 * Run: npm run bench -- device-sources
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { defaultBenchOptions } from '../src-main/devices/target';
import { type AdbServer, connect, type SimDevice, startAdbServer, startSimDevice } from '../test/sim-device';
import { type SourcesLab, startSourcesLab } from '../test/helpers/sources-lab';
import { recordResult } from './results';

const MODEL = path.resolve(import.meta.dirname, '../test/fixtures/models/face_detection_short_range.tflite');
const PHONES_PER_SERVER = [4, 3, 3];
const JOBS_PER_PHONE = 2;
const opts = { ...defaultBenchOptions, runs: 5, warmup: 1, trials: 1, cooldownMaxWaitS: 2 };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const t0 = performance.now();
const servers: AdbServer[] = await Promise.all(PHONES_PER_SERVER.map(() => startAdbServer()));
const phones: { dev: SimDevice; key: string }[] = [];
let env: SourcesLab | null = null;
try {
  env = await startSourcesLab(servers[0].port);
  const { lab, store, bus } = env;
  // Time of each benchmark's start and end, from the lab's own progress events.
  const started = new Map<number, number>();
  const ended = new Map<number, number>();
  bus.subscribe((ev, p) => {
    if (ev !== 'benchmark.progress') return;
    const bp = p as { benchmarkId: number; status: string; phase: string | null };
    if (bp.status === 'running' && bp.phase === 'start') started.set(bp.benchmarkId, performance.now());
    if (bp.phase === 'done') ended.set(bp.benchmarkId, performance.now());
  });
  for (const [i, server] of servers.entries()) {
    if (i > 0) await lab.addSource({ kind: 'adb', address: `127.0.0.1:${server.port}`, label: `lab ${i}` });
    for (let k = 0; k < PHONES_PER_SERVER[i]; k++) {
      const dev = await startSimDevice('pixel');
      if ((await connect(server, dev)) !== 'device') throw new Error(`${dev.serial} did not come up on server ${i}`);
      phones.push({ dev, key: i === 0 ? dev.serial : `127.0.0.1:${server.port}/${dev.serial}` });
    }
  }
  for (const p of phones) await lab.readFacts(p.key);

  const run = async (keys: string[]) => {
    const ids = (await Promise.all(keys.map((k) => lab.queue({ modelPath: MODEL, targets: [k], options: opts })))).flat();
    const res = await Promise.all(ids.map((id) => lab.wait(id)));
    const bad = res.find((b) => b.status !== 'succeeded');
    if (bad) throw new Error(`benchmark #${bad.id} ${bad.status}: ${bad.error}`);
    return ids.map((id) => ({ id, overheadMs: ended.get(id)! - started.get(id)! - Number(lab.detail(id).stats?.runnerWallMs ?? 0) }));
  };
  // Cold: runner and model pushed to every phone (all at once).
  const cold = await run(phones.map((p) => p.key));
  // Alone: one phone, nothing else running.
  const alone: number[] = [];
  for (let i = 0; i < 3; i++) alone.push((await run([phones[0].key]))[0].overheadMs);

  // Concurrent: JOBS_PER_PHONE jobs on each of the 10 phones, all queued at once.
  const runsBefore = phones.map((p) => p.dev.commands().filter((c) => /benchmark_model/.test(c) && /--graph=/.test(c)).length);
  const wall0 = performance.now();
  const keys = phones.flatMap((p) => Array.from({ length: JOBS_PER_PHONE }, () => p.key));
  const queuedAt = performance.now();
  const conc = await run(keys);
  const concurrentWallS = (performance.now() - wall0) / 1000;

  // Cross-talk checks.
  const problems: string[] = [];
  phones.forEach((p, i) => {
    const runs = p.dev.commands().filter((c) => /benchmark_model/.test(c) && /--graph=/.test(c)).length - runsBefore[i];
    if (runs !== JOBS_PER_PHONE * opts.trials) problems.push(`${p.key} received ${runs} runner starts, expected ${JOBS_PER_PHONE * opts.trials}`);
  });
  const byKey = new Map<string, number[]>();
  conc.forEach(({ id }, i) => byKey.set(keys[i], [...(byKey.get(keys[i]) ?? []), id]));
  for (const [key, unordered] of byKey) {
    // Ids are given in the order jobs enter their device's queue (created and queued in one step).
    const ids = [...unordered].sort((x, y) => x - y);
    const deviceId = store.devices.bySerial(key)?.id;
    for (const id of ids) if (store.benchmarks.get(id)?.deviceId !== deviceId) problems.push(`benchmark #${id} stored for another device than ${key}`);
    for (let j = 1; j < ids.length; j++) if (started.get(ids[j])! < ended.get(ids[j - 1])!) problems.push(`${key}: #${ids[j]} started before #${ids[j - 1]} ended`);
  }
  // Most benchmarks running at the same moment.
  const edges = conc.flatMap(({ id }) => [[started.get(id)!, 1], [ended.get(id)!, -1]] as [number, number][]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let maxConcurrent = 0;
  for (const [, d] of edges) maxConcurrent = Math.max(maxConcurrent, (now += d));
  const firstStartDelayMs = Math.min(...conc.map(({ id }) => started.get(id)!)) - queuedAt;
  if (problems.length) console.error(`cross-talk problems:\n  ${problems.join('\n  ')}`);

  const o = conc.map((c) => c.overheadMs);
  recordResult('device-sources', {
    figures: {
      phones: phones.length,
      adbServers: servers.length,
      benchmarksConcurrent: conc.length,
      overheadAloneMedianS: median(alone) / 1000,
      overheadConcurrentMedianS: median(o) / 1000,
      overheadConcurrentMaxS: Math.max(...o) / 1000,
      overheadColdAllAtOnceMedianS: median(cold.map((c) => c.overheadMs)) / 1000,
      concurrentWallS,
      maxRunningAtOnce: maxConcurrent,
      firstStartDelayMs,
      crossTalkProblems: problems.length,
    },
    targets: { crossTalkProblems: '0', maxRunningAtOnce: `${phones.length} (one queue per phone)` },
    conditions: {
      model: path.basename(MODEL),
      options: opts,
      layout: `${PHONES_PER_SERVER.join('+')} simulated 'pixel' phones on ${servers.length} real adb servers (1 local, ${servers.length - 1} remote sources on loopback)`,
      jobsPerPhone: JOBS_PER_PHONE,
      overhead: 'benchmark "running" event → stored result, minus the runner stand-in\'s wall time (stats.runnerWallMs); the stand-ins (node + LiteRT) of all phones share this machine\'s cores, so concurrent overhead includes CPU contention',
    },
    wallTimeS: (performance.now() - t0) / 1000,
  });
  if (problems.length) process.exitCode = 1;
} finally {
  await env?.close();
  for (const p of phones) await p.dev.close();
  for (const s of servers) await s.close();
}
