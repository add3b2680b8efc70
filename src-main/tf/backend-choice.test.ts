import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseBackend, type ChooseInput, ProbeRecords } from './backend-choice';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-probe-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A fake probe: fixed ms per step per backend, counting calls; a backend missing from `ms` throws. */
function fakeProbe(ms: Record<string, number>) {
  const calls: string[] = [];
  return {
    calls,
    measure: async (backend: string) => {
      calls.push(backend);
      if (!(backend in ms)) throw new Error(`no ${backend} kernel`);
      return ms[backend];
    },
  };
}

const base = (over: Partial<ChooseInput>): ChooseInput => ({
  key: 'lenet|64',
  model: 'lenet ×1 on 28×28×1',
  tfjsNode: { ok: true, version: '4.22.0' },
  wasm: 'wasm+native',
  machine: 'cpu×2|threads 2',
  records: new ProbeRecords(null),
  measure: async () => 1,
  today: '2026-12-05',
  ...over,
});

describe('tfjs-node or wasm, by a timed probe', () => {
  it('without tfjs-node: wasm, with the reason, and no probe', async () => {
    const p = fakeProbe({});
    const d = await chooseBackend(base({ tfjsNode: { ok: false, why: 'tfjs-node is not installed' }, measure: p.measure }));
    expect(d).toEqual({ name: 'wasm+native', reason: 'wasm+native: tfjs-node is not installed' });
    expect(p.calls).toEqual([]);
  });

  it('picks tfjs-node only when it is faster for the model, and says by how much', async () => {
    const fast = fakeProbe({ tensorflow: 5, 'wasm+native': 9 });
    const d = await chooseBackend(base({ measure: fast.measure }));
    expect(d.name).toBe('tensorflow');
    expect(d.reason).toBe('tfjs-node is 1.8× faster for lenet ×1 on 28×28×1: 5.00 vs 9.00 ms per step (probe just now)');
    expect(fast.calls).toEqual(['wasm+native', 'tensorflow']);

    const slow = fakeProbe({ tensorflow: 12, 'wasm+native': 9 });
    const d2 = await chooseBackend(base({ measure: slow.measure }));
    expect(d2.name).toBe('wasm+native');
    expect(d2.reason).toBe('wasm+native is 1.3× faster for lenet ×1 on 28×28×1: 9.00 vs 12.0 ms per step (probe just now)');
  });

  it('falls back to wasm when tfjs-node cannot train the model', async () => {
    const p = fakeProbe({ 'wasm+native': 9 });
    const d = await chooseBackend(base({ measure: p.measure }));
    expect(d.name).toBe('wasm+native');
    expect(d.reason).toBe('tfjs-node could not train lenet ×1 on 28×28×1 in the probe (probe just now); wasm+native runs it');
  });

  it('records the probe in the data folder and reuses it on the next start, per model and machine', async () => {
    const file = path.join(tmp, 'data');
    const first = fakeProbe({ tensorflow: 5, 'wasm+native': 9 });
    await chooseBackend(base({ records: ProbeRecords.inDataDir(file), measure: first.measure }));
    const saved = JSON.parse(fs.readFileSync(path.join(file, 'backend-probes.json'), 'utf8'));
    expect(saved.probes['lenet|64']).toEqual({
      model: 'lenet ×1 on 28×28×1',
      msPerStep: { 'wasm+native': 9, tensorflow: 5 },
      chosen: 'tensorflow',
      date: '2026-12-05',
      machine: 'cpu×2|threads 2|tfjs-node 4.22.0',
    });

    const again = fakeProbe({ tensorflow: 50, 'wasm+native': 1 });
    const d = await chooseBackend(base({ records: ProbeRecords.inDataDir(file), measure: again.measure, today: '2026-12-06' }));
    expect(again.calls).toEqual([]);
    expect(d).toMatchObject({ name: 'tensorflow', reason: 'tfjs-node is 1.8× faster for lenet ×1 on 28×28×1: 5.00 vs 9.00 ms per step (probe of 2026-12-05)' });

    // Another model, another tfjs-node version or another machine: probed afresh.
    await chooseBackend(base({ records: ProbeRecords.inDataDir(file), key: 'mlp|64', model: 'mlp', measure: again.measure }));
    await chooseBackend(base({ records: ProbeRecords.inDataDir(file), tfjsNode: { ok: true, version: '4.23.0' }, measure: again.measure }));
    expect(again.calls).toEqual(['wasm+native', 'tensorflow', 'wasm+native', 'tensorflow']);
    // A broken record file is probed over, not an error.
    fs.writeFileSync(path.join(file, 'backend-probes.json'), '{not json');
    const third = fakeProbe({ tensorflow: 5, 'wasm+native': 9 });
    expect((await chooseBackend(base({ records: ProbeRecords.inDataDir(file), measure: third.measure }))).name).toBe('tensorflow');
    expect(third.calls).toHaveLength(2);
  });

  it('POCKETBENCH_BACKEND wins without a probe', async () => {
    const p = fakeProbe({ tensorflow: 5, 'wasm+native': 9 });
    expect(await chooseBackend(base({ forced: 'wasm', measure: p.measure }))).toEqual({ name: 'wasm', reason: 'POCKETBENCH_BACKEND=wasm chooses it' });
    expect(p.calls).toEqual([]);
  });
});
