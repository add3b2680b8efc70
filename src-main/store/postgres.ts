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
  /** 0 idle, 1 active, 2 in a transaction, 3 in a failed transaction, 4 unknown: the connection is bad. */
  transactionStatus(): number;
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

/** libpq's PQtransactionStatus when the connection is bad (closed by the server, the network, a restart). */
const PQTRANS_UNKNOWN = 4;

/** Thrown inside this file when a call found the connection gone; turned into a retry or DATABASE_GONE. */
class ConnectionLost extends Error {}

/** A statement that only reads (a retry on a fresh connection cannot apply anything twice). */
const READ_ONLY = /^\s*(SELECT|WITH|SHOW|VALUES)\b/i;
const WRITES = /\b(INSERT|UPDATE|DELETE|MERGE|nextval)\b/i;
/** Commands PostgreSQL refuses inside a transaction block: `exec` sends them bare. */
const NO_TRANSACTION = /^\s*(VACUUM|CREATE\s+DATABASE|DROP\s+DATABASE|ALTER\s+SYSTEM|BEGIN|COMMIT|ROLLBACK)\b|\bCONCURRENTLY\b/i;

/**
 * What happens when the server connection is lost (server restart, failover, a network cut,
 * `pg_terminate_backend`, an idle timeout on a proxy):
 * - a read is sent again once, on a new connection;
 * - a write outside a transaction runs as BEGIN; statement; COMMIT with its transaction id noted
 *   first: lost before COMMIT, nothing was applied and it is sent again once; lost during COMMIT,
 *   the server is asked on a new connection whether that transaction committed (`txid_status`), so
 *   it is never applied twice and never reported saved when it was not;
 * - a loss inside `transaction()` fails it with DATABASE_GONE (the server rolled it back; the
 *   caller's work was not saved) and every later call of that transaction too, until it unwinds:
 *   the next call after it reconnects.
 */
export class PostgresDb implements DB {
  readonly dialect = 'postgres' as const;
  readonly name: string;
  private client: NativeClient | null;
  /** The connection broke: reconnect on the next call made outside a transaction. */
  private lost = false;
  private depth = 0;
  private readonly statements = new Map<string, Translated>();
  /** Tables with an `id` column (an INSERT into one returns it as lastInsertRowid). */
  private idTables: Set<string> | null = null;

  constructor(readonly url: string) {
    this.name = redactUrl(url);
    this.client = this.connect();
  }

  private connect(): NativeClient {
    const Client = loadClient();
    const client = new Client({ types: numericTypes() });
    try {
      client.connectSync(withConnectTimeout(this.url));
      // Compare and Trends group and sort up to ~10^5 rows: room to do it in memory (PostgreSQL's
      // default 4 MB spilled Trends' grouping to disk). Per sort, per session; the server's own limit otherwise.
      client.querySync("SET client_min_messages = 'warning'; SET work_mem = '32MB'");
    } catch (err) {
      release(client);
      throw new AppError(
        'DATABASE_UNREACHABLE',
        `Cannot connect to the PostgreSQL history at ${this.name}: ${(err as Error).message.trim()}. Check the server, the URL and the credentials (POCKETBENCH_DATABASE_URL or Settings), or unset it to use the local SQLite history.`,
        { url: this.name },
      );
    }
    return client;
  }

  get open(): boolean {
    return this.client !== null;
  }

  private conn(): NativeClient {
    if (!this.client) throw new TypeError('The database connection is not open');
    if (this.lost) {
      if (this.depth > 0) throw this.gone('transaction');
      this.client = this.connect();
      this.lost = false;
    }
    return this.client;
  }

  /** One call on the connection; a lost connection becomes ConnectionLost (and the client is dropped). */
  private raw(text: string, values?: (string | null)[]): Record<string, unknown>[] {
    const client = this.conn();
    try {
      return values ? client.querySync(text, values) : client.querySync(text);
    } catch (err) {
      if (client.pq.transactionStatus() === PQTRANS_UNKNOWN) {
        this.lost = true;
        release(client);
        throw new ConnectionLost((err as Error).message.trim());
      }
      const fields = client.pq.resultErrorFields();
      const msg = (err as Error).message.replace(/^ERROR:\s*/, '').trim();
      throw new PostgresError(msg, fields?.sqlState ?? null);
    }
  }

