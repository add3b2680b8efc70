#!/usr/bin/env node
/**
 * `npm run build:native`: compiles the native kernel add-on (one .cc per kernel family, N-API, so Node and
 * Electron load the same binary without a rebuild) with node-gyp against the local Node headers,
 * and copies it to out/native/, where src-main/tf/native.ts finds it.
 *
 * When a C++ compiler is on PATH (or named by CXX) a failed build fails (exit 1), so `npm test` and
 * CI cannot go green with broken kernels; POCKETBENCH_NATIVE_KERNELS=off is the explicit way to
 * build and test without the add-on. Without a compiler it says so and exits 0, and training runs
 * on plain wasm. Skips the compile when the copy is newer than its sources.
 * Flags: -O3 with SIMD from auto-vectorisation; the GEMM micro-kernel carries x86-64-v4/v3/baseline
 * clones picked at load time, so the binary runs on any CPU of its architecture (no -march=native).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const here = import.meta.dirname;
const root = path.resolve(here, '..', '..', '..');
const target = path.join(root, 'out', 'native', 'pocketbench_kernels.node');
const built = path.join(here, 'build', 'Release', 'pocketbench_kernels.node');
// Every source of the add-on (one file per kernel family, see binding.gyp) and the gyp file.
const sources = fs.readdirSync(here).filter((f) => /\.(cc|h|gyp)$/.test(f)).map((f) => path.join(here, f));

function log(msg) {
  console.log(`[build:native] ${msg}`);
}

function mtime(p) {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

/** Node headers: npm_config_nodedir if set, else the running Node's prefix, else /usr (Debian). */
function nodeDir() {
  const candidates = [process.env.npm_config_nodedir, path.resolve(process.execPath, '..', '..'), '/usr', '/usr/local'].filter(Boolean);
  return candidates.find((d) => fs.existsSync(path.join(d, 'include', 'node', 'node_api.h')));
}

/** A C++ compiler node-gyp would use: $CXX, else c++/g++/clang++ on PATH. */
function compiler() {
  const names = [process.env.CXX?.split(' ')[0], 'c++', 'g++', 'clang++'].filter(Boolean);
  for (const name of names) {
    const dirs = path.isAbsolute(name) ? [''] : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
    for (const dir of dirs) {
      const p = path.join(dir, name);
      try {
        fs.accessSync(p, fs.constants.X_OK);
        return p;
      } catch {
        /* next */
      }
    }
  }
  return null;
}

/** With a compiler present a failure is an error (exit 1); without one, a notice. */
function fail(msg) {
  const cxx = compiler();
  if (!cxx) return log(`${msg}; no C++ compiler found, so training will use plain wasm`);
  console.error(`[build:native] ERROR: ${msg}.\nA C++ compiler is present (${cxx}), so this is a broken build, not a missing tool. Fix it, or set POCKETBENCH_NATIVE_KERNELS=off to build and test without the add-on.`);
  process.exitCode = 1;
}

function main() {
  if (process.env.POCKETBENCH_NATIVE_KERNELS === 'off') return log('skipped: POCKETBENCH_NATIVE_KERNELS=off');
  const newest = Math.max(...sources.map(mtime), mtime(import.meta.filename));
  if (mtime(target) > newest) return log(`up to date: ${path.relative(root, target)}`);
  let gyp;
  try {
    gyp = createRequire(path.join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return fail('node-gyp is not installed (run `npm install` with dev dependencies to build the add-on)');
  }
  const dir = nodeDir();
  const env = { ...process.env, ...(dir ? { npm_config_nodedir: dir } : {}) };
  // Bounded: without local headers node-gyp tries to download them, which must not hang an offline build.
  const r = spawnSync(process.execPath, [gyp, 'rebuild', '--loglevel=error'], { cwd: here, env, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0 || !fs.existsSync(built)) {
    const why = (r.stderr || r.stdout || String(r.error ?? '')).trim().split('\n').slice(-8).join('\n');
    return fail(`could not compile the native kernels (a C++ compiler, make and Python are needed):\n${why}`);
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  // Copy then rename: a process that has the old add-on loaded keeps its (unlinked) file; copying over
  // it in place would change the code under it (a crash in a test run that overlaps a rebuild).
  const staging = `${target}.${process.pid}.tmp`;
  fs.copyFileSync(built, staging);
  fs.renameSync(staging, target);
  log(`built ${path.relative(root, target)}`);
}

try {
  main();
} catch (err) {
  fail(`failed (${err?.message ?? err})`);
}
