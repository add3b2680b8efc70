/**
 * Benchmarks print their figures and record them in bench/results.json, keyed by benchmark name,
 * with what is needed to trust or reproduce them: commit, date, machine, load, backend.
 * Notes on the issues quote this file.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const resultsFile = path.resolve(import.meta.dirname, 'results.json');

export interface BenchEntry {
  /** What was measured, with units in the key names (e.g. `teacherMsPerBatch`). */
  figures: Record<string, number | string | boolean | null>;
  /** Targets from the issues, for the printout and the note. */
  targets?: Record<string, string>;
  /** Conditions: backend, threads, data sizes, epochs, seeds, steps... */
  conditions?: Record<string, unknown>;
  /** True when the run was smaller than the issue asks for (fewer steps, epochs, seeds). */
  reduced?: boolean;
  wallTimeS?: number;
}

export function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: import.meta.dirname, encoding: 'utf8' }).trim();
    // results.json itself does not count: a long bench records as it goes, so it is always modified.
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', ':/', ':(exclude,top)bench/results.json'], {
      cwd: import.meta.dirname,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return 'unknown';
  }
}

export function machine(): Record<string, unknown> {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    loadAvg1m: Number(os.loadavg()[0].toFixed(2)),
  };
}

export function readResults(): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Record (replace) the entry for `name` and print it. */
export function recordResult(name: string, entry: BenchEntry): void {
  const all = readResults();
  all[name] = { ...entry, commit: gitCommit(), date: new Date().toISOString(), machine: machine() };
  fs.writeFileSync(resultsFile, JSON.stringify(all, null, 2) + '\n');
  const figs = Object.entries(entry.figures)
    .map(([k, v]) => `  ${k}: ${typeof v === 'number' ? Number(v.toPrecision(6)) : v}${entry.targets?.[k] ? `   (target ${entry.targets[k]})` : ''}`)
    .join('\n');
  console.log(`\n${name}${entry.reduced ? ' [reduced]' : ''}\n${figs}`);
}
