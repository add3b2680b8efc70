/**
 * Settings → Team. The database URL and shared artifact folder live in `<data>/team.json` (read
 * before any database opens; they apply at the next start); the person's name is a local setting
 * (USER_NAME_SETTING) read when the store opens.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TeamSettings } from '../../src-shared/types';
import { AppError } from '../../src-shared/errors';
import { type Store, USER_NAME_SETTING } from '../store';
import { PostgresDb } from '../store/postgres';
import { redactUrl } from '../store/sql';
import { currentIdentity } from '../store/identity';
import { TEAM_FILE, databaseUrlFor, sharedArtifactsDir } from './paths';

function readTeam(dataDir: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(path.join(dataDir, TEAM_FILE), 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

export function teamSettings(store: Store, dataDir: string): TeamSettings {
  const saved = readTeam(dataDir);
  return {
    databaseUrl: typeof saved.databaseUrl === 'string' ? redactUrl(saved.databaseUrl) : null,
    databaseFromEnv: process.env.POCKETBENCH_DATABASE_URL !== undefined && databaseUrlFor(dataDir) !== null,
    artifactsDir: sharedArtifactsDir(dataDir),
    userName: store.settings.get<string | null>(USER_NAME_SETTING, null),
    madeBy: store.identity.madeBy,
    machine: store.identity.machine,
    active: store.dialect,
    activeLocation: store.db.name,
  };
}

export function saveTeamSettings(store: Store, dataDir: string, patch: { databaseUrl?: string | null; artifactsDir?: string | null; userName?: string | null }): TeamSettings {
  if (patch.databaseUrl) {
    // Refuse what would not open at the next start, with the server's own words.
    try {
      new PostgresDb(patch.databaseUrl).close();
    } catch (err) {
      throw new AppError('DATABASE_UNREACHABLE', `Not saved: ${(err as Error).message}`);
    }
  }
  if (patch.artifactsDir && !path.isAbsolute(patch.artifactsDir)) throw new AppError('BAD_ARGUMENT', `The shared artifact folder must be an absolute path (got ${patch.artifactsDir}).`);
  if (patch.databaseUrl !== undefined || patch.artifactsDir !== undefined) {
    const team = readTeam(dataDir);
    for (const k of ['databaseUrl', 'artifactsDir'] as const) {
      if (patch[k] === undefined) continue;
      if (patch[k] === null) delete team[k];
      else team[k] = patch[k];
    }
    const file = path.join(dataDir, TEAM_FILE);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(team, null, 2), { mode: 0o600 }); // may hold a password
    fs.renameSync(`${file}.tmp`, file);
  }
  if (patch.userName !== undefined) {
    store.settings.set(USER_NAME_SETTING, patch.userName);
    store.identity.madeBy = currentIdentity(patch.userName).madeBy; // the query classes share this object: applies at once
  }
  return teamSettings(store, dataDir);
}
