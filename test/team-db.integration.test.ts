/**
 * Several PocketBench instances (4 processes) write one shared PostgreSQL history at once: every run
 * and benchmark each was given is there exactly once, under its writer, and the phone they all
 * upsert is one row. `npm run bench -- team-db` does the same for a full minute.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase, POSTGRES_MISSING, postgresBinDir } from './helpers/postgres';
import { runWriters } from './helpers/team-writers';

const skip = postgresBinDir() === null;
if (skip) console.warn(POSTGRES_MISSING);

describe.skipIf(skip)('shared PostgreSQL history under concurrent writers', () => {
  const made: { drop(): void }[] = [];
  afterAll(() => made.forEach((d) => d.drop()));

  it('4 processes writing at once lose and duplicate nothing', async () => {
    const db = freshDatabase('writers');
    made.push(db);
    const out = await runWriters(db.url, 4, Number(process.env.POCKETBENCH_WRITERS_MS ?? 3000));
    expect(out.runs).toBeGreaterThan(4);
    expect(out).toMatchObject({ lost: 0, duplicated: 0, foreign: 0, devices: 1 });
    expect(out.benchmarks).toBe(out.runs);
  });
});
