import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { buildCli } from './index';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-cli-search-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ err: string; code: number | undefined }> {
  const err: string[] = [];
  const spy = vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  const before = process.exitCode;
  try {
    await buildCli().exitOverride().parseAsync(['node', 'pocketbench', '--data', dir, ...args]);
    return { err: err.join('\n'), code: process.exitCode as number | undefined };
  } finally {
    spy.mockRestore();
    process.exitCode = before;
  }
}

describe('pocketbench search', () => {
  it('refuses a spec with problems, naming each field, and starts nothing', async () => {
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ dataset: { kind: 'fashion-mnist' }, teacher: { template: 'lenet' }, budget: { maxLatencyMs: 0 }, space: { precisions: ['int4'] } }));
    const { err, code } = await run(['search', file]);
    expect(code).toBe(2);
    expect(err).toContain('The search spec has problems:');
    expect(err).toMatch(/budget\.maxLatencyMs: must be between 0\.001 and/);
    expect(err).toMatch(/space\.precisions\.0: must be one of fp32, fp16, int8-dynamic, int8, int8-mixed/);
    expect(fs.existsSync(path.join(dir, 'history.sqlite'))).toBe(false);
  });

  it('says when the file is not JSON', async () => {
    const file = path.join(dir, 'broken.json');
    fs.writeFileSync(file, '{ nope');
    const { err, code } = await run(['search', file]);
    expect(code).toBe(2);
    expect(err).toMatch(/Cannot read the search spec .*broken\.json/);
  });
});
