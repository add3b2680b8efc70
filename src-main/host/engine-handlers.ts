/**
 * Handlers for the engine contract area (datasets, models, recipe estimates). Everything that builds
 * a model, times a step or decodes images runs in a task worker (tasks/registry.ts), never here.
 */
import type { engineMethods } from '../../src-shared/contract/engine';
import { AppError } from '../../src-shared/errors';
import { validateRecipe } from '../../src-shared/recipe';
import type { Handlers } from '../../src-shared/rpc';
import { datasetSource } from '../compress/train/run-data';
import { resolveDatasetSource } from '../data';
import { TEMPLATES } from '../models';
import type { CallContext, HostDeps } from './context';

export function engineHandlers(deps: HostDeps): Handlers<typeof engineMethods, CallContext> {
  const { tasks } = deps;
  return {
    // The built-in Fashion-MNIST arrives here on first use (downloaded and verified in this process:
    // network and disk, not CPU), with progress to every UI; the preview itself decodes in a task worker.
    'datasets.preview': async ({ dataset, samplesPerClass }) =>
      tasks.run('datasets.preview', {
        source: await resolveDatasetSource(datasetSource(dataset, 0).source, { dataDir: deps.paths.dataDir, onProgress: (p) => deps.bus.emit('datasets.download', p) }),
        samplesPerClass,
      }),
    'models.templates': () => TEMPLATES,
    'models.summary': (a) => tasks.run('models.summary', a),
    'models.capacity': (a) => tasks.run('models.capacity', a),
    'models.import': (a) => tasks.run('models.import', a),
    'recipes.estimate': (a) => {
      // Checked here first: a recipe with unbounded options never reaches a worker.
      const checked = validateRecipe(a.recipe);
      if (!checked.ok) throw new AppError('INVALID_ARGS', `Fix the recipe first: ${checked.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, { errors: checked.errors });
      return tasks.run('recipes.estimate', { recipe: checked.recipe });
    },
  };
}
