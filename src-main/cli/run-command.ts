/** `pocketbench run RECIPE.json` and `pocketbench demo`: run a recipe with a progress line, then print results. */
import fs from 'node:fs';
import type { Command } from 'commander';
import type { RunProgress } from '../../src-shared/contract/pipeline';
import { formatDuration } from '../../src-shared/format';
import { formatMetric, metricLabel, stageLabel, targetName } from '../../src-shared/metric-labels';
import { runSummary } from '../../src-shared/run-summary';
import { presetById, presets } from '../../src-shared/presets';
import { validateRecipe } from '../../src-shared/recipe';
import { EventBus } from '../host/events';
import { resolvePaths } from '../host/paths';
import { openStore } from '../host/open-store';
import { createLab, type DeviceLab } from '../devices';
import { createHostTarget } from '../devices/host-target';
import { devicesHostServices } from '../devices/pipeline-service';
import { acquireDataLock } from '../host/data-lock';
import { PipelineService } from '../pipeline/service';
import { defaultWorkerEntry } from '../pipeline/worker-process';
import type { RunDetail } from '../../src-shared/types';
import { formatTable } from './table';

export interface CliEnv {
  /** Folder of the built bundles (where the pipeline worker lives). */
  builtDir?: string;
}

export function addRunCommands(program: Command, env: CliEnv): void {
  program
    .command('run')
    .description('run a recipe (a JSON file, or preset:<id>) and store the results')
    .argument('<recipe>', `recipe file, or one of: ${presets.map((p) => `preset:${p.id}`).join(', ')}`)
    .option('--json', 'print the finished run as JSON')
    .action(async (recipeArg: string, opts: { json?: boolean }) => {
      const recipe = loadRecipeArg(recipeArg);
      process.exitCode = await runAndReport(program, env, recipe, Boolean(opts.json));
    });

  program
    .command('demo')
    .description('run the default preset on Fashion-MNIST end to end and print a results table')
    .option('--json', 'print the finished run as JSON')
    .action(async (opts: { json?: boolean }) => {
      process.exitCode = await runAndReport(program, env, presetById('demo')!.recipe, Boolean(opts.json));
    });
}

