import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProbeRecords } from '../../tf/backend-choice';
import { chooseBackendFor, defaultProbeModel, templateProbeModel } from './backend-probe';

describe('choosing the backend for a run’s model on this machine (tfjs-node is not installable here)', () => {
  it('keeps wasm, says why, and probes nothing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-probe-real-'));
    try {
      const info = await chooseBackendFor(defaultProbeModel(), ProbeRecords.inDataDir(dir));
      expect(info.name).toMatch(/^wasm(\+native)?$/);
      expect(info.reason).toMatch(/^wasm(\+native)?: tfjs-node (is not installed|failed to load)/);
      expect(fs.existsSync(path.join(dir, 'backend-probes.json'))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keys a probe by template, width, input, classes and batch size', () => {
    const a = templateProbeModel({ template: 'mlp', width: 0.5 }, [28, 28, 1], 10, 64);
    expect(a.label).toBe('mlp ×0.5 on 28×28×1');
    expect(a.key).not.toBe(templateProbeModel({ template: 'mlp', width: 0.5 }, [28, 28, 1], 10, 128).key);
    expect(defaultProbeModel().label).toBe('lenet ×1 on 28×28×1');
  });
});
