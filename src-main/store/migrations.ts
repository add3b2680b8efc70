/**
 * Schema migrations, applied in order and tracked with SQLite's `user_version` (PostgreSQL: the
 * `pocketbench_schema` table). Never edit a migration that has shipped: append a new one. Each runs
 * in a transaction, so a crash mid-migration leaves the previous version intact.
 *
 * One list for both databases: `up` is written for SQLite and runs on PostgreSQL too, its schema
 * text translated (`pg-translate.ts` `ddl`: identity ids, BIGINT, DOUBLE PRECISION). A migration
 * whose SQL only SQLite understands (triggers, pragmas) gives its PostgreSQL form in `postgres`.
 */
import type { Database } from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import type { DB } from './sql';

type Handle = Pick<DB, 'exec'>;

export interface Migration {
  version: number;
  description: string;
  up: (db: Handle) => void;
  /** The PostgreSQL form, when `up`'s SQL is SQLite-only. */
  postgres?: (db: Handle) => void;
}

/**
 * SQLite's `json_extract(doc, '$.key')` as the store uses it (numbers and booleans read as numbers),
 * so Compare and Trends are the same SQL on both databases. A plain SQL function (PostgreSQL inlines
 * it); the store only writes JSON.stringify output, so the cast never meets invalid text.
 */
const PG_JSON_EXTRACT = `
  CREATE OR REPLACE FUNCTION json_extract(doc TEXT, path TEXT) RETURNS DOUBLE PRECISION
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
    SELECT CASE jsonb_typeof(v)
      WHEN 'number' THEN (v #>> '{}')::double precision
      WHEN 'boolean' THEN CASE WHEN v = 'true'::jsonb THEN 1 ELSE 0 END
      END
    FROM (SELECT CASE WHEN left(path, 2) = '$.' THEN doc::jsonb -> substr(path, 3) END AS v) AS j
  $fn$;`;