function loadRecipeArg(arg: string): unknown {
  if (arg.startsWith('preset:')) {
    const p = presetById(arg.slice(7));
    if (!p) throw new Error(`There is no preset "${arg.slice(7)}". Presets: ${presets.map((x) => x.id).join(', ')}.`);
    return p.recipe;
  }
  let text: string;
  try {
    text = fs.readFileSync(arg, 'utf8');
  } catch (err) {
    throw new Error(`Cannot read the recipe file ${arg}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${arg} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Runs a recipe with a progress line; `report` prints more about the finished run (after the stage table). */
export async function runAndReport(program: Command, env: CliEnv, recipeInput: unknown, json: boolean, report?: (run: RunDetail) => void): Promise<number> {
  const checked = validateRecipe(recipeInput);
  if (!checked.ok) {
    console.error('The recipe has problems:');
    for (const e of checked.errors) console.error(`  ${e.path}: ${e.message}`);
    return 2;
  }
  for (const w of checked.warnings) console.error(`warning: ${w.path}: ${w.message}`);

  const paths = resolvePaths(program.opts<{ data?: string }>().data);
  const lock = acquireDataLock(paths.dataDir, 'pocketbench run');
  const store = openStore(paths);
  const bus = new EventBus();
  // The profile stage asks the host for the device lab; created only when a run profiles.
  let lab: DeviceLab | null = null;
  const getLab = () => {
    if (!lab) {
      const host = createHostTarget({ store });
      lab = createLab({ store, bus, dataDir: paths.dataDir, extraTargets: (k) => (k === host.key ? host : null), extraTargetKeys: [host.key] });
    }
    return lab;
  };
  const service = new PipelineService({ store, bus, paths, workerEntry: defaultWorkerEntry(env.builtDir), hostServices: devicesHostServices({ bus }, getLab) });
  const tty = process.stderr.isTTY;
  let lastLine = '';
  bus.subscribe((event, payload) => {
    if (event === 'run.progress') {
      const line = progressLine(payload as RunProgress);
      if (tty) process.stderr.write(`\r\x1b[K${line}`);
      else if (line !== lastLine) process.stderr.write(`${line}\n`);
      lastLine = line;
    } else if (event === 'run.log') {
      const l = payload as { level: string; message: string };
      process.stderr.write(`${tty ? '\r\x1b[K' : ''}${l.level}: ${l.message}\n`);
    }
  });
  const onSigint = () => {
    process.stderr.write('\nCancelling… (finished stages are kept; resume from the app)\n');
    service.cancel(runId);
  };
  const { runId } = service.start(checked.recipe);
  process.once('SIGINT', onSigint);
  await service.idle();
  process.off('SIGINT', onSigint);
  if (tty) process.stderr.write('\r\x1b[K');
  const run = store.runs.get(runId)!;
  await (lab as DeviceLab | null)?.close();
  store.close();
  lock.release();
  if (json) {
    console.log(JSON.stringify(run, null, 2));
  } else {
    console.log(`Run #${run.id} "${run.name}": ${run.status} in ${formatDuration(run.finishedAt && run.startedAt ? run.finishedAt - run.startedAt : null)} (${run.backend ?? '?'}${run.backendThreads ? ` ×${run.backendThreads}` : ''})`);
    if (run.error) console.log(run.error);
    console.log(stageTable(run));
    // The result first in words (the same figures and labels as the app's summary card).
    const summary = runSummary(run);
    if (summary?.figures.length) {
      console.log('');
      for (const f of summary.figures) console.log(`${f.label}: ${f.value}${f.change ? ` (${f.change})` : ''}`);
      console.log(summary.verdict);
      console.log('');
    }
    // Stage verdicts (for example whether distillation beat its control), in words.
    for (const s of run.stages) if (typeof s.metrics?.note === 'string') console.log(`${stageTitle(s)}: ${s.metrics.note}`);
    report?.(run);
  }
  return run.status === 'succeeded' ? 0 : 1;
}

/** "1. Train the teacher": the stage in words, as the app and the HTML report name it (the kind stays in the recipe JSON). */
export const stageTitle = (s: { index: number; kind: string }): string => `${s.index + 1}. ${stageLabel(s.kind)}`;

/** The finished run's stages with their figures, one row each. */
export function stageTable(run: Pick<RunDetail, 'stages'>): string {
  return formatTable(
    ['Stage', 'Status', 'Duration', metricLabel('accuracy'), metricLabel('deployedAccuracy'), metricLabel('params'), metricLabel('bytes'), metricLabel('latencyMs')],
    run.stages.map((s) => {
      const m = (s.metrics ?? {}) as Record<string, number | undefined>;
      return [
        stageTitle(s),
        s.status,
        formatDuration(s.durationMs),
        m.accuracy !== undefined ? formatMetric('accuracy', m.accuracy) : null,
        m.deployedAccuracy !== undefined ? formatMetric('deployedAccuracy', m.deployedAccuracy) : null,
        m.params !== undefined ? formatMetric('params', m.params) : null,
        m.bytes !== undefined ? formatMetric('bytes', m.bytes) : null,
        m.latencyUs !== undefined ? formatMetric('latencyUs', m.latencyUs) : profiledLatency(m),
      ];
    }),
  );
}

/** A profile stage's median latency per target (`host.latencyMs`, `SERIAL.latencyMs`), in words. */
function profiledLatency(m: Record<string, unknown>): string | null {
  const parts = Object.entries(m)
    .filter(([k, v]) => k.endsWith('.latencyMs') && typeof v === 'number')
    .map(([k, v]) => `${targetName(k.slice(0, -'.latencyMs'.length))} ${formatMetric(k, v)}`);
  return parts.length ? parts.join(', ') : null;
}

/** The live progress line: "2. Distill into the student · epoch 1/3 · batch 4/22 · [####....] 18% · ETA 40 s". */
export function progressLine(p: RunProgress): string {
  const parts = [stageTitle({ index: p.stageIndex, kind: p.stageKind })];
  if (p.phase) parts.push(p.phase);
  if (p.epoch !== undefined) parts.push(`epoch ${p.epoch}/${p.epochs ?? '?'}`);
  if (p.batch !== undefined) parts.push(`batch ${p.batch}/${p.batches ?? '?'}`);
  if (p.fraction !== undefined) {
    const w = 20;
    const f = Math.max(0, Math.min(1, p.fraction));
    parts.push(`[${'#'.repeat(Math.round(f * w)).padEnd(w, '.')}] ${Math.round(f * 100)}%`);
  }
  for (const [k, v] of Object.entries(p.metrics ?? {})) parts.push(`${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`);
  if (p.etaMs !== undefined) parts.push(`ETA ${formatDuration(p.etaMs)}`);
  if (p.message) parts.push(p.message);
  return parts.join(' · ');
}
