/** `pocketbench inspect FILE.tflite` and `pocketbench export ARTIFACT_ID`: the .tflite tools from a terminal. */
import type { Command } from 'commander';
import { AppError } from '../../src-shared/errors';
import type { TfliteInfo } from '../../src-shared/contract/export';
import { inspectTflite } from '../export/inspect';
import { exportModelArtifact, recordDesktopAccuracy } from '../export/service';
import { resolvePaths } from '../host/paths';
import { openStore } from '../host/open-store';
import { initBackend } from '../tf';
import { formatTable } from './table';

export function inspectReport(info: TfliteInfo): string {
  const shape = (s: number[]) => `[${s.join(', ')}]`;
  const lines = [
    `${info.name}: ${info.precision}, ${info.bytes} bytes, schema ${info.schemaVersion}, ${info.operatorCount} operators`,
    `  weights: ${info.params} values, ${info.weightBytes} bytes`,
    ...(info.producer ? [`  producer: ${info.producer}${info.recipeHash ? `, recipe ${info.recipeHash}` : ''}`] : []),
    ...(info.metadata?.normalization ? [`  input normalization: mean ${info.metadata.normalization.mean.join(', ')}, std ${info.metadata.normalization.std.join(', ')}`] : []),
    ...(info.labels ? [`  labels: ${info.labels.join(', ')}`] : []),
    formatTable(
      ['Tensor', 'Role', 'Shape', 'Type', 'Scale', 'Zero point'],
      [...info.inputs.map((t) => ({ ...t, role: 'input' })), ...info.outputs.map((t) => ({ ...t, role: 'output' }))].map((t) => [t.name, t.role, shape(t.shape), t.dtype, t.scale ?? null, t.zeroPoint ?? null]),
    ),
    formatTable(['Operator', 'Version', 'Count'], info.operators.map((o) => [o.op, o.version, o.count])),
  ];
  return lines.join('\n');
}

export function addExportCommands(program: Command): void {
  program
    .command('inspect <file>')
    .description('show the inputs, outputs, operators (with versions), precision and size of a .tflite file')
    .option('--json', 'print JSON')
    .action((file: string, opts: { json?: boolean }) => {
      const info = inspectTflite(file);
      console.log(opts.json ? JSON.stringify(info, null, 2) : inspectReport(info));
    });

  program
    .command('export <artifactId>')
    .description('export a TF.js artifact from the history to .tflite and measure its desktop accuracy')
    .option('--precision <p>', 'fp32, fp16, int8-dynamic or int8', 'int8')
    .option('--int8-io', 'int8 input and output (full INT8 only; same as --io int8)')
    .option('--io <type>', 'full INT8 only: float, int8, or uint8 (takes raw 0–255 pixels, the drop-in form for Android image classifiers)', 'float')
    .option('--calibration <n>', 'calibration samples for full INT8', '256')
    .option('--no-accuracy', 'skip the desktop accuracy on the test split')
    .action(async (artifactId: string, opts: { precision: string; int8Io?: boolean; io: string; calibration: string; accuracy: boolean }) => {
      const precisions = ['fp32', 'fp16', 'int8-dynamic', 'int8'] as const;
      const precision = precisions.find((p) => p === opts.precision);
      if (!precision) throw new AppError('INVALID_ARGS', `--precision must be one of ${precisions.join(', ')} (got ${opts.precision}).`);
      const ios = ['float', 'int8', 'uint8'] as const;
      const io = opts.int8Io ? 'int8' : ios.find((v) => v === opts.io);
      if (!io) throw new AppError('INVALID_ARGS', `--io must be one of ${ios.join(', ')} (got ${opts.io}).`);
      const paths = resolvePaths(program.opts<{ data?: string }>().data);
      const store = openStore(paths);
      try {
        await initBackend();
        const { artifact, dataset } = await exportModelArtifact(store, {
          artifactId: Number(artifactId),
          precision,
          io,
          calibrationSamples: Number(opts.calibration),
          artifactsDir: paths.artifactsDir,
        });
        console.log(`Artifact #${artifact.id}: ${artifact.path} (${artifact.bytes} bytes, gzip ${artifact.gzipBytes})`);
        if (opts.accuracy && io !== 'int8' && dataset) {
          const acc = await recordDesktopAccuracy(store, artifact.id, dataset);
          console.log(`Desktop accuracy (LiteRT, CPU): ${(acc.deployedAccuracy * 100).toFixed(2)} % on ${acc.samples} test samples${acc.tfjsAccuracy !== null ? `; TF.js ${(acc.tfjsAccuracy * 100).toFixed(2)} %` : ''}`);
        }
      } finally {
        store.close();
      }
    });
}
