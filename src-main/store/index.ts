/**
 * The history store: one SQLite file holding datasets, runs, stages, artifacts, devices,
 * benchmarks (with trials and op profiles) and settings. Typed queries live in one file per table.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type DB, openDatabase } from './db';
import { ArtifactQueries } from './artifacts';
import { BenchmarkQueries } from './benchmarks';
import { CompareQueries } from './compare';
import { DatasetQueries } from './datasets';
import { DeviceQueries } from './devices';
import { RunQueries } from './runs';
import { RunnerQueries } from './runners';
import { SettingsQueries } from './settings';

export { migrate, migrations, latestVersion } from './migrations';
export type { NewRun } from './runs';
export type { NewArtifact } from './artifacts';
export type { BenchmarkResult, TrialRow, OpProfileRow } from './benchmarks';
export { openDatabase, type DB } from './db';

export class Store {
  readonly db: DB;
  readonly artifacts: ArtifactQueries;
  readonly runs: RunQueries;
  readonly datasets: DatasetQueries;
  readonly devices: DeviceQueries;
  readonly benchmarks: BenchmarkQueries;
  readonly settings: SettingsQueries;
  readonly compare: CompareQueries;
  readonly runners: RunnerQueries;

  constructor(readonly file: string) {
    this.db = openDatabase(file);
    this.artifacts = new ArtifactQueries(this.db);
    this.runs = new RunQueries(this.db, this.artifacts);
    this.datasets = new DatasetQueries(this.db);
    this.devices = new DeviceQueries(this.db);
    this.benchmarks = new BenchmarkQueries(this.db);
    this.settings = new SettingsQueries(this.db);
    this.compare = new CompareQueries(this.db);
    this.runners = new RunnerQueries(this.db);
  }

  /**
   * A consistent copy while the app keeps writing (SQLite online backup).
   * Writes to a temporary name first so a failed backup never leaves a truncated file behind.
   */
  async backup(dest: string): Promise<{ path: string; bytes: number }> {
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.partial`;
    try {
      await this.db.backup(tmp);
      fs.renameSync(tmp, dest);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    return { path: dest, bytes: fs.statSync(dest).size };
  }

  integrityCheck(): string {
    return this.db.pragma('integrity_check', { simple: true }) as string;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
