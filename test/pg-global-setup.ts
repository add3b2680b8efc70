/**
 * One PostgreSQL server per test run: this gives the run a folder where `test/helpers/postgres.ts`
 * starts the server the first time a test asks for one (runs that touch no PostgreSQL test start
 * nothing), and stops it when the run ends.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopTestServer } from './helpers/postgres';

export default function setup(): () => void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-pg-run-'));
  process.env.POCKETBENCH_TEST_PG_DIR = dir;
  return () => stopTestServer(dir);
}
