/** `pocketbench import PATH`: a TF.js or Keras model from outside stored as an artifact (no run needed). */
import type { Command } from 'commander';
import type { ModelImportResult } from '../../src-shared/engine-types';
import { AppError } from '../../src-shared/errors';
import { importModelArtifact } from '../compress/train/import-artifact';
import { resolvePaths } from '../host/paths';
import { openStore } from '../host/open-store';
import { NORMALIZATIONS, type NormalizationChoice } from '../models/import';
import { formatTable } from './table';

export function importReport(r: ModelImportResult): string {
  const input = r.meta.input;
  const s = r.summary;
  return [
    `Artifact #${r.artifact.id}: ${r.artifact.name}`,
    `  from:    ${r.file} (${r.format}${r.nestedModels ? `, ${r.nestedModels} nested models flattened` : ''})`,
    `  stored:  ${r.artifact.path}`,
    input.kind === 'image'
      ? `  input:   [${[...input.size, input.channels].join(', ')}] ${input.dtype}, normalization mean ${input.normalization.mean.join(', ')} std ${input.normalization.std.join(', ')}`
      : `  input:   ${input.features} features`,
    `           ${r.normalization.reason}${r.normalization.guessed ? ' (a guess: check it)' : ''}`,
    `  output:  [${s.outputShape.join(', ')}] ${r.meta.output}`,
    `  labels:  ${r.meta.labels?.join(', ') ?? '—'}${r.labelsSource ? ` (from ${r.labelsSource})` : ''}`,
    `  params:  ${s.totals.params} (${s.totals.trainableParams} trainable), ${s.totals.macsDeployed} MACs per sample, ${s.totals.bytes} bytes of float32 weights`,
    ...r.warnings.filter((w) => w !== r.normalization.reason).map((w) => `  warning: ${w}`),
    formatTable(
      ['Layer', 'Type', 'Output', 'Params', 'MACs'],
      s.layers.map((l) => [l.name, l.type + (l.activation && l.activation !== 'linear' ? ` (${l.activation})` : ''), `[${l.outputShape.join(', ')}]`, l.params, l.macs]),
    ),
  ].join('\n');
}

export function addImportCommand(program: Command): void {
  program
    .command('import <path>')
    .description('import a TF.js model.json (nested models included), a Keras .h5 or a Keras 3 .keras (or a folder holding one) as an artifact')
    .option('--json', 'print JSON')
    .option('--name <name>', 'name of the artifact (default: the file name)')
    .option('--normalization <n>', 'input pixels the model expects: signed (x/127.5 − 1), unit (x/255) or raw (0–255); default: decided from the file')
    .action(async (file: string, opts: { json?: boolean; name?: string; normalization?: string }) => {
      const choices = Object.keys(NORMALIZATIONS) as NormalizationChoice[];
      const normalization = opts.normalization === undefined ? undefined : choices.find((c) => c === opts.normalization);
      if (opts.normalization !== undefined && !normalization) throw new AppError('INVALID_ARGS', `--normalization must be one of ${choices.join(', ')} (got ${opts.normalization}).`);
      const paths = resolvePaths(program.opts<{ data?: string }>().data);
      const store = openStore(paths);
      try {
        const r = await importModelArtifact({ store, paths }, { path: file, name: opts.name, normalization });
        console.log(opts.json ? JSON.stringify(r, null, 2) : importReport(r));
      } finally {
        store.close();
      }
    });
}
