import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { migrate } from './migrations';
import { PostgresDb } from './postgres';
import { type DB, isPostgresUrl } from './sql';

export type { DB } from './sql';

/** The history at `location`: a `postgres://` URL (shared team history) or a SQLite file. */
export function openHistory(location: string, opts: { migrate?: boolean } = {}): DB {
  if (!isPostgresUrl(location)) return asDb(openDatabase(location, opts));
  const db = new PostgresDb(location);
  try {
    if (opts.migrate !== false) migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** A better-sqlite3 handle as the store's DB (the same object: nothing in between on the hot path). */
export function asDb(db: Database.Database): DB {
  return Object.assign(db, { dialect: 'sqlite' as const }) as unknown as DB;
}

/**
 * Open (and migrate) the history database.
 * WAL so the UI can read while a run writes; `synchronous = NORMAL` is durable across process
 * crashes in WAL mode (only a power loss can drop the last transactions, never corrupt the file);
 * foreign keys on so deletes cascade and lineage stays consistent.
 */
export function openDatabase(file: string, opts: { migrate?: boolean } = {}): Database.Database {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(file);
  } catch (err) {
    throw new Error(`Cannot open the history database at ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // Fail fast on a file that is not a database, with a message that says so.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    if (opts.migrate !== false) migrate(db);
  } catch (err) {
    db.close();
    const msg = (err as Error).message;
    if (/not a database|malformed/i.test(msg)) {
      throw new Error(
        `The history database at ${file} is damaged (${msg}). Restore a backup from the backups folder, or move the file away to start a new history.`,
        { cause: err },
      );
    }
    throw err;
  }
  return db;
}

export const now = (): number => Date.now();

export function json(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

export function parseJson<T>(text: string | null | undefined, fallback: T): T {
  if (text === null || text === undefined || text === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}
