import { Store } from '../store';
import type { AppPaths } from './paths';

/** The history for these paths: the team's PostgreSQL server when one is set, else the local SQLite file. */
export function openStore(paths: Pick<AppPaths, 'dbPath' | 'databaseUrl'>): Store {
  return new Store(paths.databaseUrl || paths.dbPath, { localFile: paths.dbPath });
}
