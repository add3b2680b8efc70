/**
 * The real teacher and export stages; before the export stage runs, the disk holding the artifacts
 * folder is filled (disk-full-export.test.ts). On a real small filesystem the test mounted (tmpfs),
 * a filler file takes every free byte; where mounting is not allowed (`POCKETBENCH_TEST_DISK=inject`),
 * writes into the artifacts folder fail with ENOSPC at the fs layer instead, as the kernel's would.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { stages as train } from '../../src-main/compress/train/stages';
import { stages as exporting } from '../../src-main/export/stages';
import type { StageRegistry, StageRunner } from '../../src-main/pipeline/stage';

function fill(dir: string): void {
  const chunk = Buffer.alloc(64 * 1024, 1);
  const fd = fs.openSync(path.join(dir, 'filler'), 'a');
  try {
    for (let size = chunk.length; size >= 512; ) {
      try {
        fs.writeSync(fd, chunk, 0, size);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        size /= 2;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

function injectEnospc(dir: string): void {
  const write = fs.writeFileSync;
  fs.writeFileSync = ((file: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
    if (typeof file === 'string' && path.resolve(file).startsWith(dir + path.sep)) {
      // What a full disk leaves: the file was created, and holds what fitted before the error.
      fs.closeSync(fs.openSync(file, 'w'));
      throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    }
    return (write as (...a: unknown[]) => void)(file, ...rest);
  }) as typeof fs.writeFileSync;
  syncBuiltinESMExports();
}

const exportOnFullDisk: StageRunner<'export'> = async (ctx) => {
  if (process.env.POCKETBENCH_TEST_DISK === 'inject') injectEnospc(path.resolve(ctx.paths.artifactsDir));
  else if (process.env.POCKETBENCH_TEST_DISK === 'fill') fill(ctx.paths.artifactsDir);
  return exporting.export!(ctx);
};

export const stages: StageRegistry = { ...train, export: exportOnFullDisk };
