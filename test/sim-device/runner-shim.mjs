/**
 * The benchmark_model stand-in. A pushed ELF runner is replaced on the simulated phone by a script
 * that execs `node runner-shim.mjs KEPT_ELF DEVICE_PATH ARGS…` (tools.ts), so `$!` on the phone is
 * this process's PID.
 *
 * It reads the same flags as TFLite's benchmark_model, checks the model is a TFLite flatbuffer (the
 * `TFL3` identifier), runs it on this computer with LiteRT (src-main/export/litert-node.ts, loaded
 * through tsx; a model LiteRT.js cannot run gets byte-pass work proportional to its size instead),
 * scales the times by the profile's speed, yields to the event loop between inferences so a kill
 * lands at once, and prints the
 * real output format: `current` (TF 2.x, `INFO:` lines, memory footprint delta and periodic
 * monitoring) or `legacy` (TF 1.x era: `Average inference timings in us`, `Peak memory footprint`).
 * While it runs it keeps `/proc/PID/status` in the sandbox up to date (VmHWM, VmRSS,
 * Cpus_allowed_list from the taskset mask) and removes it when it ends.
 *
 * Plain JavaScript so it starts in a bare `node`; it registers tsx itself only to load LiteRT.
 *
 * Environment (set by the simulated device): SIM_ROOT, SIM_NCPU, SIM_SPEED, SIM_FORMAT,
 * SIM_CPU_MASK (from taskset), SIM_LITERT=0 (skip LiteRT), SIM_RUNNER_STALL (start, then never finish: for dropMidRun).
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [, , _keptElf, _devicePath, ...argv] = process.argv;
const flags = {};
for (const a of argv) {
  const m = /^--([^=]+)=(.*)$/.exec(a);
  if (m) flags[m[1]] = m[2];
}
const legacy = process.env.SIM_FORMAT === 'legacy';
const info = (s) => process.stdout.write(legacy ? `${s}\n` : `INFO: ${s}\n`);
const error = (s) => process.stdout.write(`ERROR: ${s}\n`);

/** Simulated session init on a speed-1 phone, ms. */
const INIT_MS = 200;
const root = process.env.SIM_ROOT ?? '/';
const ncpu = Number(process.env.SIM_NCPU ?? 8);
const speed = Number(process.env.SIM_SPEED ?? 1);
const procDir = join(root, 'proc', String(process.pid));

function cpuList(maskHex) {
  const all = (1 << ncpu) - 1;
  const mask = maskHex ? parseInt(maskHex, 16) & all : all;
  const cpus = [];
  for (let i = 0; i < ncpu; i++) if (mask & (1 << i)) cpus.push(i);
  const parts = [];
  for (let i = 0; i < cpus.length; i++) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j] + 1) j++;
    parts.push(j > i ? `${cpus[i]}-${cpus[j]}` : `${cpus[i]}`);
    i = j;
  }
  return parts.join(',');
}
const allowed = cpuList(process.env.SIM_CPU_MASK);
let hwmKb = 0;
function writeStatus() {
  const rssKb = Math.round(process.memoryUsage().rss / 1024);
  hwmKb = Math.max(hwmKb, rssKb);
  const text = [
    'Name:\tbenchmark_model',
    'State:\tR (running)',
    `Tgid:\t${process.pid}`,
    `Pid:\t${process.pid}`,
    `PPid:\t${process.ppid}`,
    `VmPeak:\t${String(hwmKb * 3).padStart(8)} kB`,
    `VmSize:\t${String(hwmKb * 3).padStart(8)} kB`,
    `VmHWM:\t${String(hwmKb).padStart(8)} kB`,
    `VmRSS:\t${String(rssKb).padStart(8)} kB`,
    `Threads:\t${flags.num_threads ?? 1}`,
    `Cpus_allowed:\t${(process.env.SIM_CPU_MASK ?? ((1 << ncpu) - 1).toString(16)).padStart(2, '0')}`,
    `Cpus_allowed_list:\t${allowed}`,
    '',
  ].join('\n');
  writeFileSync(join(procDir, 'status.tmp'), text);
  // rename is atomic: a reader never sees half a file.
  renameSync(join(procDir, 'status.tmp'), join(procDir, 'status'));
}
function cleanup() {
  rmSync(procDir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 })[sig]));

mkdirSync(procDir, { recursive: true });
writeFileSync(join(procDir, 'cmdline'), ['benchmark_model', ...argv].join('\0') + '\0');
writeStatus();

const num = (k, d) => (flags[k] === undefined ? d : Number(flags[k]));
const runs = num('num_runs', 50);
const warmup = num('warmup_runs', 1);
const graph = flags.graph;

info('STARTING!');
if (legacy) {
  info(`Num runs: [${runs}]`);
  info(`Inter-run delay (seconds): [-1]`);
  info(`Num threads: [${flags.num_threads ?? 1}]`);
  info(`Graph: [${graph ?? ''}]`);
} else {
  info('Log parameter values verbosely: [0]');
  info(`Min num runs: [${runs}]`);
  info(`Num threads: [${flags.num_threads ?? 1}]`);
  info(`Graph: [${graph ?? ''}]`);
  if (flags.enable_op_profiling === 'true') info('Enable op profiling: [1]');
  info(`#threads used for CPU inference: [${flags.num_threads ?? 1}]`);
}
if (!graph) {
  error('Please specify the name of your TF Lite input file with --graph');
  info('Benchmarking failed.');
  process.exit(1);
}
let model;
try {
  model = readFileSync(graph);
} catch {
  error(`Could not open '${graph}'.`);
  error('Failed to mmap model ' + graph);
  process.exit(1);
}
if (model.length < 8 || model.toString('latin1', 4, 8) !== 'TFL3') {
  error('The model is not a valid Flatbuffer buffer');
  error(`Failed to mmap model ${graph}`);
  info('Benchmarking failed.');
  process.exit(1);
}
const sizeMb = model.length / (1024 * 1024);
if (!legacy) {
  info(`Loaded model ${graph}`);
  info(`The input model file size (MB): ${sizeMb.toFixed(6)}`);
}
if (flags.use_xnnpack !== 'false' && !legacy) info('Created TensorFlow Lite XNNPACK delegate for CPU.');

