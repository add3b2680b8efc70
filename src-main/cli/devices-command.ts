/** `pocketbench devices` and `pocketbench bench MODEL.tflite --device SERIAL`: the device lab from a terminal. */
import type { Command } from 'commander';
import { benchOptionsSchema, type BenchmarkDetail } from '../../src-shared/contract/devices';
import { AppError } from '../../src-shared/errors';
import { EventBus } from '../host/events';
import { resolvePaths } from '../host/paths';
import { openStore } from '../host/open-store';
import { createLab, type DeviceLab } from '../devices';
import { createHostTarget } from '../devices/host-target';
import { formatKiB, formatMiB } from '../../src-shared/format';
import { type BenchmarkSummary, PEAK_MEM_LABEL } from '../../src-shared/types';
import { type BenchModel, benchModelFor } from '../devices/bench-model';
import { intervalCoverage } from '../devices/stats';
import { Store } from '../store';
import { formatTable } from './table';

async function withLab<T>(program: Command, fn: (lab: DeviceLab, store: Store, bus: EventBus) => Promise<T>): Promise<T> {
  const paths = resolvePaths(program.opts<{ data?: string }>().data);
  const store = openStore(paths);
  const bus = new EventBus();
  const host = createHostTarget({ store });
  const lab = createLab({ store, bus, dataDir: paths.dataDir, extraTargets: (k) => (k === host.key ? host : null), extraTargetKeys: [host.key] });
  try {
    return await fn(lab, store, bus);
  } finally {
    await lab.close();
    store.close();
  }
}

const ms = (us: number | null | undefined, digits = 3) => (us === null || us === undefined ? null : `${(us / 1000).toFixed(digits)} ms`);

/** Every memory figure of a benchmark, each named by its kind (binary units, one helper). */
export function memoryLine(d: BenchmarkDetail): string {
  const s = d.summary;
  const m = d.stats?.memory as { deltaFromStartMb?: { init: number; overall: number } | null; vmRssAtEndMb?: number | null } | undefined;
  const parts: string[] = [];
  if (s.peakMemMb !== null) parts.push(`${s.peakMemKind ? PEAK_MEM_LABEL[s.peakMemKind] : 'peak'} ${formatMiB(s.peakMemMb)}`);
  if (d.vmHwmKb !== null) parts.push(`${s.peakMemKind === 'runtime-heap' ? 'app process peak RSS' : 'peak RSS sampled'} ${formatKiB(d.vmHwmKb)}`);
  if (m?.deltaFromStartMb) parts.push(`delta from the runner's start ${formatMiB(m.deltaFromStartMb.overall)} (init ${formatMiB(m.deltaFromStartMb.init)})`);
  if (m?.vmRssAtEndMb != null) parts.push(`VmRSS at the runner's end ${formatMiB(m.vmRssAtEndMb)}`);
  return parts.join('; ') || '—';
}

/** What the benchmark is linked to, said before it starts. */
export function linkNote(m: BenchModel): string {
  if (m.artifactId === null) return `${m.path} is not a stored artifact: the result is listed by \`pocketbench benchmarks\` and under Devices, not in Compare (benchmark artifact:N to link one).`;
  const how = m.linkedBy === 'content' ? ` (the file has its bytes${m.others?.length ? `; so do ${m.others.map((i) => `#${i}`).join(', ')}: name one with artifact:N` : ''})` : '';
  return `Benchmarking artifact #${m.artifactId} ${m.name ?? ''}${how}: the result shows in Compare.`;
}

