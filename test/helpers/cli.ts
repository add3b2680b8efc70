/** Runs the CLI in this process on a data folder, capturing what it prints and the exit code it sets. */
import { vi } from 'vitest';
import { buildCli } from '../../src-main/cli/index';

export async function runCli(dataDir: string, args: string[]): Promise<{ out: string; err: string; exitCode: number | undefined }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => (err.push(String(c)), true));
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await buildCli().exitOverride().parseAsync(['node', 'pocketbench', '--data', dataDir, ...args]);
    return { out: out.join('\n'), err: err.join(''), exitCode: process.exitCode as number | undefined };
  } finally {
    log.mockRestore();
    write.mockRestore();
    process.exitCode = before;
  }
}