  private gone(during: 'transaction' | 'twice' | 'unknown', cause?: string): AppError {
    const why = cause ? ` (${cause.split('\n')[0]})` : '';
    const fix = 'Check that the server is running and reachable (POCKETBENCH_DATABASE_URL or Settings → Team); PocketBench reconnects on its next request.';
    const message = {
      transaction: `The connection to the PostgreSQL history at ${this.name} was lost in the middle of a transaction${why}. The server rolled the transaction back: none of its changes were saved. Do it again once the server answers. ${fix}`,
      twice: `The connection to the PostgreSQL history at ${this.name} was lost, and lost again on a new connection${why}. Nothing was saved. ${fix}`,
      unknown: `The connection to the PostgreSQL history at ${this.name} was lost while the server was saving a change${why}, and PocketBench could not find out whether it was saved. Reload the screen to see whether it is there before doing it again. ${fix}`,
    }[during];
    return new AppError('DATABASE_GONE', message, { url: this.name, during });
  }

  /** A statement that only reads: sent again once on a new connection if the first was lost. */
  private read(text: string, values?: (string | null)[]): Record<string, unknown>[] {
    try {
      return this.raw(text, values);
    } catch (err) {
      if (!(err instanceof ConnectionLost)) throw err;
      if (this.depth > 0) throw this.gone('transaction', err.message);
    }
    try {
      return this.raw(text, values);
    } catch (err) {
      if (err instanceof ConnectionLost) throw this.gone('twice', err.message);
      throw err;
    }
  }

  /**
   * A statement that may write. Inside a transaction: as is (a loss fails the transaction). Outside:
   * its own transaction, so a loss can be told apart from a change applied (see the class comment).
   */
  private write<T>(send: () => T): T {
    if (this.depth > 0) {
      try {
        return send();
      } catch (err) {
        if (err instanceof ConnectionLost) throw this.gone('transaction', err.message);
        throw err;
      }
    }
    for (let attempt = 0; ; attempt++) {
      let xid: string;
      let result: T;
      try {
        xid = String(this.raw('BEGIN; SELECT txid_current()::text AS xid')[0].xid);
        result = send();
      } catch (err) {
        if (err instanceof ConnectionLost) {
          if (attempt === 0) continue; // nothing was committed: send it again on a new connection
          throw this.gone('twice', err.message);
        }
        this.rollbackQuietly();
        throw err;
      }
      try {
        this.raw('COMMIT');
        return result;
      } catch (err) {
        if (!(err instanceof ConnectionLost)) throw err; // COMMIT refused: the server rolled back
        const status = this.commitStatus(xid);
        if (status === 'committed') return result;
        if (status === 'aborted' && attempt === 0) continue;
        throw status === 'aborted' ? this.gone('twice', err.message) : this.gone('unknown', err.message);
      }
    }
  }

  /** Whether transaction `xid` committed, asked on a new connection; null when that cannot be known. */
  private commitStatus(xid: string): 'committed' | 'aborted' | null {
    for (let i = 0; i < 50; i++) {
      let status: unknown;
      try {
        status = this.raw('SELECT txid_status($1::bigint) AS s', [xid])[0]?.s;
      } catch {
        return null;
      }
      if (status === 'committed' || status === 'aborted') return status;
      if (status !== 'in progress') return null; // too old to tell (NULL)
      sleep(20); // the old backend is still finishing
    }
    return null;
  }

  private rollbackQuietly(): void {
    if (this.lost) return; // the server rolls the transaction back itself
    try {
      this.raw('ROLLBACK');
    } catch {
      // the connection is gone: the server rolls the transaction back itself
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
      const rows = this.read(
        `SELECT table_name FROM information_schema.columns WHERE column_name = 'id' AND table_schema = current_schema()`,
      );
      this.idTables = new Set(rows.map((r) => String(r.table_name)));
    }
    return this.idTables.has(table);
  }