export const migrations: Migration[] = [
  {
    version: 1,
    description: 'initial schema',
    up: (db) =>
      db.exec(`
        CREATE TABLE datasets (
          id            INTEGER PRIMARY KEY,
          name          TEXT NOT NULL,
          kind          TEXT NOT NULL,            -- fashion-mnist | image-folder | csv
          source        TEXT NOT NULL,            -- folder or file it was read from
          content_hash  TEXT NOT NULL,            -- sha256 over the data files
          classes_json  TEXT NOT NULL DEFAULT '[]',
          counts_json   TEXT NOT NULL DEFAULT '[]',
          input_shape_json TEXT NOT NULL DEFAULT '[]',
          created_at    INTEGER NOT NULL,
          UNIQUE (kind, content_hash)
        );

        CREATE TABLE runs (
          id            INTEGER PRIMARY KEY,
          name          TEXT NOT NULL,
          recipe_json   TEXT NOT NULL,
          recipe_hash   TEXT NOT NULL,
          seed          INTEGER NOT NULL,
          status        TEXT NOT NULL CHECK (status IN ('queued','running','succeeded','failed','cancelled','interrupted')),
          error         TEXT,
          dataset_id    INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
          created_at    INTEGER NOT NULL,
          started_at    INTEGER,
          finished_at   INTEGER,
          app_version   TEXT NOT NULL,
          backend       TEXT,
          backend_threads INTEGER
        );
        CREATE INDEX runs_created ON runs(created_at DESC);

        CREATE TABLE stages (
          id            INTEGER PRIMARY KEY,
          run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          idx           INTEGER NOT NULL,
          kind          TEXT NOT NULL,
          status        TEXT NOT NULL CHECK (status IN ('pending','running','succeeded','failed','skipped','cancelled')),
          params_json   TEXT NOT NULL DEFAULT '{}',
          metrics_json  TEXT,
          curves_json   TEXT,
          started_at    INTEGER,
          finished_at   INTEGER,
          duration_ms   REAL,
          error         TEXT,
          UNIQUE (run_id, idx)
        );

        CREATE TABLE artifacts (
          id            INTEGER PRIMARY KEY,
          run_id        INTEGER REFERENCES runs(id) ON DELETE CASCADE,
          stage_id      INTEGER REFERENCES stages(id) ON DELETE CASCADE,
          parent_id     INTEGER REFERENCES artifacts(id) ON DELETE SET NULL,
          name          TEXT NOT NULL,
          format        TEXT NOT NULL CHECK (format IN ('tfjs-layers','tflite')),
          path          TEXT NOT NULL,
          content_hash  TEXT NOT NULL,
          bytes         INTEGER NOT NULL,
          gzip_bytes    INTEGER,
          params        INTEGER,
          nonzero_params INTEGER,
          sparsity      REAL,
          precision     TEXT,
          macs          INTEGER,
          metrics_json  TEXT,
          created_at    INTEGER NOT NULL
        );
        CREATE INDEX artifacts_run ON artifacts(run_id);
        CREATE INDEX artifacts_parent ON artifacts(parent_id);
        CREATE INDEX artifacts_created ON artifacts(created_at DESC);

        CREATE TABLE devices (
          id            INTEGER PRIMARY KEY,
          serial        TEXT NOT NULL UNIQUE,
          kind          TEXT NOT NULL CHECK (kind IN ('android','host')),
          manufacturer  TEXT,
          model         TEXT,
          android_version TEXT,
          sdk           INTEGER,
          abis_json     TEXT NOT NULL DEFAULT '[]',
          soc           TEXT,
          ram_bytes     INTEGER,
          facts_json    TEXT NOT NULL DEFAULT '{}',
          first_seen    INTEGER NOT NULL,
          last_seen     INTEGER NOT NULL
        );

        CREATE TABLE benchmarks (
          id            INTEGER PRIMARY KEY,
          artifact_id   INTEGER REFERENCES artifacts(id) ON DELETE CASCADE,
          device_id     INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
          status        TEXT NOT NULL CHECK (status IN ('queued','running','succeeded','failed','cancelled')),
          error         TEXT,
          config_json   TEXT NOT NULL DEFAULT '{}',
          runner_sha256 TEXT,
          runner_version TEXT,
          latency_us    REAL,                 -- median of trial means
          ci_low_us     REAL,                 -- 95 % interval of that median
          ci_high_us    REAL,
          cv            REAL,                 -- coefficient of variation of trial means
          init_ms       REAL,
          first_inference_us REAL,
          peak_mem_mb   REAL,                 -- runner's own report
          vm_hwm_kb     INTEGER,              -- sampled from /proc/PID/status
          vm_rss_kb     INTEGER,
          affinity      TEXT,                 -- effective Cpus_allowed_list
          stats_json    TEXT,
          thermal_before_json TEXT,
          thermal_after_json  TEXT,
          battery_before_json TEXT,
          battery_after_json  TEXT,
          raw_output    TEXT,
          created_at    INTEGER NOT NULL,
          started_at    INTEGER,
          finished_at   INTEGER
        );
        CREATE INDEX benchmarks_artifact ON benchmarks(artifact_id);
        CREATE INDEX benchmarks_device ON benchmarks(device_id, created_at DESC);
        CREATE INDEX benchmarks_created ON benchmarks(created_at DESC);

        CREATE TABLE benchmark_trials (
          id            INTEGER PRIMARY KEY,
          benchmark_id  INTEGER NOT NULL REFERENCES benchmarks(id) ON DELETE CASCADE,
          idx           INTEGER NOT NULL,
          count         INTEGER,
          mean_us       REAL,
          std_us        REAL,
          min_us        REAL,
          max_us        REAL,
          p5_us         REAL,
          median_us     REAL,
          p95_us        REAL,
          cooldown_ms   REAL,
          cooldown_timed_out INTEGER NOT NULL DEFAULT 0,
          temp_before_c REAL,
          temp_after_c  REAL,
          UNIQUE (benchmark_id, idx)
        );

        CREATE TABLE op_profiles (
          id            INTEGER PRIMARY KEY,
          benchmark_id  INTEGER NOT NULL REFERENCES benchmarks(id) ON DELETE CASCADE,
          section       TEXT NOT NULL,        -- run_order | by_type
          node_type     TEXT NOT NULL,
          node_name     TEXT,
          count         INTEGER,
          avg_ms        REAL,
          pct           REAL,
          mem_kb        REAL
        );
        CREATE INDEX op_profiles_benchmark ON op_profiles(benchmark_id);

        CREATE TABLE settings (
          key           TEXT PRIMARY KEY,
          value_json    TEXT NOT NULL,
          updated_at    INTEGER NOT NULL
        );
      `),
    postgres: (db) => {
      migrations[0].up(db);
      db.exec(PG_JSON_EXTRACT);
    },
  },
  {
    version: 2,
    description: 'device lab: runners per ABI, model hash and target on benchmarks',
    up: (db) =>
      db.exec(`
        CREATE TABLE runners (
          abi           TEXT PRIMARY KEY,     -- arm64-v8a, armeabi-v7a, x86_64, x86
          path          TEXT NOT NULL,        -- local file of benchmark_model for that ABI
          sha256        TEXT NOT NULL,
          bytes         INTEGER NOT NULL,
          source        TEXT NOT NULL CHECK (source IN ('file','download')),
          elf_machine   TEXT,                 -- what the ELF header says (aarch64, arm, x86-64, x86)
          added_at      INTEGER NOT NULL
        );
        ALTER TABLE benchmarks ADD COLUMN model_sha256 TEXT;
        ALTER TABLE benchmarks ADD COLUMN target TEXT;    -- ADB serial or 'host', as queued
        CREATE INDEX benchmarks_status ON benchmarks(status);
      `),
  },
  {
    version: 3,
    description: 'numbers: what ran (delegate, share), memory by kind, interval coverage, warm-up statistics per trial',
    up: (db) =>
      db.exec(`
        ALTER TABLE benchmarks ADD COLUMN ran_delegate TEXT;       -- cpu | xnnpack | gpu | nnapi: what took the graph
        ALTER TABLE benchmarks ADD COLUMN delegated_share REAL;    -- share of nodes that delegate ran (0..1)
        ALTER TABLE benchmarks ADD COLUMN peak_mem_kind TEXT;      -- what peak_mem_mb is: runner-peak | runtime-heap
        ALTER TABLE benchmarks ADD COLUMN ci_coverage REAL;        -- probability the [ci_low, ci_high] interval covers the median
        ALTER TABLE benchmark_trials ADD COLUMN warmup_count INTEGER;
        ALTER TABLE benchmark_trials ADD COLUMN warmup_mean_us REAL;
        ALTER TABLE benchmark_trials ADD COLUMN warmup_std_us REAL;
        ALTER TABLE benchmark_trials ADD COLUMN warmup_min_us REAL;
        ALTER TABLE benchmark_trials ADD COLUMN warmup_max_us REAL;
        -- Until now peak_mem_mb could hold the runner's "delta from the start of the tool": the raw
        -- output says which, so rows whose output has no peak report lose a figure that was never a peak.
        UPDATE benchmarks SET peak_mem_kind = 'runtime-heap' WHERE peak_mem_mb IS NOT NULL AND target = 'host';
        UPDATE benchmarks SET peak_mem_kind = 'runner-peak' WHERE peak_mem_mb IS NOT NULL AND peak_mem_kind IS NULL
          AND (raw_output LIKE '%Peak memory footprint (MB)%' OR raw_output LIKE '%peak memory footprint (MB) via periodic monitoring%');
        UPDATE benchmarks SET peak_mem_mb = NULL WHERE peak_mem_mb IS NOT NULL AND peak_mem_kind IS NULL;
      `),
  },
  {
    version: 4,
    description: 'reliability: run ids are never reused (a new run must not inherit a deleted run\'s checkpoints or links)',
    // SQLite reuses the largest rowid + 1 after a delete. AUTOINCREMENT would mean rebuilding `runs`,
    // whose DROP cascades into stages and artifacts while foreign keys are on (and they cannot be
    // turned off inside the migration's transaction): a high-water mark kept by a trigger does the same.
    up: (db) =>
      db.exec(`
        CREATE TABLE id_high_water (tbl TEXT PRIMARY KEY, last_id INTEGER NOT NULL);
        INSERT INTO id_high_water (tbl, last_id) SELECT 'runs', COALESCE(MAX(id), 0) FROM runs;
        CREATE TRIGGER runs_id_high_water AFTER INSERT ON runs BEGIN
          UPDATE id_high_water SET last_id = MAX(last_id, NEW.id) WHERE tbl = 'runs';
        END;
      `),
    // PostgreSQL's identity columns take ids from a sequence, which never hands one out twice.
    postgres: () => {},
  },
  {
    version: 5,
    description: 'team history: who made each run and benchmark, on which machine, and the owner process that keeps it alive',
    up: (db) =>
      db.exec(`
        ALTER TABLE runs ADD COLUMN made_by TEXT;          -- the person (Settings name, else the OS user)
        ALTER TABLE runs ADD COLUMN machine TEXT;          -- host name of the computer that made it
        ALTER TABLE runs ADD COLUMN owner_pid INTEGER;     -- process that queued it (its pipeline owns it)
        ALTER TABLE runs ADD COLUMN heartbeat_at INTEGER;  -- last sign of life from that process (ms)
        ALTER TABLE benchmarks ADD COLUMN made_by TEXT;
        ALTER TABLE benchmarks ADD COLUMN machine TEXT;
        ALTER TABLE benchmarks ADD COLUMN owner_pid INTEGER;
        ALTER TABLE benchmarks ADD COLUMN heartbeat_at INTEGER;
        CREATE INDEX runs_made_by ON runs(made_by);
        CREATE INDEX runs_machine ON runs(machine);
        CREATE INDEX runs_active ON runs(status) WHERE status IN ('queued','running');
        CREATE INDEX benchmarks_made_by ON benchmarks(made_by, created_at DESC);
        CREATE INDEX benchmarks_machine ON benchmarks(machine, created_at DESC);
        CREATE INDEX artifacts_name_run ON artifacts(name, run_id);
        CREATE INDEX runs_name ON runs(name);
      `),
  },
  {
    version: 6,
    description: 'Compare and Trends at team scale: measured rows newest first, lineages from benchmarks alone',
    up: (db) =>
      db.exec(`
        CREATE INDEX benchmarks_succeeded_finished ON benchmarks(finished_at DESC, id DESC) WHERE status = 'succeeded';
        CREATE INDEX benchmarks_succeeded_made_by ON benchmarks(made_by, finished_at DESC) WHERE status = 'succeeded';
        CREATE INDEX benchmarks_succeeded_machine ON benchmarks(machine, finished_at DESC) WHERE status = 'succeeded';
        CREATE INDEX benchmarks_succeeded_lineage ON benchmarks(artifact_id, device_id, finished_at) WHERE status = 'succeeded';
      `),
  },
  {
    version: 7,
    description: 'Compare by device source as an index lookup: each device\'s source label as a computed column; json_extract inlinable on PostgreSQL',
    // The label Compare and Trends filter and show (compare.ts: the lab's label from `facts.source`,
    // the local ADB server's for older rows, 'This computer' for the host). Written out here, not
    // taken from compare.ts: a shipped migration must not change when a constant does.
    // SQLite adds only VIRTUAL generated columns to an existing table (computed on read, indexed).
    up: (db) =>
      db.exec(`
        ALTER TABLE devices ADD COLUMN source_label TEXT GENERATED ALWAYS AS (
          CASE WHEN kind = 'host' THEN 'This computer'
               ELSE coalesce(CASE WHEN json_valid(facts_json) THEN json_extract(facts_json, '$.source.label') END, 'This computer''s ADB server') END
        ) VIRTUAL;
        CREATE INDEX devices_source_label ON devices(source_label);
      `),
    // PostgreSQL: a STORED generated column (its only kind before 17). json_extract becomes a body
    // PostgreSQL inlines into the calling query (one SELECT without FROM): migration 1's ran through
    // the SQL-function executor at ~4 µs a call, 2,000 calls per Compare page (100,000 rows: 430 → 145 ms).
    postgres: (db) =>
      db.exec(`
        ALTER TABLE devices ADD COLUMN source_label TEXT GENERATED ALWAYS AS (
          CASE WHEN kind = 'host' THEN 'This computer'
               ELSE coalesce(facts_json::jsonb #>> '{source,label}', 'This computer''s ADB server') END
        ) STORED;
        CREATE INDEX devices_source_label ON devices(source_label);
        CREATE OR REPLACE FUNCTION json_extract(doc TEXT, path TEXT) RETURNS DOUBLE PRECISION
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
          SELECT CASE WHEN left(path, 2) = '$.' THEN
            CASE jsonb_typeof(doc::jsonb -> substr(path, 3))
              WHEN 'number' THEN (doc::jsonb ->> substr(path, 3))::double precision
              WHEN 'boolean' THEN CASE WHEN doc::jsonb -> substr(path, 3) = 'true'::jsonb THEN 1 ELSE 0 END
            END END
        $fn$;
      `),
  },
];

