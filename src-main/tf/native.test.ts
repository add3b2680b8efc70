import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addonCandidates, loadNativeKernels, physicalCores, threadCount } from './native';

/** Starts the engine in a fresh process (the backend is chosen once per process) and trains one step. */
function startEngine(env: Record<string, string>): { name: string; threads: number; note?: string; loss: number } {
  const script = `
    import(${JSON.stringify(path.resolve(import.meta.dirname, 'index.ts'))}).then(async ({ initBackend }) => {
      await import('@tensorflow/tfjs-layers'); // registers the gradients, as the app's training code does
      const { tf, info } = await initBackend();
      const x = tf.randomNormal([4, 8, 8, 1], 0, 1, 'float32', 1);
      const w = tf.variable(tf.randomNormal([3, 3, 1, 4], 0, 1, 'float32', 2));
      const opt = tf.train.adam(1e-3);
      const loss = opt.minimize(() => tf.mean(tf.square(tf.conv2d(x, w, 2, 'same'))), true);
      console.log(JSON.stringify({ ...info, loss: loss.dataSync()[0] }));
    });`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
    env: { ...process.env, POCKETBENCH_BACKEND: 'wasm', ...env },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('native kernel add-on loading', () => {
  it('looks next to the bundle (out/main and out/main/chunks → out/native) and in the source tree', () => {
    const fromBundle = addonCandidates('/app/out/main');
    expect(fromBundle[0]).toBe(path.normalize('/app/out/native/pocketbench_kernels.node'));
    expect(addonCandidates('/app/out/main/chunks')).toContain(path.normalize('/app/out/native/pocketbench_kernels.node'));
    expect(addonCandidates('/repo/src-main/tf')).toContain(path.normalize('/repo/out/native/pocketbench_kernels.node'));
  });

  it('prefers the unpacked copy inside a packaged app (native files cannot load from app.asar)', () => {
    const list = addonCandidates('/opt/PocketBench/resources/app.asar/out/main');
    expect(list[0]).toBe(path.normalize('/opt/PocketBench/resources/app.asar.unpacked/out/native/pocketbench_kernels.node'));
  });

  it('uses POCKETBENCH_THREADS, else every physical core', () => {
    expect(threadCount({ POCKETBENCH_THREADS: '3' })).toBe(3);
    expect(threadCount({ POCKETBENCH_THREADS: '12' })).toBe(12);
    expect(threadCount({ POCKETBENCH_THREADS: 'lots' })).toBe(physicalCores());
    expect(threadCount({})).toBe(physicalCores());
    expect(physicalCores()).toBeGreaterThanOrEqual(1);
    expect(physicalCores()).toBeLessThanOrEqual(os.availableParallelism());
  });

  it('counts physical cores from the SMT sibling lists, within the CPUs the process may use', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-cpus-'));
    // 8 logical CPUs, 2 threads per core: siblings (0,4) (1,5) (2,6) (3,7).
    for (let i = 0; i < 8; i++) {
      fs.mkdirSync(path.join(root, `cpu${i}`, 'topology'), { recursive: true });
      fs.writeFileSync(path.join(root, `cpu${i}`, 'topology', 'thread_siblings_list'), `${i % 4},${(i % 4) + 4}\n`);
    }
    expect(physicalCores(root, 8, 8)).toBe(4);
    expect(physicalCores(root, 3, 8)).toBe(3); // an affinity mask of 3 CPUs
    expect(physicalCores(path.join(root, 'missing'), 6, 8)).toBe(6); // unreadable: the logical count
    fs.rmSync(root, { recursive: true });
  });

  it('trains on plain wasm and says why when the add-on is absent', () => {
    const info = startEngine({ POCKETBENCH_NATIVE_KERNELS: path.join(import.meta.dirname, 'no-such-addon.node') });
    expect(info.name).toBe('wasm');
    expect(info.note).toMatch(/native kernel add-on is not built/);
    expect(Number.isFinite(info.loss)).toBe(true);
  });

  // Skipped when the add-on is absent or turned off (native-build.test.ts fails when it should load).
  const addonLoads = loadNativeKernels(process.env).kernels !== null;
  it.skipIf(!addonLoads)('reports wasm+native with its thread count when the add-on loads', () => {
    const info = startEngine({ POCKETBENCH_THREADS: '2' });
    expect(info).toMatchObject({ name: 'wasm+native', threads: 2 });
    expect(Number.isFinite(info.loss)).toBe(true);
  });

  // `npm test` builds first: then the bundled engine (what out/main/pipeline-worker.js imports) must
  // find out/native/ from its chunk folder.
  const root = path.resolve(import.meta.dirname, '..', '..');
  const chunks = path.join(root, 'out', 'main', 'chunks');
  const exportsInitBackend = (file: string) =>
    [...fs.readFileSync(path.join(chunks, file), 'utf8').matchAll(/export\s*\{([^}]*)\}/g)].some((m) =>
      m[1].split(',').some((item) => item.trim().split(/\s+as\s+/).pop() === 'initBackend'));
  const bundled = fs.existsSync(chunks) ? fs.readdirSync(chunks).find(exportsInitBackend) : undefined;
  const addonBuilt = addonLoads && fs.existsSync(path.join(root, 'out', 'native', 'pocketbench_kernels.node'));
  it.skipIf(!fs.existsSync(chunks) || !addonBuilt)('the electron-vite bundle loads the add-on from out/native', () => {
    expect(bundled, 'no chunk in out/main/chunks exports initBackend').toBeDefined();
    const script = `import(${JSON.stringify(path.join(chunks, bundled ?? ''))}).then(async (m) => console.log(JSON.stringify((await m.initBackend()).info)))`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, env: { ...process.env, POCKETBENCH_BACKEND: 'wasm' }, encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toMatchObject({ name: 'wasm+native' });
  });
});