const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Session init: load the model in LiteRT (the TFLite runtime, as WebAssembly) when it takes it.
const initStart = process.hrtime.bigint();
let liteRt = null;
if (process.env.SIM_LITERT !== '0') {
  try {
    const { register } = await import('tsx/esm/api');
    register();
    const { loadTfliteModel } = await import('../../src-main/export/litert-node.ts');
    const m = await loadTfliteModel(new Uint8Array(model));
    const ctor = { float32: Float32Array, int32: Int32Array, uint8: Uint8Array };
    const inputs = m.inputs.map((t) => new ctor[t.dtype](t.shape.reduce((a, b) => a * b, 1)).fill(1));
    liteRt = { model: m, inputs };
  } catch (err) {
    // A model LiteRT.js cannot run (int8 inputs, ops it lacks) still gets timings, from the stand-in
    // work below; a real phone's runtime would run it.
    process.stderr.write(`sim: LiteRT could not run the model (${err?.message ?? err}); timings are simulated\n`);
  }
}
// Without LiteRT, the "inference" is a pass over the model bytes: time proportional to the model
// size, and the RSS honest.
const work = Buffer.alloc(model.length);
model.copy(work);
function byteWork() {
  let acc = 0;
  for (let p = 0; p < 4; p++) {
    for (let i = 0; i < model.length; i += 4) {
      acc = (acc + model[i] * (p + 1)) | 0;
      work[i] = acc & 0xff;
    }
  }
}
/** One inference, in µs, scaled to the phone: a slower phone waits (speed − 1) × the host's time. */
async function infer() {
  const t = process.hrtime.bigint();
  if (liteRt) await liteRt.model.run(liteRt.inputs);
  else byteWork();
  const us = Number(process.hrtime.bigint() - t) / 1000;
  if (speed > 1) await sleep((us * (speed - 1)) / 1000);
  return us * Math.max(1, speed);
}
// A phone's session init takes at least a few hundred ms; waiting for it here (without blocking)
// also keeps the process in /proc long enough for the host's first sample.
const initUntil = Date.now() + INIT_MS * speed;
while (Date.now() < initUntil) {
  writeStatus();
  await sleep(25);
}
const initUs = Number(process.hrtime.bigint() - initStart) / 1000;
info(`Initialized session in ${(initUs / 1000).toFixed(3)}ms.`);
if (!legacy) info('Running benchmark for at least ' + warmup + ' iterations and at least 0 seconds but terminate if exceeding 150 seconds.');

function statLine(xs) {
  const n = xs.length;
  if (n === 0) return 'count=0';
  const r = xs.map((x) => Math.max(1, Math.round(x)));
  const avg = r.reduce((a, b) => a + b, 0) / n;
  const std = Math.round(Math.sqrt(r.reduce((a, b) => a + (b - avg) ** 2, 0) / n));
  if (r.every((x) => x === r[0])) return `count=${n} curr=${r[0]}(all same)`;
  const avgText = Number.isInteger(avg) ? String(avg) : avg.toFixed(1);
  return `count=${n} first=${r[0]} curr=${r[n - 1]} min=${Math.min(...r)} max=${Math.max(...r)} avg=${avgText} std=${std}`;
}

let lastStatus = 0;
async function loop(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push(await infer());
    if (Date.now() - lastStatus > 20) {
      lastStatus = Date.now();
      writeStatus();
    }
    await tick();
  }
  return out;
}

if (process.env.SIM_RUNNER_STALL === '1') {
  // The phone is about to be unplugged mid-run (dropMidRun): keep running until killed.
  setInterval(writeStatus, 50);
  await new Promise(() => undefined);
}
const w = await loop(warmup);
info(legacy ? `Running benchmark for at least ${runs} iterations and at least 1 seconds` : statLine(w));
if (legacy) info(statLine(w));
const r = await loop(runs);
info(statLine(r));
writeStatus();
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const peakMb = hwmKb / 1024;
if (legacy) {
  info(`Average inference timings in us: Warmup: ${mean(w).toFixed(1)}, Init: ${Math.round(initUs)}, Inference: ${mean(r).toFixed(1)}`);
  info(`Peak memory footprint (MB): init=${(peakMb * 0.6).toFixed(4)} overall=${peakMb.toFixed(4)}`);
} else {
  info(`Inference timings in us: Init: ${Math.round(initUs)}, First inference: ${Math.round(w[0] ?? r[0] ?? 0)}, Warmup (avg): ${mean(w).toFixed(1)}, Inference (avg): ${mean(r).toFixed(1)}`);
  info(`Memory footprint delta from the start of the tool (MB): init=${(peakMb * 0.4).toFixed(4)} overall=${(peakMb * 0.7).toFixed(4)}`);
  if (flags.report_peak_memory_footprint === 'true') info(`Overall peak memory footprint (MB) via periodic monitoring: ${peakMb.toFixed(4)}`);
}
// SIM_RUNNER_EXIT: the complete result is printed, then the process fails (as a GPU driver can at teardown).
process.exit(Number(process.env.SIM_RUNNER_EXIT ?? 0));
