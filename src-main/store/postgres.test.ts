/**
 * A PostgreSQL history survives a lost connection (a server restart, a failover, a network cut):
 * each test kills the store's server process with `pg_terminate_backend`, as an administrator or a
 * crashing server would, at a different moment of a call.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freshDatabase, POSTGRES_MISSING, postgresBinDir } from '../../test/helpers/postgres';
import { PostgresDb, withConnectTimeout } from './postgres';

const missing = postgresBinDir() === null;
if (missing) console.warn(POSTGRES_MISSING);

describe.skipIf(missing)('PostgreSQL history: a lost connection', () => {
  let server: { url: string; drop(): void };
  let db: PostgresDb;
  let admin: PostgresDb;

  beforeEach(() => {
    server = freshDatabase();
    db = new PostgresDb(server.url);
    admin = new PostgresDb(server.url);
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
  });
  afterEach(() => {
    db.close();
    admin.close();
    server.drop();
  });

  const backend = () => (db.prepare('SELECT pg_backend_pid() AS pid').get() as { pid: number }).pid;
  /** End the store's server process and wait until it is gone (PostgreSQL 14+: the timeout argument). */
  const kill = (pid: number) => expect(admin.prepare('SELECT pg_terminate_backend(?, 10000) AS ok').get(pid)).toEqual({ ok: true });
  const rows = () => admin.prepare('SELECT v FROM t ORDER BY id').all().map((r) => (r as { v: string }).v);

  it('a read after the server dropped the connection is sent again on a new one', () => {
    db.prepare('INSERT INTO t (v) VALUES (?)').run('a');
    const before = backend();
    kill(before);
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 1 });
    expect(backend()).not.toBe(before);
  });

  it('a write outside a transaction, lost before it reached the server, is applied once on a new connection', () => {
    kill(backend());
    const r = db.prepare('INSERT INTO t (v) VALUES (?)').run('once');
    expect(r.changes).toBe(1);
    expect(r.lastInsertRowid).toBe(1);
    expect(rows()).toEqual(['once']);
  });

  it('a write whose COMMIT lost the connection is asked about on a new one: applied once, never twice', () => {
    // The server process ends itself while committing the first time (a deferred trigger, fired by COMMIT).
    admin.exec(`
      CREATE SEQUENCE commits_seen;
      CREATE FUNCTION die_at_first_commit() RETURNS trigger LANGUAGE plpgsql AS $f$
      BEGIN
        IF nextval('commits_seen') = 1 THEN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5); END IF;
        RETURN NULL;
      END $f$;
      CREATE CONSTRAINT TRIGGER die_at_commit AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION die_at_first_commit();`);
    const before = backend();
    db.prepare('INSERT INTO t (v) VALUES (?)').run('committed once');
    expect(backend()).not.toBe(before); // the first connection did die at COMMIT
    expect(rows()).toEqual(['committed once']);
    expect(admin.prepare(`SELECT last_value AS n FROM commits_seen`).get()).toEqual({ n: 2 });
  });

  it('a loss in the middle of a transaction fails it with DATABASE_GONE, saves none of it, and the next call reconnects', () => {
    db.prepare('INSERT INTO t (v) VALUES (?)').run('kept');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    let error: unknown;
    try {
      db.transaction(() => {
        insert.run('first half');
        kill(backend());
        insert.run('second half');
      })();
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'DATABASE_GONE', details: { during: 'transaction' } });
    expect((error as Error).message).toMatch(/lost in the middle of a transaction.*none of its changes were saved.*Do it again/s);
    expect(rows()).toEqual(['kept']);
    insert.run('after');
    expect(rows()).toEqual(['kept', 'after']);
  });
});

describe('connecting', () => {
  it('bounds the wait for a server that does not answer (10 s) unless the URL sets its own', () => {
    expect(withConnectTimeout('postgres://u:p@lab-db/pb')).toBe('postgres://u:p@lab-db/pb?connect_timeout=10');
    expect(withConnectTimeout('postgresql://u@/pb?host=%2Ftmp&port=5433')).toBe('postgresql://u@/pb?host=%2Ftmp&port=5433&connect_timeout=10');
    expect(withConnectTimeout('postgres://u@h/pb?sslmode=require&connect_timeout=3')).toBe('postgres://u@h/pb?sslmode=require&connect_timeout=3');
  });

  it.skipIf(missing)('a server that is not there is DATABASE_UNREACHABLE, saying what to check', () => {
    const server = freshDatabase();
    try {
      const url = server.url.replace(/port=\d+/, 'port=1');
      expect(() => new PostgresDb(url)).toThrow(expect.objectContaining({ code: 'DATABASE_UNREACHABLE', message: expect.stringMatching(/Check the server, the URL and the credentials/) }));
    } finally {
      server.drop();
    }
  });
});