  prepare(sql: string): Statement {
    const t = this.translated(sql);
    const reads = READ_ONLY.test(t.text) && !WRITES.test(t.text);
    const rows = (args: unknown[]) => {
      const values = bindValues(t, args);
      return reads ? this.read(t.text, values) : this.write(() => this.raw(t.text, values));
    };
    const run = (args: unknown[]): RunResult => {
      const values = bindValues(t, args);
      const withId = t.insertInto !== null && this.hasId(t.insertInto);
      const send = () => {
        const rows = this.raw(withId ? `${t.text} RETURNING id` : t.text, values);
        return { rows, changes: Number(this.client?.pq.cmdTuples() || 0) };
      };
      const { rows, changes } = reads ? { rows: this.read(t.text, values), changes: 0 } : this.write(send);
      const id = rows.length ? (rows[rows.length - 1].id as number | undefined) : undefined;
      return { changes, lastInsertRowid: typeof id === 'number' ? id : 0 };
    };
    return {
      run: (...args) => run(args),
      get: (...args) => rows(args)[0],
      all: (...args) => rows(args),
    };
  }

  /** Statements without parameters, one or several; schema text is translated from SQLite's types. */
  exec(sql: string): void {
    const text = ddl(sql);
    if (NO_TRANSACTION.test(text) && this.depth === 0) {
      // cannot run in a transaction block, so a loss cannot be told from a change applied
      try {
        this.raw(text);
      } catch (err) {
        if (err instanceof ConnectionLost) throw this.gone('unknown', err.message);
        throw err;
      }
    } else this.write(() => this.raw(text));
    if (/\b(CREATE|ALTER|DROP)\s+TABLE\b/i.test(sql)) this.idTables = null;
  }

  transaction<A extends unknown[], R>(fn: (...args: A) => R): Transaction<A, R> {
    const wrapped = (...args: A): R => {
      const outer = this.depth === 0;
      const savepoint = `pb_sp_${this.depth}`;
      if (outer) this.read('BEGIN'); // a BEGIN lost on the way changed nothing: sent again on a new connection
      else this.write(() => this.raw(`SAVEPOINT ${savepoint}`));
      this.depth++;
      let result: R;
      try {
        result = fn(...args);
        if (result && typeof (result as { then?: unknown }).then === 'function') throw new TypeError('Transaction function cannot return a promise');
      } catch (err) {
        this.depth--;
        // After a loss the server has rolled the whole transaction back: nothing to undo here.
        if (!this.lost) {
          try {
            this.raw(outer ? 'ROLLBACK' : `ROLLBACK TO SAVEPOINT ${savepoint}`);
          } catch {
            // the connection is gone: the server rolls the transaction back itself
          }
        }
        throw err;
      }
      if (!outer) {
        this.depth--;
        this.write(() => this.raw(`RELEASE SAVEPOINT ${savepoint}`));
        return result;
      }
      // COMMIT, its transaction id noted first: if the connection is lost during COMMIT, a new
      // connection asks the server whether it committed.
      let xid: string | null;
      try {
        xid = this.raw('SELECT txid_current_if_assigned()::text AS xid')[0].xid as string | null;
      } catch (err) {
        this.depth--;
        if (err instanceof ConnectionLost) throw this.gone('transaction', err.message);
        this.rollbackQuietly();
        throw err;
      }
      try {
        this.raw('COMMIT');
      } catch (err) {
        this.depth--;
        if (!(err instanceof ConnectionLost)) throw err; // COMMIT refused: the server rolled back
        if (xid === null) return result; // it wrote nothing
        const status = this.commitStatus(xid);
        if (status === 'committed') return result;
        throw status === 'aborted' ? this.gone('transaction', err.message) : this.gone('unknown', err.message);
      }
      this.depth--;
      return result;
    };
    return Object.assign(wrapped, { immediate: wrapped });
  }

  close(): void {
    if (!this.client) return;
    const client = this.client;
    this.client = null;
    if (!this.lost) release(client);
    this.lost = false;
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * libpq waits for the operating system's TCP timeout (about 2 minutes on Linux) to connect to a host
 * that does not answer (a network cut, not a refused port); reconnects happen in the middle of calls,
 * so a history call would hang that long. 10 s unless the URL sets its own.
 */
export function withConnectTimeout(url: string): string {
  if (/[?&]connect_timeout=/.test(url)) return url;
  return `${url}${url.includes('?') ? '&' : '?'}connect_timeout=10`;
}

/**
 * End a client. libpq's add-on closes its socket watcher with uv_close and may be garbage-collected
 * before libuv finishes that close, which then aborts the process (uv__finish_close assertion):
 * keep the closed client reachable until the event loop has run its close callbacks.
 */
function release(client: NativeClient): void {
  try {
    client.end();
  } catch {
    // already closed
  }
  closing.add(client);
  setTimeout(() => closing.delete(client), 100).unref();
}
