/**
 * `pocketbench shrink` end to end on a small exact teacher (test/fixtures/colour-folder.ts) at 32 px:
 * import, the preset's seven stages (profiling on this computer), and the side-by-side table.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { writeColourFolder, writeColourTeacher } from '../../test/fixtures/colour-folder';
import { initBackend } from '../tf';
import { buildCli } from './index';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-shrink-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('pocketbench shrink', { timeout: 600_000 }, () => {
  it('imports the model, distills and exports an INT8 student, profiles both and prints them side by side', async () => {
    await initBackend();
    const teacher = await writeColourTeacher(path.join(dir, 'teacher'), 32);
    const folder = path.join(dir, 'colours');
    await writeColourFolder(folder, 14, 32);
    const out: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
    const saved = process.exitCode;
    try {
      await buildCli().exitOverride().parseAsync(['node', 'pocketbench', '--data', path.join(dir, 'data'), 'shrink', teacher, folder, '--epochs', '1', '--student', '0']);
      expect(process.exitCode, out.join('\n')).toBe(0);
    } finally {
      spy.mockRestore();
      process.exitCode = saved;
    }
    const text = out.join('\n');
    expect(text).toMatch(/Run #1 "Shrink my model": succeeded/);
    expect(text).toMatch(/\.tflite bytes\s+[\d.]+ [KMG]?i?B\s+[\d.]+ [KMG]?i?B/);
    expect(text).toMatch(/accuracy \(\.tflite in LiteRT\)\s+100(\.0)? %\s+[\d.]+ %/);
    expect(text).toMatch(/fidelity to the original \(TF\.js\)\s+reference\s+[\d.]+ %/);
    expect(text).toMatch(/latency on host\s+[\d.]+ ms\s+[\d.]+ ms/);
  });
});
