/** `pocketbench search spec.json`: find the best model for a device under a budget (a search run). */
import fs from 'node:fs';
import type { Command } from 'commander';
import { formatBytes, formatPercent } from '../../src-shared/format';
import type { SearchResult } from '../../src-shared/search';
import type { RunDetail } from '../../src-shared/types';
import { planSearch } from '../compress/search/plan';
import { type CliEnv, runAndReport } from './run-command';
import { formatTable } from './table';

const EXAMPLE = `{
  "dataset": { "kind": "fashion-mnist" },
  "teacher": { "template": "lenet", "epochs": 10 },      (or { "artifactId": 12 } or { "path": "model.h5" })
  "target": "host",                                       (or an ADB serial)
  "budget": { "maxAccuracyDrop": 1, "maxLatencyMs": 2, "maxBytes": 100000 },
  "space": { "widths": [0.25, 0.5], "resolutions": [28, 20], "sparsities": [0, 0.5],
             "precisions": ["fp16", "int8-dynamic", "int8", "int8-mixed"] }
}`;

export function addSearchCommand(program: Command, env: CliEnv): void {
  program
    .command('search')
    .description('find the smallest, fastest model that meets a budget on one device (distillation, pruning and quantization searched, every candidate measured on the device)')
    .argument('<spec>', 'search spec (JSON file)')
    .option('--json', 'print the finished run as JSON')
    .addHelpText('after', `\nA spec:\n${EXAMPLE}\n\nThe accuracy drop is in points against the teacher's FP32 .tflite, chosen on the validation split; the recommended model's test accuracy is measured once, at the end.`)
    .action(async (file: string, opts: { json?: boolean }) => {
      let spec: unknown;
      try {
        spec = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (err) {
        console.error(`Cannot read the search spec ${file}: ${(err as Error).message}`);
        process.exitCode = 2;
        return;
      }
      const plan = planSearch(spec);
      if (!plan.ok) {
        console.error('The search spec has problems:');
        for (const e of plan.errors) console.error(`  ${e.path}: ${e.message}`);
        process.exitCode = 2;
        return;
      }
      console.error(`Searching ${plan.architectures} architectures in ${plan.rungs!.length} rungs (${plan.rungs!.map((r) => `${r.size}×${r.epochs} ep`).join(' → ')}), then up to ${plan.candidates} finalist variants measured on ${plan.target}.`);
      process.exitCode = await runAndReport(program, env, plan.recipe, Boolean(opts.json), printSearch);
    });
}

function printSearch(run: RunDetail): void {
  const r = (run.stages.find((s) => s.kind === 'search')?.metrics as { search?: SearchResult } | null)?.search;
  if (!r) return;
  const ms = (v?: number) => (v === undefined ? '' : `${v.toFixed(3)} ms`);
  console.log(`\nTeacher FP32 .tflite: validation ${formatPercent(r.teacher.valAccuracy, 2)}, test ${formatPercent(r.teacher.testAccuracy, 2)}, ${ms(r.teacher.latencyMs)}, ${formatBytes(r.teacher.bytes)}`);
  console.log(
    formatTable(
      ['Candidate', 'Status', 'Val acc.', 'Fidelity', 'Latency', 'Quietest', 'Predicted', 'Bytes', 'Why'],
      r.candidates.map((c) => [
        c.id,
        c.status,
        c.valAccuracy !== undefined ? formatPercent(c.valAccuracy, 2) : null,
        c.fidelity !== undefined ? formatPercent(c.fidelity, 1) : null,
        c.latencyMs !== undefined ? `${ms(c.latencyMs)}${c.latencyCiMs ? ` [${c.latencyCiMs[0].toFixed(3)}, ${c.latencyCiMs[1].toFixed(3)}]` : ''}${c.cached ? ' (cached)' : ''}` : null,
        c.bestLatencyMs !== undefined ? ms(c.bestLatencyMs) : null,
        c.predictedLatencyMs !== undefined ? ms(c.predictedLatencyMs) : null,
        c.bytes ?? null,
        c.reason ?? (c.status === 'recommended' ? 'fastest within the budget' : null),
      ]),
    ),
  );
  const lm = r.latencyModel;
  console.log(`Latency model: ${lm.measurements} measurements; held-out median relative error ${lm.heldOut.medianRelError === null ? 'n/a' : formatPercent(lm.heldOut.medianRelError, 1)} over ${lm.heldOut.n} candidates; ${lm.skipped} skipped as out of budget.`);
  console.log(`Pareto frontier (accuracy vs latency): ${r.frontier.latency.join(', ') || 'none'}; (accuracy vs size): ${r.frontier.size.join(', ') || 'none'}.`);
  console.log(r.verdict);
}
