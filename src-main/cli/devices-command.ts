/** `pocketbench devices` and `pocketbench bench MODEL.tflite --device SERIAL`: the device lab from a terminal. */
import type { Command } from 'commander';
import { benchOptionsSchema, type BenchmarkDetail } from '../../src-shared/contract/devices';
import { AppError } from '../../src-shared/errors';
import { EventBus } from '../host/events';
import { resolvePaths } from '../host/paths';
import { createLab, type DeviceLab } from '../devices';
import { createHostTarget } from '../devices/host-target';
import { Store } from '../store';
import { formatTable } from './table';

async function withLab<T>(program: Command, fn: (lab: DeviceLab, store: Store, bus: EventBus) => Promise<T>): Promise<T> {
  const paths = resolvePaths(program.opts<{ data?: string }>().data);
  const store = new Store(paths.dbPath);
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

/** The statistics the Devices page shows, as lines of text. */
export function benchmarkReport(d: BenchmarkDetail): string {
  const s = d.summary;
  const trialsInfo = d.stats?.trials as { n: number; coverage: number; note: string | null } | null | undefined;
  const lines = [
    `Benchmark #${s.id} on ${d.target}: ${s.status}${s.error ? ` — ${s.error}` : ''}`,
    `  latency (median of ${trialsInfo?.n ?? d.trials.length} trial means): ${ms(s.latencyUs) ?? '—'}`,
  ];
  if (s.ciLowUs !== null && s.ciHighUs !== null) lines.push(`  ${trialsInfo ? (trialsInfo.coverage * 100).toFixed(2) : '95'} % interval: ${ms(s.ciLowUs)} – ${ms(s.ciHighUs)}`);
  if (trialsInfo?.note) lines.push(`  note: ${trialsInfo.note}`);
  if (s.cv !== null) lines.push(`  coefficient of variation: ${(s.cv * 100).toFixed(2)} %`);
  lines.push(`  init: ${s.initMs !== null ? `${s.initMs.toFixed(2)} ms` : '—'}; runner peak memory: ${s.peakMemMb !== null ? `${s.peakMemMb.toFixed(1)} MB` : '—'}; sampled VmHWM: ${d.vmHwmKb !== null ? `${(d.vmHwmKb / 1024).toFixed(1)} MB` : '—'}`);
  lines.push(`  affinity: ${d.affinity ?? 'unavailable'}; runner SHA-256: ${s.runnerSha256 ?? '—'}; model SHA-256: ${d.modelSha256 ?? '—'}`);
  if (typeof d.stats?.delegatedShare === 'number') lines.push(`  delegated: ${((d.stats.delegatedShare as number) * 100).toFixed(1)} % of nodes`);
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
    .description('benchmark a .tflite on one or more phones (K trials, pinned, after cooldown) and store the result')
    .argument('<model>', '.tflite file')
    .requiredOption('-d, --device <serial>', 'ADB serial (repeat for several phones)', collect, [])
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
      await withLab(program, async (lab, _store, bus) => {
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
        const ids = await lab.queue({ modelPath: model, targets: o.device as string[], options: parsed.data });
        const results = await Promise.all(ids.map((id) => lab.wait(id)));
        unsub();
        const details = results.map((b) => lab.detail(b.id));
        if (o.json) console.log(JSON.stringify(details, null, 2));
        else console.log(details.map(benchmarkReport).join('\n\n'));
        if (results.some((b) => b.status !== 'succeeded')) process.exitCode = 1;
      });
    });
}
