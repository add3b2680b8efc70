/**
 * The add-on's build must not hide a broken compile: with a C++ compiler present a failed
 * `build:native` exits non-zero (so `npm test` and CI fail), `POCKETBENCH_NATIVE_KERNELS=off` is the
 * explicit way round it, and a machine without a compiler gets a notice and plain wasm. And when the
 * add-on should exist here (a compiler, not turned off), it must load: the native suites' skip on
 * "not loaded" cannot turn a missing add-on into a green run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadNativeKernels } from './native';

const here = import.meta.dirname;
const root = path.resolve(here, '..', '..');

/** Is a C++ compiler on PATH (what build.mjs checks)? */
function compilerPresent(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "${CXX:-c++}" || command -v g++ || command -v clang++'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A copy of the add-on's source folder whose kernels do not compile, in a tree shaped like the repo. */
function brokenTree(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-native-build-'));
  const native = path.join(dir, 'src-main', 'tf', 'native');
  fs.mkdirSync(native, { recursive: true });
  for (const f of fs.readdirSync(path.join(here, 'native'))) {
    const src = path.join(here, 'native', f);
    if (fs.statSync(src).isFile()) fs.copyFileSync(src, path.join(native, f));
  }
  for (const f of fs.readdirSync(native).filter((f) => f.endsWith('.cc'))) fs.appendFileSync(path.join(native, f), '\n#error a compile error on purpose\n');
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function build(env: Record<string, string | undefined>) {
  const dir = brokenTree();
  dirs.push(dir);
  const r = spawnSync(process.execPath, [path.join(dir, 'src-main', 'tf', 'native', 'build.mjs')], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, text: `${r.stdout}${r.stderr}` };
}

describe('build:native', () => {
  it.skipIf(!compilerPresent())('a compile error fails the build when a C++ compiler is present, and says how to build without', () => {
    const r = build({ POCKETBENCH_NATIVE_KERNELS: undefined });
    expect(r.status).toBe(1);
    expect(r.text).toMatch(/ERROR: could not compile the native kernels/);
    expect(r.text).toMatch(/set POCKETBENCH_NATIVE_KERNELS=off/);
  });

  it('POCKETBENCH_NATIVE_KERNELS=off skips the build, explicitly', () => {
    const r = build({ POCKETBENCH_NATIVE_KERNELS: 'off' });
    expect(r.status).toBe(0);
    expect(r.text).toMatch(/skipped: POCKETBENCH_NATIVE_KERNELS=off/);
  });

  it('without a C++ compiler it is a notice, not a failure', () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-nocxx-'));
    dirs.push(bin);
    // A PATH with only `node` on it: no c++, g++, clang++, make or python.
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    const r = build({ POCKETBENCH_NATIVE_KERNELS: undefined, PATH: bin, CXX: undefined });
    expect(r.status).toBe(0);
    expect(r.text).toMatch(/no C\+\+ compiler found, so training will use plain wasm/);
  });

  const off = ['off', '0'].includes(process.env.POCKETBENCH_NATIVE_KERNELS?.trim() ?? '');
  it.skipIf(off || !compilerPresent())('the add-on loads here: a C++ compiler is present and POCKETBENCH_NATIVE_KERNELS is not off', () => {
    const load = loadNativeKernels(process.env);
    expect(load.kernels, `the native add-on should have been built (npm run build:native) and loaded: ${load.reason}`).not.toBeNull();
  });
});
