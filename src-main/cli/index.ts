/**
 * `pocketbench` on the command line: the same services as the app, from a terminal.
 */
import { Command } from 'commander';
import { Store } from '../store';
import { resolvePaths } from '../host/paths';
import { openStore } from '../host/open-store';
import { APP_VERSION } from '../host/version';
import { addDbCommands } from './db-command';
import { addDeviceCommands } from './devices-command';
import { addExportCommands } from './export-command';
import { addImportCommand } from './import-command';
import { addRunCommands, type CliEnv } from './run-command';
import { addSearchCommand } from './search-command';
import { addShrinkCommand } from './shrink-command';
import { formatDuration, formatTable } from './table';

export function buildCli(env: CliEnv = {}): Command {
  const program = new Command()
    .name('pocketbench')
    .description('Compress neural networks, export them to TFLite, profile them on Android phones, and keep the history.')
    .version(APP_VERSION)
    .option('--data <dir>', 'data folder (default: the app data folder, or $POCKETBENCH_DATA_DIR)')
    .showHelpAfterError();

  program
    .command('history')
    .description('list runs from the history, newest first')
    .option('--json', 'print JSON instead of a table')
    .option('-n, --limit <n>', 'how many runs', (v) => positiveInt(v, '--limit'), 50)
    .option('--status <status>', 'only runs with this status (succeeded, failed, running, interrupted, ...)')
    .action((opts: { json?: boolean; limit: number; status?: string }) => {
      withStore(program, (store) => {
        const { items, total } = store.runs.list({ limit: opts.limit, offset: 0, status: opts.status });
        if (opts.json) {
          console.log(JSON.stringify({ total, runs: items }, null, 2));
          return;
        }
        if (items.length === 0) {
          console.log('No runs yet. Start one with `pocketbench demo` or from the app (New run).');
          return;
        }
        console.log(
          formatTable(
            ['ID', 'Name', 'Status', 'Seed', 'Stages', 'Artifacts', 'Started', 'Duration', 'Backend'],
            items.map((r) => [
              r.id,
              r.name,
              r.status,
              r.seed,
              r.stageCount,
              r.artifactCount,
              new Date(r.startedAt ?? r.createdAt).toISOString().replace('T', ' ').slice(0, 16),
              formatDuration(r.finishedAt && r.startedAt ? r.finishedAt - r.startedAt : null),
              r.backend ? `${r.backend}${r.backendThreads ? `×${r.backendThreads}` : ''}` : null,
            ]),
          ),
        );
        if (total > items.length) console.log(`(${items.length} of ${total}; use --limit to see more)`);
      });
    });

  addRunCommands(program, env);
  addDeviceCommands(program);
  addExportCommands(program);
  addImportCommand(program);
  addSearchCommand(program, env);
  addShrinkCommand(program, env);
  addDbCommands(program);

  return program;
}

function positiveInt(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number of at least 1 (got ${v}).`);
  return n;
}

function withStore(program: Command, fn: (store: Store) => void): void {
  const paths = resolvePaths(program.opts<{ data?: string }>().data);
  const store = openStore(paths);
  try {
    fn(store);
  } finally {
    store.close();
  }
}

export async function main(argv = process.argv, env: CliEnv = {}): Promise<void> {
  try {
    await buildCli(env).parseAsync(argv);
  } catch (err) {
    console.error(`pocketbench: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
