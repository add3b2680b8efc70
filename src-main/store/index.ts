/**
 * The history store: datasets, runs, stages, artifacts, devices, benchmarks (with trials and op
 * profiles) and settings. Typed queries live in one file per table, written once in SQLite's
 * dialect and run on either database (sql.ts, pg-translate.ts):
 * - a SQLite file (the embedded default, one user), or
 * - a PostgreSQL server (`postgres://…`, a team's shared history). The settings and the runner
 *   binaries chosen per ABI are about this computer (paths of local files), so they stay in the
 *   local SQLite file (`localFile`) while the history goes to the server.
 */
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { AppError } from '../../src-shared/errors';
import { type DB, openHistory } from './db';
import { ArtifactQueries } from './artifacts';
import { BenchmarkQueries } from './benchmarks';
import { CompareQueries } from './compare';
import { DatasetQueries } from './datasets';
import { DeviceQueries } from './devices';
import { HEARTBEAT_MS, type Identity, currentIdentity } from './identity';
import { RunQueries } from './runs';
import { RunnerQueries } from './runners';
import { SettingsQueries } from './settings';
import { isPostgresUrl } from './sql';

export { migrate, migrations, latestVersion } from './migrations';
export type { NewRun } from './runs';
export type { NewArtifact } from './artifacts';
export type { BenchmarkResult, TrialRow, OpProfileRow } from './benchmarks';
export { openDatabase, openHistory, type DB } from './db';
export type { Identity } from './identity';

/** The Settings key of the person's name recorded on runs and benchmarks (else the OS user). */
export const USER_NAME_SETTING = 'team.userName';

export interface StoreOptions {
  /** With a PostgreSQL history: the local SQLite file for this computer's settings and runners. */
  localFile?: string;
  /** Who and where (tests); default: the Settings name or OS user, this host, this process. */
  identity?: Identity;
}

export class Store {
  readonly db: DB;
  /** Settings and runners: the local file with a PostgreSQL history, else the history itself. */
  readonly localDb: DB;
  readonly identity: Identity;
  readonly artifacts: ArtifactQueries;
  readonly runs: RunQueries;
  readonly datasets: DatasetQueries;
  readonly devices: DeviceQueries;
  readonly benchmarks: BenchmarkQueries;
  readonly settings: SettingsQueries;
  readonly compare: CompareQueries;
  readonly runners: RunnerQueries;

  /** `file`: a SQLite file or a `postgres://` URL (see the header). */
  constructor(
    readonly file: string,
    readonly opts: StoreOptions = {},
  ) {
    this.db = openHistory(file);
    try {
      this.localDb = isPostgresUrl(file) && opts.localFile ? openHistory(opts.localFile) : this.db;
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.settings = new SettingsQueries(this.localDb);
    this.runners = new RunnerQueries(this.localDb);
    this.identity = opts.identity ?? currentIdentity(this.settings.get<string | null>(USER_NAME_SETTING, null));
    this.artifacts = new ArtifactQueries(this.db);
    this.runs = new RunQueries(this.db, this.artifacts, this.identity);
    this.datasets = new DatasetQueries(this.db);
    this.devices = new DeviceQueries(this.db);
    this.benchmarks = new BenchmarkQueries(this.db, this.identity);
    this.compare = new CompareQueries(this.db);
    if (this.db.dialect === 'postgres') {
      // Shared history: this process's unfinished runs and benchmarks stay alive while it runs, in
      // the app, `pocketbench run` or a lab server alike (identity.ts). SQLite: the data folder's
      // owner.lock and the pid already say it.
      this.beat = setInterval(() => {
        try {
          this.heartbeat();
        } catch (err) {
          console.warn(`Could not refresh this process's heartbeat in the history: ${(err as Error).message}`);
        }
      }, HEARTBEAT_MS);
      this.beat.unref();
    }
  }

  private beat: NodeJS.Timeout | null = null;

  get dialect(): DB['dialect'] {
    return this.db.dialect;
  }

  /** The better-sqlite3 handle of a SQLite history (pragmas, online backup), else null. */
  get sqlite(): Database.Database | null {
    return this.db.dialect === 'sqlite' ? (this.db as unknown as Database.Database) : null;
  }

  /** Refresh the sign of life on this process's unfinished runs and benchmarks (see identity.ts). */
  heartbeat(): void {
    this.runs.heartbeat();
    this.benchmarks.heartbeat();
  }

  /**
   * A consistent copy while the app keeps writing (SQLite online backup).
   * Writes to a temporary name first so a failed backup never leaves a truncated file behind.
   */
  async backup(dest: string): Promise<{ path: string; bytes: number }> {
    const sqlite = this.sqlite;
    if (!sqlite) {
      throw new AppError('BACKUP_NOT_SUPPORTED', `The history is on a PostgreSQL server (${this.db.name}): back it up on the server (pg_dump), where its administrator keeps its backups.`);
    }
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.partial`;
    try {
      await sqlite.backup(tmp);
      fs.renameSync(tmp, dest);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    return { path: dest, bytes: fs.statSync(dest).size };
  }

  /** 'ok', or what SQLite's integrity check found. A PostgreSQL server checks its own pages: a live connection is 'ok'. */
  integrityCheck(): string {
    const sqlite = this.sqlite;
    if (!sqlite) return (this.db.prepare('SELECT 1 AS ok').get() as { ok: number }).ok === 1 ? 'ok' : 'no answer';
    return sqlite.pragma('integrity_check', { simple: true }) as string;
  }

  close(): void {
    if (this.beat) clearInterval(this.beat);
    this.beat = null;
    if (this.localDb !== this.db && this.localDb.open) this.localDb.close();
    if (this.db.open) this.db.close();
  }
}
