/** Contract area: engine (datasets, models, estimates). Handlers live in src-main/host/engine-handlers.ts. */
import { z } from 'zod';
import type { CapacityReport, DatasetDownloadProgress, DatasetPreview, ModelImportResult, ModelSummary, RecipeEstimate, TemplateInfo } from '../engine-types';
import { event, method } from '../rpc';
import { datasetSchema, inputShapeSchema, templateNames, templateOptionsSchema } from '../recipe';
import { id, none } from './common';

const shape = inputShapeSchema;
const classes = z.number().int().min(2).max(100_000);

/** A model to summarise: a template at a width, a model file on this computer (model.json, .h5, .keras), or an artifact. */
export const modelRefSchema = z.union([
  z.object({
    template: z.enum(templateNames, { error: `must be one of ${templateNames.join(', ')}` }),
    width: z.number().min(0.03).max(8).default(1),
    options: templateOptionsSchema.optional(),
  }),
  z.object({ path: z.string().min(1, 'give the path of a model file (model.json, .h5, .keras)') }),
  z.object({ artifactId: id }),
]);

export const engineMethods = {
  'datasets.preview': method<DatasetPreview>()(
    z.object({ dataset: datasetSchema, samplesPerClass: z.number().int().min(0).max(8).default(3) }),
    'Class names, counts, sample shape and a few sample images (small PNG data URLs) of a dataset, without loading it.',
  ),
  'models.templates': method<TemplateInfo[]>()(none, 'The built-in architectures (MLP, LeNet, MobileNet, ResNet) with a one-line description.'),
  'models.summary': method<ModelSummary>()(
    z.object({ model: modelRefSchema, inputShape: shape.optional(), numClasses: classes.optional() }),
    'Per-layer parameters, MACs and bytes of a template (needs inputShape and numClasses), a model.json or an artifact.',
  ),
  'models.capacity': method<CapacityReport>()(
    z.object({ teacher: modelRefSchema, student: modelRefSchema, inputShape: shape, numClasses: classes }),
    'The capacity check: can this student follow this teacher? Size ratios, findings and suggested widths.',
  ),
  'models.import': method<ModelImportResult>()(
    z.object({
      path: z.string().min(1, 'give the path of a model file or folder').max(4096),
      name: z.string().min(1).max(200).optional(),
      normalization: z.enum(['signed', 'unit', 'raw'], { error: 'must be signed (x/127.5 − 1), unit (x/255) or raw (0–255)' }).optional(),
    }),
    'Import a TF.js model.json (nested models included), Keras .h5 or Keras 3 .keras (or a folder holding one) as an artifact: one flat TF.js model with its labels and input convention, a layer summary, and what was decided and why.',
  ),
  'recipes.estimate': method<RecipeEstimate>()(
    z.object({ recipe: z.unknown() }),
    'Estimated wall time per stage from ms/batch measured on this computer’s backend, and model sizes from parameter counts.',
  ),
} as const;
export const engineEvents = {
  'datasets.download': event<DatasetDownloadProgress>('The built-in Fashion-MNIST is being downloaded and verified on first use.'),
} as const;
