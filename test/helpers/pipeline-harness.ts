/** A pipeline service on a temporary data folder, with real worker processes the test can kill. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventBus } from '../../src-main/host/events';
import { resolvePaths } from '../../src-main/host/paths';
import { type PipelineOptions, PipelineService } from '../../src-main/pipeline/service';
import { defaultWorkerEntry, forkWorker, type WorkerHandle } from '../../src-main/pipeline/worker-process';
import { Store } from '../../src-main/store';

export interface PipelineHarness {
  dir: string;
  store: Store;
  bus: EventBus;
  service: PipelineService;
  workers: WorkerHandle<never, never>[];
  close(): Promise<void>;
}

export function pipelineHarness(stagesModule: string, prefix = 'pb-pipe-', opts: Partial<PipelineOptions> = {}): PipelineHarness {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const store = new Store(path.join(dir, 'h.sqlite'));
  const bus = new EventBus();
  const workers: WorkerHandle<never, never>[] = [];
  const service = new PipelineService({
    store,
    bus,
    paths: { ...resolvePaths(dir), dataDir: dir },
    workerEntry: defaultWorkerEntry(),
    stagesModule,
    ...opts,
    spawn: (e) => {
      const w = forkWorker(e);
      workers.push(w);
      return w;
    },
  });
  return {
    dir,
    store,
    bus,
    service,
    workers,
    async close() {
      await service.close();
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
