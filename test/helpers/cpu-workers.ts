/**
 * For pipeline tests with real worker processes: the cpu backend here and in every worker (it has
 * every gradient kernel; workers inherit POCKETBENCH_BACKEND), restored after the file.
 */
import { afterAll, beforeAll } from 'vitest';
import { initBackend } from '../../src-main/tf';

export function useCpuBackendInWorkers(): void {
  const saved = process.env.POCKETBENCH_BACKEND;
  beforeAll(async () => {
    process.env.POCKETBENCH_BACKEND = 'cpu';
    await initBackend({ prefer: 'cpu' });
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.POCKETBENCH_BACKEND;
    else process.env.POCKETBENCH_BACKEND = saved;
  });
}
