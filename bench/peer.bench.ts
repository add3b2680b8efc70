/**
 * `npm run bench:peer` (issue 14): PocketBench's training step against PyTorch on the same models,
 * interleaved A B A B in one run. For each row (bench/peer/rows.ts) a PocketBench worker
 * (bench/peer/pb-worker.ts: `initBackend()`, the pipeline's builders, importer, optimizer, loss and
 * `createTrainStep`) and a PyTorch worker (bench/peer/torch_peer.py under Debian's python3-torch at
 * /usr/bin/python3, or $POCKETBENCH_TORCH_PYTHON) are started. PyTorch rebuilds each model from
 * PocketBench's layer graph and weights; both run a forward pass on the same images first and the
 * outputs are compared (the architecture check). Then: warm-up steps on each side, and the row's
 * rounds of a few steps, PocketBench then PyTorch, one side idle while the other runs. The figure
 * of a side is the median over rounds of its per-round mean ms per batch; the ratio is the median
 * over rounds of PyTorch ms / PocketBench ms within the round (above 1: PocketBench is faster): the
 * machine is shared and its load moves within seconds, so only measurements taken back to back are
 * compared.
 *
 * Also measured: the machine's peak FP32 FMA throughput (bench/peer/fma-peak.cc, compiled with the
 * system C++ compiler for this CPU), and each row's achieved GFLOP/s (2 FLOPs per MAC; a trained
 * model counts 3 × its forward, a frozen teacher 1 ×) on both sides, and both workers' peak RSS.
 *
 * Flags: --rows 1,2,6 (default all), --rounds N (default per row, 3 to 8), --quick (half the rounds,
 * at least 2, and half the steps; marked reduced), --threads N (PyTorch's threads; default PocketBench's). Results: bench/results.json, key `peer`
 * (rows measured in an earlier run and not in this one are kept, each row with its own commit and date).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { gitCommit, readResults, recordResult } from './results';
import { ROWS, type RowDef } from './peer/rows';

const args = process.argv.slice(2);
const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const quick = args.includes('--quick');
const roundsFlag = Number(flag('--rounds') ?? 0) || null;
const wanted = flag('--rows')?.split(',').map(Number) ?? ROWS.map((r) => r.row);
const python = process.env.POCKETBENCH_TORCH_PYTHON ?? '/usr/bin/python3';
const here = import.meta.dirname;
const load = () => Number(os.loadavg()[0].toFixed(2));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (v: number, d = 2) => Number(v.toFixed(d));

type Reply = Record<string, unknown> & { error?: string };

/** A worker speaking JSON lines; replies start with "@@ ". */
class Worker {
  private waiting: ((r: Reply) => void)[] = [];
  private stderr = '';
  private exited: string | null = null;
  readonly proc: ChildProcess;
  constructor(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env) {
    this.proc = spawn(cmd, argv, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    readline.createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      if (line.startsWith('@@ ')) this.waiting.shift()?.(JSON.parse(line.slice(3)) as Reply);
      else if (line.trim()) console.log(`  [${path.basename(argv[argv.length - 2] ?? cmd)}] ${line}`);
    });
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    this.proc.on('exit', (code, signal) => {
      this.exited = `exited (${signal ?? code}): ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`;
      for (const w of this.waiting.splice(0)) w({ error: this.exited });
    });
  }
  /** The next reply (the first one is the worker's greeting). */
  next(): Promise<Reply> {
    if (this.exited) return Promise.resolve({ error: this.exited });
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  ask(msg: Record<string, unknown>): Promise<Reply> {
    const reply = this.next();
    if (!this.exited) this.proc.stdin!.write(JSON.stringify(msg) + '\n');
    return reply;
  }
  async quit(): Promise<void> {
    if (!this.exited) await this.ask({ cmd: 'quit' });
    this.proc.kill();
  }
}