export const latestVersion = migrations[migrations.length - 1].version;

/**
 * Bring `db` up to `target` (default: latest). Returns the versions applied.
 * An existing history is first copied to `backups/` beside it (`VACUUM INTO`, a consistent snapshot),
 * and each migration runs under the write lock (BEGIN IMMEDIATE) after re-reading the version, so two
 * processes opening the same file never both apply one.
 */
export function migrate(db: Database | DB, target = latestVersion): number[] {
  if ('dialect' in db && db.dialect === 'postgres') return migratePostgres(db, target);
  return migrateSqlite(db as Database, target);
}

function tooNew(current: number): Error {
  return new Error(
    `This history database was written by a newer PocketBench (schema ${current}, this version knows ${latestVersion}). ` +
      'Update PocketBench, or point it at another data folder.',
  );
}

/**
 * PostgreSQL: the version lives in `pocketbench_schema`; each migration runs in a transaction that
 * first takes an advisory lock, so several PocketBench instances starting at once apply it once
 * (the others wait, re-read the version and skip it). DDL is transactional there too.
 */
function migratePostgres(db: DB, target: number): number[] {
  const lock = () => db.prepare('SELECT pg_advisory_xact_lock(4242, 1)').get();
  // Under the lock: concurrent CREATE TABLE IF NOT EXISTS can still collide in PostgreSQL's catalog.
  db.transaction(() => {
    lock();
    db.exec('CREATE TABLE IF NOT EXISTS pocketbench_schema (version INTEGER NOT NULL)');
  })();
  const version = () => (db.prepare('SELECT max(version) AS v FROM pocketbench_schema').get() as { v: number | null }).v ?? 0;
  const current = version();
  if (current > latestVersion) throw tooNew(current);
  const applied: number[] = [];
  for (const m of migrations.filter((x) => x.version > current && x.version <= target)) {
    db.transaction(() => {
      lock();
      if (version() >= m.version) return;
      (m.postgres ?? m.up)(db);
      db.prepare('INSERT INTO pocketbench_schema (version) VALUES (?)').run(m.version);
      applied.push(m.version);
    })();
  }
  return applied;
}

function migrateSqlite(db: Database, target: number): number[] {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  const current = version();
  if (current > latestVersion) throw tooNew(current);
  const pending = migrations.filter((m) => m.version > current && m.version <= target);
  if (!pending.length) return [];
  if (current > 0 && db.name !== ':memory:' && !db.memory) backupBeforeMigrating(db, current, pending[pending.length - 1].version);
  const applied: number[] = [];
  for (const m of pending) {
    db.transaction(() => {
      if (version() >= m.version) return; // another process applied it while we waited for the lock
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
      applied.push(m.version);
    }).immediate();
  }
  return applied;
}

/** `<folder of the db>/backups/<name>-schema-<from>-before-<to>-<time>.sqlite`. */
export function backupBeforeMigrating(db: Database, from: number, to: number): string {
  const dir = path.join(path.dirname(db.name), 'backups');
  fs.mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dest = path.join(dir, `${path.basename(db.name, path.extname(db.name))}-schema-${from}-before-${to}-${stamp}.sqlite`);
  db.prepare('VACUUM INTO ?').run(dest);
  return dest;
}
