/**
 * `pocketbench db migrate-to postgres://…`: copy a SQLite history into a (new, empty) PostgreSQL
 * history, then prove the copy: the same row count and the same SHA-256 of every table's rows
 * (read back from both databases in id order, each row's values as JSON in the source's column
 * order), or an error that says which table differs.
 *
 * Copied: datasets, runs, stages, artifacts, devices, benchmarks with their trials and op profiles,
 * ids kept (links, checkpoint folders and the UI's URLs stay valid); identity sequences are moved
 * past every id ever used (for runs, SQLite's high-water mark too: a deleted run's id is never
 * handed out again). Not copied: settings and runner binaries, which are about this computer and
 * stay in its local file. Everything happens in one transaction: a failed copy leaves the target
 * as it was. A target that already holds history is refused unless `replace` (then emptied first).
 */
import { createHash } from 'node:crypto';
import { AppError } from '../../src-shared/errors';
import type { DB } from './db';

/** In foreign-key order. */
export const HISTORY_TABLES = ['datasets', 'runs', 'stages', 'artifacts', 'devices', 'benchmarks', 'benchmark_trials', 'op_profiles'] as const;

export interface TableCopy {
  table: string;
  rows: number;
  sha256: string;
}

const PAGE = 2000;

function columns(db: DB, table: string): string[] {
  return (db.prepare(`SELECT name FROM pragma_table_info('${table}') ORDER BY cid`).all() as { name: string }[]).map((r) => r.name);
}

/** Rows of `table` in id order, page by page (a large history never sits in memory at once). */
function* pages(db: DB, table: string, cols: string[]): Generator<Record<string, unknown>[]> {
  let after = -Infinity;
  const q = db.prepare(`SELECT ${cols.join(', ')} FROM ${table} WHERE id > ? ORDER BY id LIMIT ${PAGE}`);
  for (;;) {
    const rows = q.all(after === -Infinity ? -1 : after) as Record<string, unknown>[];
    if (!rows.length) return;
    yield rows;
    after = rows[rows.length - 1].id as number;
  }
}

/** Row count and SHA-256 over the rows in id order (values as JSON, in `cols` order). */
export function tableDigest(db: DB, table: string, cols: string[]): { rows: number; sha256: string } {
  const hash = createHash('sha256');
  let rows = 0;
  for (const page of pages(db, table, cols)) {
    for (const r of page) hash.update(`${JSON.stringify(cols.map((c) => r[c] ?? null))}\n`);
    rows += page.length;
  }
  return { rows, sha256: hash.digest('hex') };
}

export function historyRowCount(db: DB): number {
  return HISTORY_TABLES.reduce((n, t) => n + (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n, 0);
}

export function copyHistory(source: DB, target: DB, opts: { replace?: boolean } = {}): TableCopy[] {
  if (source.dialect !== 'sqlite') throw new AppError('BAD_SOURCE', 'The history to copy must be a SQLite file.');
  if (target.dialect !== 'postgres') throw new AppError('BAD_TARGET', 'The target must be a PostgreSQL history (postgres://…).');
  const existing = historyRowCount(target);
  if (existing > 0 && !opts.replace) {
    throw new AppError(
      'TARGET_NOT_EMPTY',
      `The PostgreSQL history at ${target.name} already holds ${existing} rows. Nothing was copied. Copy into an empty database, or pass --replace to delete its history first.`,
      { rows: existing },
    );
  }
  const plan = HISTORY_TABLES.map((table) => ({ table, cols: columns(source, table) }));
  target.transaction(() => {
    if (existing > 0) target.exec(`TRUNCATE ${HISTORY_TABLES.join(', ')} RESTART IDENTITY CASCADE`);
    for (const { table, cols } of plan) {
      // artifacts point at their parents: insert without the link, then set it (parents may come later in id order)
      const insertCols = cols;
      const parentLater: [number, number][] = [];
      // multi-row INSERTs, under PostgreSQL's 65,535 parameters per statement
      const perInsert = Math.max(1, Math.floor(30_000 / insertCols.length));
      for (const page of pages(source, table, cols)) {
        for (let i = 0; i < page.length; i += perInsert) {
          const chunk = page.slice(i, i + perInsert);
          const values: unknown[] = [];
          for (const r of chunk) {
            for (const c of insertCols) {
              if (table === 'artifacts' && c === 'parent_id' && r[c] !== null) {
                parentLater.push([r.id as number, r[c] as number]);
                values.push(null);
              } else values.push(r[c] ?? null);
            }
          }
          const tuple = `(${insertCols.map(() => '?').join(', ')})`;
          target.prepare(`INSERT INTO ${table} (${insertCols.join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}`).run(...values);
        }
      }
      const setParent = target.prepare('UPDATE artifacts SET parent_id = ? WHERE id = ?');
      for (const [id, parent] of parentLater) setParent.run(parent, id);
      const floor =
        table === 'runs'
          ? ((source.prepare(`SELECT coalesce(max(last_id), 0) AS n FROM id_high_water WHERE tbl = 'runs'`).get() as { n: number }).n ?? 0)
          : 0;
      target
        .prepare(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), GREATEST(coalesce((SELECT max(id) FROM ${table}), 0), ?, 1))`)
        .get(floor);
    }
  })();
  return verifyCopy(source, target, plan);
}

/** Counts and checksums, table by table; throws COPY_MISMATCH naming the tables that differ. */
export function verifyCopy(source: DB, target: DB, plan: { table: string; cols: string[] }[]): TableCopy[] {
  const out: TableCopy[] = [];
  const bad: string[] = [];
  for (const { table, cols } of plan) {
    const a = tableDigest(source, table, cols);
    const b = tableDigest(target, table, cols);
    if (a.rows !== b.rows || a.sha256 !== b.sha256) bad.push(`${table} (${a.rows} rows ${a.sha256.slice(0, 12)} here, ${b.rows} rows ${b.sha256.slice(0, 12)} there)`);
    out.push({ table, ...a });
  }
  if (bad.length) throw new AppError('COPY_MISMATCH', `The copy differs from the original in: ${bad.join('; ')}. Keep using the SQLite history and report this.`, { bad });
  return out;
}
