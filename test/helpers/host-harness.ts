/** A host on a temporary data folder, and a `call` that dispatches like a transport does. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { methods } from '../../src-shared/contract';
import { dispatch } from '../../src-shared/rpc';
import { createHost, type Host, type HostOptions } from '../../src-main/host/index';

export interface HostHarness {
  dir: string;
  host: Host;
  call(method: string, args?: unknown): ReturnType<typeof dispatch>;
  close(): Promise<void>;
}

export function hostHarness(prefix = 'pb-host-', opts: Partial<HostOptions> = {}): HostHarness {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.env.POCKETBENCH_DATA_DIR = dir;
  const host = createHost({ transport: 'websocket', warmBackend: false, ...opts });
  return {
    dir,
    host,
    call: (m, args) => dispatch(methods, host.handlers, m, args, { transport: 'websocket' as const }),
    async close() {
      await host.close();
      delete process.env.POCKETBENCH_DATA_DIR;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