/** The statistics the Devices page shows, as lines of text. */
export function benchmarkReport(d: BenchmarkDetail): string {
  const s = d.summary;
  const trialsInfo = d.stats?.trials as { n: number; coverage: number; note: string | null } | null | undefined;
  const lines = [
    `Benchmark #${s.id} on ${d.target}${s.artifactId !== null ? ` of artifact #${s.artifactId}` : ''}: ${s.status}${s.error ? ` — ${s.error}` : ''}`,
    `  latency (median of ${trialsInfo?.n ?? d.trials.length} trial means): ${ms(s.latencyUs) ?? '—'}`,
  ];
  // The coverage the interval really has (93.75 % with 5 trials), never a nominal 95 %.
  const coverage = s.ciCoverage ?? trialsInfo?.coverage ?? intervalCoverage(d.trials.length);
  if (s.ciLowUs !== null && s.ciHighUs !== null) lines.push(`  ${(coverage * 100).toFixed(2)} % interval: ${ms(s.ciLowUs)} – ${ms(s.ciHighUs)}`);
  if (trialsInfo?.note) lines.push(`  note: ${trialsInfo.note}`);
  if (s.cv !== null) lines.push(`  coefficient of variation: ${(s.cv * 100).toFixed(2)} %`);
  lines.push(`  init: ${s.initMs !== null ? `${s.initMs.toFixed(2)} ms` : '—'}`);
  lines.push(`  memory: ${memoryLine(d)}`);
  lines.push(`  affinity: ${d.affinity ?? 'unavailable'}; runner SHA-256: ${s.runnerSha256 ?? '—'}; model SHA-256: ${d.modelSha256 ?? '—'}`);
  const ran = d.stats?.ran as { requested: string; delegate: string; share: number | null; reason: string | null } | undefined;
  if (ran) lines.push(`  ran on: ${ran.delegate}${ran.share !== null && ran.delegate !== 'cpu' ? ` (${(ran.share * 100).toFixed(1)} % of nodes)` : ''}${ran.requested !== ran.delegate ? ` — ${ran.requested} asked, not applied` : ''}${ran.reason ? `: ${ran.reason}` : ''}`);
  else if (typeof d.stats?.delegatedShare === 'number') lines.push(`  delegated: ${((d.stats.delegatedShare as number) * 100).toFixed(1)} % of nodes`);
  for (const n of (d.stats?.notes as string[] | undefined) ?? []) lines.push(`  note: ${n}`);
  if (d.trials.length) {
    lines.push(
      formatTable(
        ['Trial', 'Mean (ms)', 'Std (ms)', 'Runs', 'Cooldown (s)', 'Before °C', 'After °C'],
        d.trials.map((t) => [t.idx + 1, t.meanUs != null ? Number((t.meanUs / 1000).toFixed(3)) : null, t.stdUs != null ? Number((t.stdUs / 1000).toFixed(3)) : null, t.count ?? null, t.cooldownMs != null ? Number((t.cooldownMs / 1000).toFixed(1)) : null, t.tempBeforeC ?? null, t.tempAfterC ?? null]),
      ),
    );
  }
  return lines.join('\n');
}

