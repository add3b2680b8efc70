/** Handlers for the devices contract area (device lab, runners, benchmarks). */
import type { devicesMethods } from '../../src-shared/contract/devices';
import type { Handlers } from '../../src-shared/rpc';
import type { CallContext, HostDeps } from '../host/context';
import { probeAdb } from './adb-status';
import { artifactModel } from './bench-model';
import { labFor } from './index';

export function devicesHandlers(deps: HostDeps): Handlers<typeof devicesMethods, CallContext> {
  const lab = () => labFor(deps);
  return {
    'devices.live': async () => {
      try {
        await lab().start();
        // We may just have started the server: the status bar should say so.
        if (deps.status().adb.state !== 'ready') deps.patchStatus({ adb: await probeAdb() });
      } catch (err) {
        // No adb, or not allowed to start it: the status bar says why; stored devices still show.
        const status = await probeAdb();
        deps.patchStatus({ adb: status.state === 'ready' ? { ...status, state: 'error', message: (err as Error).message } : status });
      }
      return lab().live();
    },
    'devices.connect': async ({ host, port }) => ({ serial: await lab().connect(host, port) }),
    'devices.refreshFacts': ({ serial }) => lab().refreshFacts(serial),
    'sources.list': async () => {
      // Show real states: start tracking (a local adb that cannot start is reported in its row).
      await lab().start().catch(() => undefined);
      return lab().sourcesStatus();
    },
    'sources.add': (input) => lab().addSource(input),
    'sources.remove': ({ id }) => lab().removeSource(id),
    'runners.list': () => lab().runners(),
    'runners.set': ({ abi, path }) => lab().setRunner(abi, path),
    'runners.download': ({ abi }) => lab().downloadRunner(abi),
    'benchmarks.start': async ({ artifactId, path, targets, options }) => {
      const model = artifactId !== undefined ? artifactModel(deps.store, artifactId) : { path: path!, name: undefined };
      return { benchmarkIds: await lab().queue({ modelPath: model.path, modelName: model.name, artifactId: artifactId ?? null, targets, options }) };
    },
    'benchmarks.cancel': ({ id }) => ({ cancelled: lab().cancel(id) }),
    'benchmarks.queue': () => lab().queueEntries(),
    'benchmarks.get': ({ id }) => lab().detail(id),
  };
}
