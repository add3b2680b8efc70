import type { pipelineMethods } from '../../src-shared/contract/pipeline';
import { presets } from '../../src-shared/presets';
import { validateRecipe } from '../../src-shared/recipe';
import type { Handlers } from '../../src-shared/rpc';
import type { CallContext, HostDeps } from '../host/context';
import { devicesHostServices } from '../devices/pipeline-service';
import { PipelineService } from './service';
import { defaultWorkerEntry } from './worker-process';

export function pipelineHandlers(deps: HostDeps): Handlers<typeof pipelineMethods, CallContext> {
  const service = new PipelineService({
    store: deps.store,
    bus: deps.bus,
    paths: deps.paths,
    workerEntry: defaultWorkerEntry(deps.opts.builtDir),
    spawn: deps.opts.spawnWorker,
    stagesModule: deps.opts.stagesModule,
    hostServices: { ...devicesHostServices(deps) },
    onBackend: (info) => deps.patchStatus({ backend: info }),
  });
  deps.onClose(() => service.close());
  return {
    'runs.start': ({ recipe }) => service.start(recipe),
    'runs.cancel': ({ id }) => ({ cancelled: service.cancel(id) }),
    'runs.resume': ({ id }) => ({ resumed: service.resume(id) }),
    'recipes.validate': ({ recipe }) => {
      const r = validateRecipe(recipe);
      return r.ok ? { ok: true, errors: [], warnings: r.warnings, recipe: r.recipe } : { ok: false, errors: r.errors, warnings: r.warnings };
    },
    'recipes.presets': () => presets,
    'runs.progress': () => service.progress(),
  };
}