export function addDeviceCommands(program: Command): void {
  program
    .command('devices')
    .description('list Android phones attached over ADB (state, facts, runner) and store their facts')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await withLab(program, async (lab) => {
        await lab.start();
        const ready = lab.live().filter((d) => d.state === 'device');
        await Promise.all(ready.map((d) => lab.readFacts(d.key).catch(() => undefined)));
        const live = lab.live();
        if (opts.json) return void console.log(JSON.stringify(live, null, 2));
        if (live.length === 0) return void console.log('No phones. Connect one with USB debugging on (and accept the prompt), or `adb connect HOST:PORT`.');
        console.log(
          formatTable(
            ['Serial', 'State', 'Device', 'Android', 'SoC', 'ABIs', 'Big cores', 'Battery', 'Thermal', 'Runner'],
            live.map((d) => [
              d.key,
              d.state,
              d.label,
              d.device?.androidVersion ? `${d.device.androidVersion} (SDK ${d.device.sdk})` : null,
              d.device?.soc ?? null,
              d.device?.abis.join(',') || null,
              Array.isArray(d.device?.facts?.bigCores) ? (d.device!.facts.bigCores as number[]).join(',') : null,
              d.batteryPct !== null ? `${d.batteryPct}%` : null,
              d.thermalStatus,
              d.runner?.ready ? `${d.runner.abi} ${d.runner.sha256?.slice(0, 12)}` : d.runner ? 'none' : null,
            ]),
          ),
        );
        for (const d of live) if (d.hint) console.log(`${d.key}: ${d.hint}`);
      });
    });

  const collect = (v: string, acc: string[]) => [...acc, v];
  program
    .command('bench')
    .description('benchmark a .tflite on phones (K trials, pinned, after cooldown) or on this computer (--device host), and store the result; Ctrl-C cancels cleanly')
    .argument('<model>', 'a .tflite file, or artifact:N for a stored artifact (a file with the bytes of a stored .tflite is linked to it too): linked benchmarks show in Compare and Trends')
    .requiredOption('-d, --device <serial>', 'ADB serial, or "host" for this computer (LiteRT on the desktop); repeat for several targets', collect, [])
    .option('--threads <n>', 'threads', Number, 4)
    .option('--runs <n>', 'runs per trial', Number, 50)
    .option('--warmup <n>', 'warm-up runs per trial', Number, 5)
    .option('--trials <n>', 'trials (6 or more for a full 95 % interval)', Number, 5)
    .option('--no-xnnpack', 'turn XNNPACK off')
    .option('--gpu', 'use the GPU delegate')
    .option('--nnapi', 'use NNAPI')
    .option('--op-profiling', 'per-op timings')
    .option('--no-pin', 'do not pin to the big cores')
    .option('--cooldown-temp <c>', 'wait until zones are below this (°C)', Number, 45)
    .option('--cooldown-wait <s>', 'longest wait per trial (s)', Number, 60)
    .option('--runner <abi=path>', 'use this benchmark_model for an ABI (e.g. arm64-v8a=./benchmark_model)', collect, [])
    .option('--json', 'print JSON')
    .action(async (model: string, o: Record<string, unknown>) => {
      const parsed = benchOptionsSchema.safeParse({
        threads: o.threads,
        runs: o.runs,
        warmup: o.warmup,
        trials: o.trials,
        xnnpack: o.xnnpack,
        gpu: Boolean(o.gpu),
        nnapi: Boolean(o.nnapi),
        opProfiling: Boolean(o.opProfiling),
        pinBigCores: o.pin,
        cooldownMaxTempC: o.cooldownTemp,
        cooldownMaxWaitS: o.cooldownWait,
      });
      if (!parsed.success) throw AppError.fromZod(parsed.error, 'Bad benchmark options');
      await withLab(program, async (lab, store, bus) => {
        for (const r of o.runner as string[]) {
          const [abi, ...rest] = r.split('=');
          if (!rest.length) throw new AppError('INVALID_ARGS', `--runner takes ABI=PATH (got ${r}).`);
          await lab.setRunner(abi, rest.join('='));
        }
        const unsub = bus.subscribe((ev, p) => {
          if (ev === 'benchmark.progress' && !o.json) {
            const q = p as { target: string; message: string | null };
            if (q.message) process.stderr.write(`[${q.target}] ${q.message}\n`);
          }
        });
        const m = await benchModelFor(store, model);
        if (!o.json) process.stderr.write(`${linkNote(m)}\n`);
        const ids = await lab.queue({ modelPath: m.path, modelName: m.name, artifactId: m.artifactId, targets: o.device as string[], options: parsed.data });
        // Ctrl-C: cancel every benchmark (the lab kills the runner on the phone and stores the row
        // as cancelled), then report and exit 130. A second Ctrl-C leaves at once.
        let interrupted = false;
        const onInt = () => {
          if (interrupted) process.exit(130);
          interrupted = true;
          process.stderr.write('Cancelling: stopping the runner and recording the benchmark as cancelled (Ctrl-C again to leave at once)…\n');
          for (const id of ids) lab.cancel(id);
        };
        process.on('SIGINT', onInt);
        let results: BenchmarkSummary[];
        try {
          results = await Promise.all(ids.map((id) => lab.wait(id)));
        } finally {
          process.off('SIGINT', onInt);
          unsub();
        }
        const details = results.map((b) => lab.detail(b.id));
        if (o.json) console.log(JSON.stringify(details, null, 2));
        else console.log(details.map(benchmarkReport).join('\n\n'));
        if (interrupted) process.exitCode = 130;
        else if (results.some((b) => b.status !== 'succeeded')) process.exitCode = 1;
      });
    });

  program
    .command('benchmarks')
    .description('list stored benchmarks, newest first: model, device, what ran, trials, median latency and its interval')
    .option('--json', 'print JSON')
    .option('-n, --limit <n>', 'how many', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new AppError('INVALID_ARGS', `--limit must be a whole number of at least 1 (got ${v}).`);
      return n;
    }, 50)
    .action((opts: { json?: boolean; limit: number }) => {
      const paths = resolvePaths(program.opts<{ data?: string }>().data);
      const store = openStore(paths);
      try {
        const { items, total } = store.benchmarks.list({ limit: opts.limit, offset: 0 });
        const rows = items.map((b) => benchmarkRow(b, store));
        if (opts.json) return void console.log(JSON.stringify({ total, benchmarks: rows }, null, 2));
        if (!items.length) return void console.log('No benchmarks yet. Run one with `pocketbench bench MODEL.tflite --device SERIAL` (or `--device host`).');
        console.log(
          formatTable(
            ['ID', 'Model', 'Device', 'Status', 'Ran on', 'Trials', 'Median', 'Interval', 'CV', 'Finished'],
            rows.map((r) => [
              r.id,
              r.model,
              r.device,
              r.status,
              r.ranOn,
              r.trials,
              ms(r.latencyUs),
              r.interval ? `${ms(r.interval.lowUs)} – ${ms(r.interval.highUs)} (${(r.interval.coverage * 100).toFixed(1)} %)` : null,
              r.cv !== null ? `${(r.cv * 100).toFixed(1)} %` : null,
              r.finishedAt ? new Date(r.finishedAt).toISOString().replace('T', ' ').slice(0, 16) : null,
            ]),
          ),
        );
        if (total > items.length) console.log(`(${items.length} of ${total}; use --limit to see more)`);
      } finally {
        store.close();
      }
    });
}

