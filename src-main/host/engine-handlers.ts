/** Handlers for the engine contract area (datasets, models, recipe estimates). */
import type { engineMethods } from '../../src-shared/contract/engine';
import type { Handlers } from '../../src-shared/rpc';
import { capacityReport, estimateRecipe, modelSummary } from '../compress/train/engine-service';
import { importModelArtifact } from '../compress/train/import-artifact';
import { datasetSource } from '../compress/train/run-data';
import { previewDataset, resolveDatasetSource } from '../data';
import { TEMPLATES } from '../models';
import type { CallContext, HostDeps } from './context';

export function engineHandlers(deps: HostDeps): Handlers<typeof engineMethods, CallContext> {
  const { store } = deps;
  return {
    // The built-in Fashion-MNIST arrives here on first use: downloaded, verified, progress to every UI.
    'datasets.preview': async ({ dataset, samplesPerClass }) =>
      previewDataset(
        await resolveDatasetSource(datasetSource(dataset, 0).source, { dataDir: deps.paths.dataDir, onProgress: (p) => deps.bus.emit('datasets.download', p) }),
        samplesPerClass,
      ),
    'models.templates': () => TEMPLATES,
    'models.summary': ({ model, inputShape, numClasses }) => modelSummary(store, model, inputShape, numClasses),
    'models.capacity': ({ teacher, student, inputShape, numClasses }) => capacityReport(store, teacher, student, inputShape, numClasses),
    'models.import': (a) => importModelArtifact(deps, a),
    'recipes.estimate': ({ recipe }) => estimateRecipe(store, recipe),
  };
}
