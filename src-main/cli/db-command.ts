/**
 * `pocketbench db …`: the history's database.
 * `db migrate-to postgres://…` copies this data folder's SQLite history into a team's PostgreSQL
 * history and verifies it (store/copy.ts); then point PocketBench at it with
 * POCKETBENCH_DATABASE_URL or Settings → Team.
 */
import type { Command } from 'commander';
import { resolvePaths } from '../host/paths';
import { openHistory } from '../store';
import { copyHistory } from '../store/copy';
import { isPostgresUrl, redactUrl } from '../store/sql';
import { formatTable } from './table';

export function addDbCommands(program: Command): void {
  const db = program.command('db').description("the history's database (local SQLite, or a team's PostgreSQL)");
  db.command('migrate-to')
    .description('copy this SQLite history into a PostgreSQL history, verified by row counts and checksums')
    .argument('<url>', 'postgres://user[:password]@host[:port]/database (the database must exist)')
    .option('--replace', 'delete the history the target already holds first (refused otherwise)')
    .option('--json', 'print JSON instead of a table')
    .action((url: string, opts: { replace?: boolean; json?: boolean }) => {
      if (!isPostgresUrl(url)) throw new Error(`${url} is not a PostgreSQL URL: it must start with postgres:// or postgresql://.`);
      const paths = resolvePaths(program.opts<{ data?: string }>().data);
      const source = openHistory(paths.dbPath);
      try {
        const target = openHistory(url);
        try {
          const t0 = Date.now();
          const tables = copyHistory(source, target, { replace: opts.replace });
          if (opts.json) {
            console.log(JSON.stringify({ from: paths.dbPath, to: redactUrl(url), verified: true, tables, ms: Date.now() - t0 }, null, 2));
            return;
          }
          console.log(formatTable(['Table', 'Rows', 'SHA-256 (same on both)'], tables.map((t) => [t.table, t.rows, t.sha256.slice(0, 16)])));
          console.log(`Copied and verified ${paths.dbPath} → ${redactUrl(url)}. Use it with POCKETBENCH_DATABASE_URL or Settings → Team (settings and runners stay on this computer).`);
        } finally {
          target.close();
        }
      } finally {
        source.close();
      }
    });
}
