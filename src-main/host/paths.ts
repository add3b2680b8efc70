import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface AppPaths {
  dataDir: string;
  /** The local SQLite history (with a team database: this computer's settings and runners only). */
  dbPath: string;
  /** A team's shared PostgreSQL history (`postgres://…`), when set; see `databaseUrlFor`. */
  databaseUrl?: string | null;
  artifactsDir: string;
  uploadsDir: string;
  backupsDir: string;
  runnersDir: string;
}

/**
 * Where PocketBench keeps its data. `POCKETBENCH_DATA_DIR` moves everything (tests use it);
 * `POCKETBENCH_DB` moves only the database. The desktop app passes Electron's userData folder.
 */
export function resolvePaths(base?: string): AppPaths {
  const dataDir = path.resolve(process.env.POCKETBENCH_DATA_DIR || base || defaultDataDir());
  return {
    dataDir,
    dbPath: path.resolve(process.env.POCKETBENCH_DB || path.join(dataDir, 'history.sqlite')),
    databaseUrl: databaseUrlFor(dataDir),
    artifactsDir: sharedArtifactsDir(dataDir) ?? path.join(dataDir, 'artifacts'),
    uploadsDir: path.join(dataDir, 'uploads'),
    backupsDir: path.join(dataDir, 'backups'),
    runnersDir: path.join(dataDir, 'runners'),
  };
}

/** `<data>/team.json`: the Settings → Team database choice (a file: it must be read before any database opens). */
export const TEAM_FILE = 'team.json';

/**
 * The shared history's URL: `POCKETBENCH_DATABASE_URL`, else `databaseUrl` in `<data>/team.json`
 * (Settings), else null (the local SQLite history). An empty variable means "local" even when the
 * file names a server.
 */
export function databaseUrlFor(dataDir: string): string | null {
  const env = process.env.POCKETBENCH_DATABASE_URL;
  if (env !== undefined) return env.trim() || null;
  const t = readTeamFile(dataDir);
  return typeof t.databaseUrl === 'string' && t.databaseUrl.trim() ? t.databaseUrl.trim() : null;
}

/**
 * A team's shared artifact folder (a network mount every machine sees at the same path):
 * `POCKETBENCH_ARTIFACTS_DIR`, else `artifactsDir` in `<data>/team.json`. Artifacts are stored by
 * content hash (`<dir>/<sha256 prefix>/`), so machines writing the same model write the same folder.
 */
export function sharedArtifactsDir(dataDir: string): string | null {
  const env = process.env.POCKETBENCH_ARTIFACTS_DIR?.trim();
  if (env) return path.resolve(env);
  const t = readTeamFile(dataDir);
  return typeof t.artifactsDir === 'string' && t.artifactsDir.trim() ? path.resolve(t.artifactsDir.trim()) : null;
}

function readTeamFile(dataDir: string): Record<string, unknown> {
  try {
    const t = JSON.parse(fs.readFileSync(path.join(dataDir, TEAM_FILE), 'utf8')) as unknown;
    return t && typeof t === 'object' ? (t as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function defaultDataDir(): string {
  const home = os.homedir();
  switch (process.platform) {
    case 'darwin':
      return path.join(home, 'Library', 'Application Support', 'PocketBench');
    case 'win32':
      return path.join(process.env.APPDATA || path.join(home, 'AppData', 'Roaming'), 'PocketBench');
    default:
      return path.join(process.env.XDG_CONFIG_HOME || path.join(home, '.config'), 'PocketBench');
  }
}

/**
 * Resolve `relative` inside `root`, refusing anything that escapes it (`..`, absolute paths,
 * NUL bytes). Used for every path that arrives from a UI and lands in the data folder.
 */
export function safeJoin(root: string, relative: string): string {
  if (relative.includes('\0')) throw new Error('A file name cannot contain a NUL byte.');
  const parts = relative.split(/[\\/]+/).filter((p) => p && p !== '.');
  if (parts.some((p) => p === '..')) throw new Error(`The path ${JSON.stringify(relative)} tries to leave its folder.`);
  const full = path.resolve(root, ...parts);
  const rel = path.relative(root, full);
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`The path ${JSON.stringify(relative)} tries to leave its folder.`);
  return full;
}
