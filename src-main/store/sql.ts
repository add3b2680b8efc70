/**
 * The one database handle every query class uses, whichever engine holds the history.
 *
 * It is the subset of better-sqlite3's API the store uses (prepare → run/get/all, exec,
 * transaction), so the SQLite handle *is* a better-sqlite3 Database, with no wrapper on the hot
 * path; `postgres.ts` implements the same subset over libpq (pg-native's synchronous calls) and
 * translates the SQLite dialect the queries are written in (`pg-translate.ts`).
 */
export type Dialect = 'sqlite' | 'postgres';

export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

/** Parameters as better-sqlite3 takes them: positional values, or one object of named (`@name`) values. */
export type Params = unknown[];

export interface Statement {
  run(...params: Params): RunResult;
  get(...params: Params): unknown;
  all(...params: Params): unknown[];
}

export interface Transaction<A extends unknown[], R> {
  (...args: A): R;
  /** Takes the write lock first (SQLite BEGIN IMMEDIATE; on PostgreSQL every write locks its rows anyway). */
  immediate(...args: A): R;
}

export interface DB {
  readonly dialect: Dialect;
  /** The file, or the server URL without its password. */
  readonly name: string;
  readonly open: boolean;
  prepare(sql: string): Statement;
  exec(sql: string): void;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): Transaction<A, R>;
  close(): void;
}

export const isPostgresUrl = (location: string): boolean => /^postgres(ql)?:\/\//i.test(location);

/** A database URL with its password replaced, for messages and the status bar. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

/** `IN (?, ?, ?)` for a list of values (both dialects; an empty list matches nothing). */
export function inList(values: readonly unknown[]): string {
  return values.length ? `(${values.map(() => '?').join(', ')})` : '(NULL)';
}
