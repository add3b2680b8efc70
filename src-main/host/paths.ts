import os from 'node:os';
import path from 'node:path';

export interface AppPaths {
  dataDir: string;
  dbPath: string;
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
    artifactsDir: path.join(dataDir, 'artifacts'),
    uploadsDir: path.join(dataDir, 'uploads'),
    backupsDir: path.join(dataDir, 'backups'),
    runnersDir: path.join(dataDir, 'runners'),
  };
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