/** One stored benchmark as the `benchmarks` command lists it (the JSON form too). */
export function benchmarkRow(b: BenchmarkSummary, store: Store) {
  const dev = store.devices.get(b.deviceId);
  const trials = store.benchmarks.trials(b.id).length;
  const c = b.config as { model?: string; gpu?: boolean; nnapi?: boolean; xnnpack?: boolean; threads?: number };
  const requested = c.gpu ? 'gpu' : c.nnapi ? 'nnapi' : c.xnnpack === false ? 'cpu' : 'xnnpack';
  const ran = b.ranDelegate;
  const ranOn = ran === null ? `${requested} (asked)` : ran === requested ? `${ran}${b.delegatedShare !== null && b.delegatedShare < 1 ? ` (${(b.delegatedShare * 100).toFixed(0)} % of nodes)` : ''}` : `${ran} (${requested} not applied)`;
  return {
    id: b.id,
    model: c.model ?? null,
    device: dev ? (dev.kind === 'host' ? 'This computer' : [dev.manufacturer, dev.model].filter(Boolean).join(' ') || dev.serial) : null,
    serial: dev?.serial ?? null,
    status: b.status,
    error: b.error,
    requested,
    ranOn,
    threads: c.threads ?? null,
    trials,
    latencyUs: b.latencyUs,
    interval: b.ciLowUs !== null && b.ciHighUs !== null ? { lowUs: b.ciLowUs, highUs: b.ciHighUs, coverage: b.ciCoverage ?? intervalCoverage(trials) } : null,
    cv: b.cv,
    peakMemMiB: b.peakMemMb,
    peakMemKind: b.peakMemKind,
    createdAt: b.createdAt,
    finishedAt: b.finishedAt,
  };
}
