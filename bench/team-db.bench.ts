/**
 * `npm run bench -- team-db` (issue 19): a team's shared history on a real PostgreSQL server
 * (Debian's, started on a private unix socket like the tests' one).
 *
 * 1. Scale: 20,000 runs (2 stages, 2 artifacts each) and 100,000 benchmarks (5 trials each) by 8
 *    people on 5 machines, on 30 phones from 3 device sources, written by the server
 *    (generate_series: seeding through the app's calls would take the bench's whole budget), then
 *    the Compare and Trends queries through the store, each timed as the median of 7 calls after
 *    one warm-up (target: under 100 ms).
 * 2. Concurrency: 4 processes write through the store at once for a minute
 *    (POCKETBENCH_BENCH_WRITE_MS shortens it; the entry then says reduced) and the history is
 *    checked for lost, duplicated or misattributed rows.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Store } from '../src-main/store';
import { freshDatabase, postgresBinDir } from '../test/helpers/postgres';
import { runWriters } from '../test/helpers/team-writers';
import { recordResult } from './results';

if (!postgresBinDir()) {
  console.error('team-db: PostgreSQL is not installed (Debian: apt install postgresql); nothing measured.');
  process.exit(1);
}
const t0 = Date.now();
const RUNS = 20_000;
const BENCHMARKS = 100_000;
const writeMs = Number(process.env.POCKETBENCH_BENCH_WRITE_MS ?? 60_000);

const db = freshDatabase('bench');
const store = new Store(db.url);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-teamdb-'));

try {
  const seedStart = performance.now();
  const x = (sql: string) => store.db.exec(sql);
  store.db.transaction(() => {
    x(`INSERT INTO devices (serial, kind, manufacturer, model, facts_json, first_seen, last_seen)
       SELECT 'phone-' || d, 'android', 'Google', 'Pixel ' || (6 + d % 3),
              '{"source":{"id":"src' || (d % 3) || '","kind":"adb","label":"Lab ' || (d % 3) || '"}}', 0, 0
       FROM generate_series(1, 30) d`);
    x(`INSERT INTO runs (name, recipe_json, recipe_hash, seed, status, created_at, app_version, made_by, machine, owner_pid, heartbeat_at)
       SELECT 'recipe-' || (r % 50), '{}', 'h' || r, r, 'succeeded', 1700000000000 + r * 60000, 'bench',
              'person-' || (r % 8), 'machine-' || (r % 5), 1, 0
       FROM generate_series(1, ${RUNS}) r`);
    x(`INSERT INTO stages (run_id, idx, kind, status, params_json)
       SELECT r.id, s, CASE s WHEN 0 THEN 'distill' ELSE 'export' END, 'succeeded', '{}' FROM runs r, generate_series(0, 1) s`);
    x(`INSERT INTO artifacts (run_id, name, format, path, content_hash, bytes, precision, metrics_json, created_at)
       SELECT r.id, CASE k WHEN 0 THEN 'student' ELSE 'student-int8.tflite' END, CASE k WHEN 0 THEN 'tfjs-layers' ELSE 'tflite' END,
              '/shared/' || r.id || '-' || k, md5(r.id || '-' || k), 100000 + r.id % 997, CASE k WHEN 1 THEN 'int8' END,
              '{"accuracy":' || (0.8 + (r.id % 100) / 1000.0) || '}', r.created_at + k
       FROM runs r, generate_series(0, 1) k`);
    // 100,000 benchmarks on the tflite artifacts (5 per artifact), round-robin over phones
    x(`INSERT INTO benchmarks (artifact_id, device_id, status, config_json, latency_us, ci_low_us, ci_high_us, cv, peak_mem_mb, peak_mem_kind,
                               ran_delegate, created_at, started_at, finished_at, model_sha256, target, made_by, machine, owner_pid, heartbeat_at)
       SELECT a.id, 1 + (a.id * 7 + j) % 30, 'succeeded', '{"threads":' || (1 + j % 4) || ',"xnnpack":true}',
              1000 + (a.id % 300) + j, 990 + (a.id % 300), 1010 + (a.id % 300) + j, 0.01 + j / 1000.0, 12.5, 'runner-peak',
              CASE j % 3 WHEN 0 THEN 'xnnpack' WHEN 1 THEN 'cpu' ELSE 'gpu' END,
              a.created_at + j * 1000, a.created_at + j * 1000, a.created_at + j * 1000 + 500, a.content_hash, 'phone',
              'person-' || ((a.id + j) % 8), 'machine-' || ((a.id + j) % 5), 1, 0
       FROM artifacts a, generate_series(0, ${BENCHMARKS / RUNS - 1}) j WHERE a.format = 'tflite'`);
    x(`INSERT INTO benchmark_trials (benchmark_id, idx, count, mean_us) SELECT b.id, t, 50, b.latency_us + t FROM benchmarks b, generate_series(0, 4) t`);
  })();
  x('ANALYZE');
  const seedS = (performance.now() - seedStart) / 1000;
  const counts = store.db.prepare(`SELECT (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM benchmarks) AS benchmarks, (SELECT count(*) FROM benchmark_trials) AS trials`).get() as Record<string, number>;
  console.log(`seeded ${JSON.stringify(counts)} in ${seedS.toFixed(1)} s`);

  if (process.env.POCKETBENCH_BENCH_EXPLAIN) {
    // plans of slow statements go to the server's log (test/helpers/postgres.ts: <run dir>/server/log)
    x(`LOAD 'auto_explain'; SET auto_explain.log_min_duration = 40; SET auto_explain.log_analyze = on`);
  }
  const time = (fn: () => unknown): { ms: number; n: number } => {
    let n = 0;
    const once = () => {
      const r = fn();
      n = Array.isArray(r) ? r.length : typeof r === 'object' && r ? Object.values(r).flat().length : 1;
    };
    once();
    const ms: number[] = [];
    for (let i = 0; i < 7; i++) {
      const s = performance.now();
      once();
      ms.push(performance.now() - s);
    }
    ms.sort((a, b) => a - b);
    return { ms: Number(ms[3].toFixed(2)), n };
  };
  const lineage = store.compare.lineages(1)[0];
  const queries: Record<string, () => unknown> = {
    compareDefault: () => store.compare.rows({ limit: 2000, includeUnbenchmarked: true }),
    compareByPerson: () => store.compare.rows({ limit: 2000, madeBy: 'person-3', includeUnbenchmarked: false }),
    compareByMachine: () => store.compare.rows({ limit: 2000, machine: 'machine-2', includeUnbenchmarked: false }),
    compareByDeviceSource: () => store.compare.rows({ limit: 2000, deviceSource: 'Lab 1', includeUnbenchmarked: false }),
    compareByDeviceDelegateThreads: () => store.compare.rows({ limit: 2000, deviceId: 7, delegate: 'gpu', threads: 3, includeUnbenchmarked: false }),
    compareRuns: () => store.compare.rows({ limit: 2000, runIds: Array.from({ length: 50 }, (_, i) => 1 + i * 37) }),
    trendsLineages: () => store.compare.lineages(),
    trendsSeriesLatency: () => store.compare.series({ runName: lineage.runName, artifactName: lineage.artifactName, deviceId: lineage.deviceId, metric: 'latencyUs' }),
    trendsSeriesAccuracy: () => store.compare.series({ runName: 'recipe-7', artifactName: 'student-int8.tflite', deviceId: null, metric: 'accuracy' }),
    filterChoices: () => store.compare.facets(),
  };
  const figures: Record<string, number | string | boolean | null> = { seedSeconds: Number(seedS.toFixed(1)) };
  const targets: Record<string, string> = {};
  for (const [name, fn] of Object.entries(queries)) {
    const { ms, n } = time(fn);
    figures[`${name}Ms`] = ms;
    figures[`${name}Rows`] = n;
    targets[`${name}Ms`] = '< 100';
    console.log(`${name}: ${ms} ms (${n} rows)`);
  }
  store.close();

  console.log(`\n4 writers for ${writeMs / 1000} s…`);
  const w = freshDatabase('writers');
  try {
    const out = await runWriters(w.url, 4, writeMs);
    Object.assign(figures, {
      writersProcesses: out.writers,
      writersSeconds: Number((out.ms / 1000).toFixed(1)),
      writersRuns: out.runs,
      writersBenchmarks: out.benchmarks,
      writersRunsPerSecond: Number((out.runs / (writeMs / 1000)).toFixed(1)),
      writersLostRows: out.lost,
      writersDuplicatedRows: out.duplicated,
      writersMisattributedRows: out.foreign,
      writersSharedPhoneRows: out.devices,
    });
    targets.writersLostRows = '0';
    targets.writersDuplicatedRows = '0';
  } finally {
    w.drop();
  }
  recordResult('team-db', {
    figures,
    targets,
    conditions: {
      server: 'PostgreSQL 15 (Debian), unix socket, fsync off (thrown away after)',
      client: 'pg-native (libpq, synchronous), queries through the store',
      history: `${counts.runs} runs, ${counts.benchmarks} benchmarks, ${counts.trials} trials, 30 phones in 3 sources, 8 people, 5 machines`,
      timing: 'median of 7 calls after 1 warm-up',
      writeMs,
    },
    reduced: writeMs < 60_000,
    wallTimeS: Math.round((Date.now() - t0) / 1000),
  });
} finally {
  if (store.db.open) store.close();
  db.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
