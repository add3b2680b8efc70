/**
 * The history on a PostgreSQL server, behind the same synchronous handle as SQLite (sql.ts).
 *
 * Why synchronous: every caller of the store (pipeline, device lab, handlers) uses its typed query
 * classes synchronously, as better-sqlite3 allows. pg-native wraps libpq and offers blocking calls
 * (`connectSync`, `querySync`), which keeps that interface; a query on a LAN server costs a round
 * trip (~0.1–1 ms), fine for a history written a few times per second. pg-native is an optional
 * dependency: where it cannot be built, SQLite keeps working and a PostgreSQL URL gets a clear error.
 *
 * Types: BIGINT (ids, ms timestamps, counts) and NUMERIC come back as JS numbers, like SQLite's.
 */
import { createRequire } from 'node:module';
import { AppError } from '../../src-shared/errors';
import { bindValues, ddl, translate, type Translated } from './pg-translate';
import { type DB, type RunResult, type Statement, type Transaction, redactUrl } from './sql';

interface Libpq {
  cmdTuples(): string;
  resultErrorFields(): Record<string, string> | null;
}

interface NativeClient {
  pq: Libpq;
  connectSync(url: string): void;
  querySync(text: string, values?: (string | null)[]): Record<string, unknown>[];
  end(): void;
}

type ClientCtor = new (config?: { types?: unknown }) => NativeClient;

const requireHere = createRequire(import.meta.url);
let ctor: ClientCtor | null = null;

function loadClient(): ClientCtor {
  if (ctor) return ctor;
  try {
    ctor = requireHere('pg-native') as ClientCtor;
  } catch (err) {
    throw new AppError(
      'POSTGRES_CLIENT_MISSING',
      `A PostgreSQL history needs the pg-native module, which is not installed or did not build (${(err as Error).message.split('\n')[0]}). Install libpq's headers (Debian: apt install libpq-dev) and run npm install again, or unset POCKETBENCH_DATABASE_URL to use the local SQLite history.`,
    );
  }
  return ctor;
}

/** pg-types with BIGINT (20) and NUMERIC (1700) read as numbers: ids, ms timestamps, count(*). */
function numericTypes(): { getTypeParser(oid: number, format?: string): (v: string) => unknown } {
  const base = requireHere('pg-types') as { getTypeParser(oid: number, format?: string): (v: string) => unknown };
  return {
    getTypeParser(oid, format) {
      if (oid === 20 || oid === 1700) return (v: string) => Number(v);
      return base.getTypeParser(oid, format);
    },
  };
}

/** An error from the server, with its SQLSTATE as `code` (23505 unique violation, 40001…). */
export class PostgresError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'PostgresError';
  }
}

const closing = new Set<NativeClient>();

export class PostgresDb implements DB {
  readonly dialect = 'postgres' as const;
  readonly name: string;
  private client: NativeClient | null;
  private depth = 0;
  private readonly statements = new Map<string, Translated>();
  /** Tables with an `id` column (an INSERT into one returns it as lastInsertRowid). */
  private idTables: Set<string> | null = null;

  constructor(readonly url: string) {
    this.name = redactUrl(url);
    const Client = loadClient();
    const client = new Client({ types: numericTypes() });
    try {
      client.connectSync(url);
    } catch (err) {
      throw new AppError(
        'DATABASE_UNREACHABLE',
        `Cannot connect to the PostgreSQL history at ${this.name}: ${(err as Error).message.trim()}. Check the server, the URL and the credentials (POCKETBENCH_DATABASE_URL or Settings), or unset it to use the local SQLite history.`,
        { url: this.name },
      );
    }
    this.client = client;
    this.query("SET client_min_messages = 'warning'");
    // Compare and Trends group and sort up to ~10^5 rows: room to do it in memory (PostgreSQL's
    // default 4 MB spilled Trends' grouping to disk). Per sort, per session; the server's own limit otherwise.
    this.query("SET work_mem = '32MB'");
  }

  get open(): boolean {
    return this.client !== null;
  }

  private conn(): NativeClient {
    if (!this.client) throw new TypeError('The database connection is not open');
    return this.client;
  }

  private query(text: string, values?: (string | null)[]): Record<string, unknown>[] {
    const client = this.conn();
    try {
      return values ? client.querySync(text, values) : client.querySync(text);
    } catch (err) {
      const fields = client.pq.resultErrorFields();
      const msg = (err as Error).message.replace(/^ERROR:\s*/, '').trim();
      throw new PostgresError(msg, fields?.sqlState ?? null);
    }
  }

  private translated(sql: string): Translated {
    let t = this.statements.get(sql);
    if (!t) {
      t = translate(sql);
      if (this.statements.size > 2000) this.statements.clear();
      this.statements.set(sql, t);
    }
    return t;
  }

  private hasId(table: string): boolean {
    if (!this.idTables) {
      const rows = this.query(
        `SELECT table_name FROM information_schema.columns WHERE column_name = 'id' AND table_schema = current_schema()`,
      );
      this.idTables = new Set(rows.map((r) => String(r.table_name)));
    }
    return this.idTables.has(table);
  }

  prepare(sql: string): Statement {
    const t = this.translated(sql);
    const run = (args: unknown[]): RunResult => {
      const values = bindValues(t, args);
      const withId = t.insertInto !== null && this.hasId(t.insertInto);
      const rows = this.query(withId ? `${t.text} RETURNING id` : t.text, values);
      const changes = Number(this.conn().pq.cmdTuples() || 0);
      const id = rows.length ? (rows[rows.length - 1].id as number | undefined) : undefined;
      return { changes, lastInsertRowid: typeof id === 'number' ? id : 0 };
    };
    return {
      run: (...args) => run(args),
      get: (...args) => this.query(t.text, bindValues(t, args))[0],
      all: (...args) => this.query(t.text, bindValues(t, args)),
    };
  }

  /** Statements without parameters, one or several; schema text is translated from SQLite's types. */
  exec(sql: string): void {
    this.query(ddl(sql));
    if (/\b(CREATE|ALTER|DROP)\s+TABLE\b/i.test(sql)) this.idTables = null;
  }

  transaction<A extends unknown[], R>(fn: (...args: A) => R): Transaction<A, R> {
    const wrapped = (...args: A): R => {
      const outer = this.depth === 0;
      const savepoint = `pb_sp_${this.depth}`;
      this.query(outer ? 'BEGIN' : `SAVEPOINT ${savepoint}`);
      this.depth++;
      let result: R;
      try {
        result = fn(...args);
        if (result && typeof (result as { then?: unknown }).then === 'function') throw new TypeError('Transaction function cannot return a promise');
      } catch (err) {
        this.depth--;
        try {
          this.query(outer ? 'ROLLBACK' : `ROLLBACK TO SAVEPOINT ${savepoint}`);
        } catch {
          // the connection is gone: the server rolls the transaction back itself
        }
        throw err;
      }
      this.depth--;
      this.query(outer ? 'COMMIT' : `RELEASE SAVEPOINT ${savepoint}`);
      return result;
    };
    return Object.assign(wrapped, { immediate: wrapped });
  }

  close(): void {
    if (!this.client) return;
    const client = this.client;
    this.client = null;
    client.end();
    // libpq's add-on closes its socket watcher with uv_close and may be garbage-collected before
    // libuv finishes that close, which then aborts the process (uv__finish_close assertion):
    // keep the closed client reachable until the event loop has run its close callbacks.
    closing.add(client);
    setTimeout(() => closing.delete(client), 100).unref();
  }
}
