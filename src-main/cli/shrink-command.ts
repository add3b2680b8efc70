/**
 * `pocketbench shrink MODEL FOLDER`: the "Shrink my Teachable Machine model" preset from a terminal.
 * Imports the model (stored as an artifact, refused with what to do when it cannot be a teacher),
 * runs `shrinkRecipe` (src-shared/byom.ts) and prints the original and the student side by side.
 */
import type { Command } from 'commander';
import { shrinkComparison, shrinkRecipe, studentSuggestions } from '../../src-shared/byom';
import { AppError } from '../../src-shared/errors';
import { formatBytes, formatPercent } from '../../src-shared/format';
import type { RunDetail } from '../../src-shared/types';
import { importModelArtifact } from '../compress/train/import-artifact';
import { resolvePaths } from '../host/paths';
import { openStore } from '../host/open-store';
import { type CliEnv, runAndReport } from './run-command';
import { formatTable } from './table';

/** The side-by-side table of a finished shrink run. */
export function shrinkReport(run: RunDetail): string {
  const c = shrinkComparison(run.stages);
  const ms = (v: number | undefined) => (v === undefined ? null : `${v.toFixed(2)} ms`);
  const targets = [...new Set([...Object.keys(c.original.latencyMs), ...Object.keys(c.student.latencyMs)])];
  const rows: (string | number | null)[][] = [
    ['.tflite bytes', c.original.fileBytes !== undefined ? formatBytes(c.original.fileBytes) : null, c.student.fileBytes !== undefined ? formatBytes(c.student.fileBytes) : null],
    ['parameters', c.original.params ?? null, c.student.params ?? null],
    ...(c.byTeacher ? [] : [[`accuracy (${c.student.accuracyOn === 'tflite' ? '.tflite in LiteRT' : 'TF.js'})`, c.original.accuracy !== undefined ? formatPercent(c.original.accuracy) : null, c.student.accuracy !== undefined ? formatPercent(c.student.accuracy) : null]]),
    [`fidelity to the original (${c.student.fidelityOn === 'tflite' ? '.tflite in LiteRT' : 'TF.js'})`, 'reference', c.student.fidelity !== undefined ? formatPercent(c.student.fidelity) : null],
    ...targets.map((t) => [`latency on ${t}`, ms(c.original.latencyMs[t]), ms(c.student.latencyMs[t])]),
  ];
  return formatTable(['', 'original (FP32 .tflite)', 'student (INT8 .tflite)'], rows);
}

export function addShrinkCommand(program: Command, env: CliEnv): void {
  program
    .command('shrink')
    .description('shrink a Teachable Machine (or any image classifier) export: distill an INT8 .tflite student from a folder of images, profile both')
    .argument('<model>', 'keras_model.h5, a TF.js model folder, a float .tflite, or a folder holding one')
    .argument('<folder>', 'images: one subfolder per class (named like the model labels), or any images with --unlabelled')
    .option('--unlabelled', 'the images have no labels: distill on the model’s soft targets alone and report fidelity')
    .option('--device <serial>', 'also profile on this phone (ADB serial); this computer is always profiled')
    .option('--student <n>', 'which suggested student: 0 smallest … 3 the teacher’s resolution (default 1)', '1')
    .option('--epochs <n>', 'distillation epochs', '12')
    .option('--io <type>', 'the student file’s input: uint8 (raw pixels) or float32', 'uint8')
    .option('--json', 'print the finished run as JSON')
    .action(async (model: string, folder: string, opts: { unlabelled?: boolean; device?: string; student: string; epochs: string; io: string; json?: boolean }) => {
      if (opts.io !== 'uint8' && opts.io !== 'float32') throw new AppError('INVALID_ARGS', `--io must be uint8 or float32 (got ${opts.io}).`);
      const paths = resolvePaths(program.opts<{ data?: string }>().data);
      const store = openStore(paths);
      let imported;
      try {
        imported = await importModelArtifact({ store, paths }, { path: model });
      } finally {
        store.close();
      }
      const input = imported.meta.input;
      if (input.kind !== 'image') throw new AppError('UNSUPPORTED', `${imported.file} takes feature vectors; shrink works on image classifiers.`);
      const suggestions = studentSuggestions(input);
      const pick = suggestions[Number(opts.student)];
      if (!pick) throw new AppError('INVALID_ARGS', `--student must be 0 to ${suggestions.length - 1}: ${suggestions.map((s, i) => `${i} ${s.title} (×${s.width} at ${s.size} px)`).join(', ')}.`);
      const recipe = shrinkRecipe({
        teacher: { artifactId: imported.artifact.id },
        teacherInput: input,
        folder,
        labelled: !opts.unlabelled,
        targets: opts.device ? ['host', opts.device] : ['host'],
        student: { width: pick.width, size: pick.size },
        epochs: Number(opts.epochs),
        io: opts.io,
      });
      process.exitCode = await runAndReport(program, env, recipe, Boolean(opts.json), (run) => console.log(shrinkReport(run)));
    });
}
