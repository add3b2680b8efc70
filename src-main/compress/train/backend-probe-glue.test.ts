/**
 * The probe's glue with real training steps, where tfjs-node is not installable: tfjs-core's pure-JS
 * `cpu` backend stands in for it (a second, different backend), so both sides are timed for real.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, vi } from 'vitest';

vi.mock('../../tf', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../tf')>();
  await import('@tensorflow/tfjs-backend-cpu');
  return {
    ...real,
    tfjsNodeState: () => ({ ok: true, version: 'stand-in' }),
    useBackend: async (name: string) => {
      if (name !== 'tensorflow') return real.useBackend(name);
      await tf.setBackend('cpu');
      return { name: 'tensorflow', threads: null };
    },
  };
});

const { ProbeRecords } = await import('../../tf/backend-choice');
const { chooseBackendFor, templateProbeModel } = await import('./backend-probe');

describe('the timed probe, with a stand-in for tfjs-node', () => {
  it('times real training steps on both backends, records them, and leaves the winner active', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-probe-glue-'));
    try {
      const m = templateProbeModel({ template: 'mlp', width: 0.25 }, [8, 8, 1], 4, 16);
      const info = await chooseBackendFor(m, ProbeRecords.inDataDir(dir), { steps: 2 });
      const saved = JSON.parse(fs.readFileSync(path.join(dir, 'backend-probes.json'), 'utf8')).probes[m.key];
      const [wasmName] = Object.keys(saved.msPerStep).filter((k) => k !== 'tensorflow');
      expect(Object.keys(saved.msPerStep).sort()).toEqual(['tensorflow', wasmName].sort());
      expect(wasmName).toMatch(/^wasm(\+native)?$/);
      for (const v of Object.values(saved.msPerStep)) expect(v).toBeGreaterThan(0);
      expect(saved.chosen).toBe(saved.msPerStep.tensorflow < saved.msPerStep[wasmName] ? 'tensorflow' : wasmName);
      expect(info.name).toBe(saved.chosen);
      expect(tf.getBackend()).toBe(info.name === 'tensorflow' ? 'cpu' : 'wasm');
      expect(info.reason).toMatch(/ is \d+\.\d× faster for mlp ×0\.25 on 8×8×1: [\d.]+ vs [\d.]+ ms per step \(probe just now\)$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
