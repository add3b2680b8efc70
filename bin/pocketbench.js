#!/usr/bin/env node
// Runs the built CLI (npm run build produces out/main/cli.js).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../out/main/cli.js', import.meta.url));
if (!existsSync(cli)) {
  console.error('pocketbench: the app is not built yet. Run `npm run build` in the PocketBench folder first.');
  process.exit(1);
}
await import(cli);
