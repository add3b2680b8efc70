import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { FUSED_ADAM } from './fused-adam';
import { PATCHED_TFJS_VERSION, tfjsVersionNotice } from './tfjs-version';

// This process loads a tfjs-layers that says it is another release: the engine must not patch it.
vi.mock('@tensorflow/tfjs-layers', async (importOriginal) => ({ ...(await importOriginal<object>()), version_layers: '4.99.0' }));

const pkg = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8'));

describe('tfjs version pin', () => {
  it('package.json pins every tfjs package to the exact release the patches are written for', () => {
    const tfjs = Object.entries({ ...pkg.dependencies, ...pkg.optionalDependencies }).filter(([name]) => name.startsWith('@tensorflow/'));
    expect(tfjs.length).toBeGreaterThanOrEqual(4);
    for (const [name, range] of tfjs) expect(`${name}@${range}`).toBe(`${name}@${PATCHED_TFJS_VERSION}`);
  });

  it('names each package of another release in the notice', () => {
    expect(tfjsVersionNotice({ 'tfjs-core': PATCHED_TFJS_VERSION, 'tfjs-layers': PATCHED_TFJS_VERSION })).toBeNull();
    expect(tfjsVersionNotice({ 'tfjs-core': PATCHED_TFJS_VERSION, 'tfjs-layers': '4.23.0' })).toMatch(/^tfjs-layers 4\.23\.0 installed, .* made for tfjs 4\.22\.0: training runs on the stock tfjs kernels/);
  });

  it('another tfjs release starts unpatched on plain wasm, with the notice, and still trains', async () => {
    const { initBackend } = await import('./backend');
    const { tf, info } = await initBackend({ prefer: 'wasm' });
    expect(info.name).toBe('wasm');
    expect(info.note).toMatch(/tfjs-layers 4\.99\.0 installed/);
    // None of the patches went in: no fused Adam kernel, no native kernels over wasm's.
    expect(tf.getKernel(FUSED_ADAM, 'wasm')).toBeUndefined();
    const w = tf.variable(tf.ones([2, 2]));
    const loss = tf.train.adam(0.1).minimize(() => tf.sum(tf.square(w)), true);
    expect(Number.isFinite(loss!.dataSync()[0])).toBe(true);
  });
});