function torchAvailable(): { ok: boolean; version?: string; reason?: string } {
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (r.status === 0) return { ok: true, version: r.stdout.trim() };
  return { ok: false, reason: `PyTorch is not importable by ${python} (${(r.stderr || String(r.error)).trim().split('\n').pop()}); install Debian's python3-torch, or set POCKETBENCH_TORCH_PYTHON` };
}

/** Peak FP32 FMA GFLOP/s of this machine, or why it could not be measured. */
function fmaPeak(threads: number): Record<string, unknown> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-fma-'));
  try {
    const exe = path.join(dir, 'fma-peak');
    const cc = spawnSync(process.env.CXX ?? 'c++', ['-O2', '-march=native', '-ffp-contract=fast', '-pthread', path.join(here, 'peer', 'fma-peak.cc'), '-o', exe], { encoding: 'utf8' });
    if (cc.status !== 0) return { error: `no C++ compiler to build the FMA micro-benchmark (${(cc.stderr || String(cc.error)).trim().split('\n')[0]})` };
    const r = spawnSync(exe, [String(threads)], { encoding: 'utf8' });
    return { ...(JSON.parse(r.stdout.trim()) as Record<string, unknown>), loadAvg1m: load() };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Seeded pseudo-random images in [0, 1) (the architecture check's input). */
function images(n: number, shape: number[], seed: number): Float32Array {
  const out = new Float32Array(n * shape.reduce((a, b) => a * b, 1));
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32;
  }
  return out;
}
const b64 = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
const unb64 = (s: string) => {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

interface RowResult {
  row: number;
  title: string;
  batch: number;
  pocketbenchMsPerBatch: number | null;
  pytorchMsPerBatch: number | null;
  ratio: number | null;
  pocketbenchGflops: number | null;
  pytorchGflops: number | null;
  gflopPerStep: number;
  pocketbenchRoundsMs: number[];
  pytorchRoundsMs: number[];
  /** PyTorch ms / PocketBench ms in each round; `ratio` is their median. */
  roundRatios?: number[];
  pocketbenchPeakRssMiB: number | null;
  pytorchPeakRssMiB: number | null;
  /** max |y_pocketbench − y_pytorch| / max |y| on the same 2 images, per model (inference). */
  architectureCheck: Record<string, number | string>;
  pocketbenchError?: string;
  pytorchError?: string;
  loadAvg1m: number[];
  conditions: Record<string, unknown>;
  commit: string;
  date: string;
  reduced: boolean;
}

async function runRow(def: RowDef, torch: boolean, torchThreads: number | null): Promise<RowResult> {
  const steps = quick ? Math.max(1, Math.ceil(def.steps / 2)) : def.steps;
  const rounds = roundsFlag ?? (quick ? Math.max(2, Math.ceil(def.rounds / 2)) : def.rounds);
  const loads = [load()];
  const pb = new Worker(process.execPath, ['--import', 'tsx', path.join(here, 'peer', 'pb-worker.ts'), String(def.row)]);
  const hello = await pb.next();
  if (hello.error) throw new Error(`row ${def.row}: PocketBench worker failed to start: ${hello.error}`);
  const threads = torchThreads ?? (hello.threads as number | null) ?? os.availableParallelism();
  const py = torch ? new Worker(python, [path.join(here, 'peer', 'torch_peer.py'), String(threads)]) : null;
  const result: RowResult = {
    row: def.row, title: def.title, batch: def.batch, pocketbenchMsPerBatch: null, pytorchMsPerBatch: null, ratio: null,
    pocketbenchGflops: null, pytorchGflops: null, gflopPerStep: round((hello.flopsPerStep as number) / 1e9, 3), pocketbenchRoundsMs: [], pytorchRoundsMs: [],
    pocketbenchPeakRssMiB: null, pytorchPeakRssMiB: null, architectureCheck: {}, loadAvg1m: loads,
    conditions: { ...(hello.conditions as object), backend: hello.backend, threads: hello.threads, pytorchThreads: py ? threads : null, studentInput: hello.studentInput, teacherInput: hello.teacherInput, stepsPerRound: steps, rounds, warmupSteps: def.warmup },
    commit: gitCommit(), date: new Date().toISOString(), reduced: quick || rounds < def.rounds,
  };
  try {
    let torchOk = false;
    if (py) {
      const ready = await py.next();
      if (ready.error) result.pytorchError = ready.error;
      else {
        result.conditions.pytorch = { version: ready.torch, threads: ready.threads, mkldnn: ready.mkldnn };
        torchOk = true;
        for (const m of hello.models as { id: string; layers: unknown[]; weights: unknown }[]) {
          const r = await py.ask({ cmd: 'model', ...m });
          if (r.error) {
            result.pytorchError = `rebuilding the ${m.id}: ${r.error}`;
            torchOk = false;
            break;
          }
          const shape = [2, ...((m.id === 'teacher' ? hello.teacherInput : hello.studentInput) as number[])];
          const x = b64(images(2, shape.slice(1), 99));
          const [a, b] = await Promise.all([pb.ask({ cmd: 'forward', id: m.id, shape, x }), py.ask({ cmd: 'forward', id: m.id, shape, x })]);
          if (a.error || b.error) result.architectureCheck[m.id] = `failed: ${a.error ?? b.error}`;
          else {
            const ya = unb64(a.y as string);
            const yb = unb64(b.y as string);
            let diff = 0;
            let scale = 0;
            ya.forEach((v, i) => ((diff = Math.max(diff, Math.abs(v - yb[i]))), (scale = Math.max(scale, Math.abs(v)))));
            result.architectureCheck[m.id] = Number((diff / (scale || 1)).toExponential(2));
          }
        }
        if (torchOk) {
          const r = await py.ask({ cmd: 'row', kind: hello.teacherInput ? 'kd' : 'train', student: 'student', teacher: hello.teacherInput ? 'teacher' : null, batch: def.batch,
            studentInput: hello.studentInput, teacherInput: hello.teacherInput, classes: hello.classes, temperature: 4, alpha: 0.5 });
          if (r.error) ((result.pytorchError = r.error), (torchOk = false));
        }
      }
    }
    // Warm-up, then A B A B: one side runs while the other waits.
    let pbOk = true;
    const pbRun = async (n: number, keep: boolean) => {
      if (!pbOk) return;
      const r = await pb.ask({ cmd: 'steps', n });
      if (r.peakRssMiB) result.pocketbenchPeakRssMiB = r.peakRssMiB as number;
      if (r.error) ((result.pocketbenchError = r.error), (pbOk = false));
      else if (keep) result.pocketbenchRoundsMs.push(round(mean(r.ms as number[])));
    };
    const pyRun = async (n: number, keep: boolean) => {
      if (!torchOk || !py) return;
      const r = await py.ask({ cmd: 'steps', n });
      if (r.error) ((result.pytorchError = r.error), (torchOk = false));
      else {
        result.pytorchPeakRssMiB = Math.round(r.peakRssMiB as number);
        if (keep) result.pytorchRoundsMs.push(round(mean(r.ms as number[])));
      }
    };
    await pbRun(def.warmup, false);
    await pyRun(def.warmup, false);
    for (let r = 0; r < rounds; r++) {
      await pbRun(steps, true);
      await pyRun(steps, true);
      loads.push(load());
      console.log(`  row ${def.row} round ${r + 1}: PocketBench ${result.pocketbenchRoundsMs.at(-1) ?? result.pocketbenchError} ms, PyTorch ${result.pytorchRoundsMs.at(-1) ?? result.pytorchError ?? '—'} ms`);
    }
  } finally {
    await Promise.all([pb.quit(), py?.quit()]);
  }
  const flops = hello.flopsPerStep as number;
  if (result.pocketbenchRoundsMs.length) {
    result.pocketbenchMsPerBatch = median(result.pocketbenchRoundsMs);
    result.pocketbenchGflops = round(flops / result.pocketbenchMsPerBatch / 1e6, 1);
  }
  if (result.pytorchRoundsMs.length) {
    result.pytorchMsPerBatch = median(result.pytorchRoundsMs);
    result.pytorchGflops = round(flops / result.pytorchMsPerBatch / 1e6, 1);
  }
  // Per-round ratios (both sides measured back to back), then their median.
  const pairs = result.pytorchRoundsMs.map((t, i) => t / result.pocketbenchRoundsMs[i]).filter((r) => Number.isFinite(r));
  result.roundRatios = pairs.map((r) => round(r, 3));
  if (pairs.length) result.ratio = round(median(pairs), 3);
  return result;
}

async function main(): Promise<void> {
  const started = performance.now();
  const torch = torchAvailable();
  if (!torch.ok) console.log(`${torch.reason}: the peer is skipped, PocketBench is measured alone.`);
  const torchThreads = flag('--threads') ? Number(flag('--threads')) : null;
  const loadAtStart = load();
  const peak = fmaPeak(Number(process.env.POCKETBENCH_THREADS) || os.availableParallelism());
  console.log(`peak FP32 FMA: ${JSON.stringify(peak)}`);
  const previous = ((readResults().peer as { conditions?: { rows?: RowResult[] } } | undefined)?.conditions?.rows ?? []).filter((r) => !wanted.includes(r.row));
  const done: RowResult[] = [];
  const record = () => {
    const rows = [...previous, ...done].sort((a, b) => a.row - b.row);
    const figures: Record<string, number | string | null> = { peakFmaGflops: (peak.gflops as number) ?? null, peakFmaGflopsOneThread: (peak.perThreadGflops as number) ?? null };
    for (const r of rows) {
      figures[`row${r.row}PocketBenchMsPerBatch`] = r.pocketbenchMsPerBatch;
      figures[`row${r.row}PyTorchMsPerBatch`] = r.pytorchMsPerBatch;
      figures[`row${r.row}Ratio`] = r.ratio;
      figures[`row${r.row}PocketBenchGflops`] = r.pocketbenchGflops;
      figures[`row${r.row}PocketBenchPeakRssMiB`] = r.pocketbenchPeakRssMiB;
    }
    recordResult('peer', {
      figures,
      targets: Object.fromEntries(rows.map((r) => [`row${r.row}Ratio`, r.row <= 3 ? '≥ 1.3' : '≥ 1.0'])),
      conditions: {
        what: 'ms per training step (forward, backward, Adam 1e-3 update, loss read back); ratio = median over rounds of PyTorch ms / PocketBench ms measured back to back (A B A B)',
        pytorch: torch.ok ? { python, version: torch.version } : { skipped: torch.reason },
        fmaPeak: peak,
        flopsConvention: '2 FLOPs per MAC (summarizeModel); trained model 3 × forward, frozen teacher 1 × forward',
        loadAvg1mAtStart: loadAtStart,
        rows,
      },
      reduced: rows.some((r) => r.reduced),
      wallTimeS: round((performance.now() - started) / 1000, 1),
    });
  };
  for (const def of ROWS.filter((r) => wanted.includes(r.row))) {
    console.log(`row ${def.row}: ${def.title}, batch ${def.batch}`);
    const r = await runRow(def, torch.ok, torchThreads);
    done.push(r);
    console.log(`  → PocketBench ${r.pocketbenchMsPerBatch ?? r.pocketbenchError} ms, PyTorch ${r.pytorchMsPerBatch ?? r.pytorchError ?? '—'} ms, ratio ${r.ratio ?? '—'}, ` +
      `${r.pocketbenchGflops ?? '—'} vs ${r.pytorchGflops ?? '—'} GFLOP/s, peak RSS ${r.pocketbenchPeakRssMiB} / ${r.pytorchPeakRssMiB} MiB, architecture check ${JSON.stringify(r.architectureCheck)}`);
    record();
  }
}

await main();
