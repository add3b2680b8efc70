/** Running recipes: start, cancel, resume, validate; live progress. */
import { z } from 'zod';
import { event, method } from '../rpc';
import type { Preset } from '../presets';
import type { RecipeIssue } from '../recipe';
import { id } from './common';

export interface RunProgress {
  runId: number;
  stageIndex: number;
  stageKind: string;
  /** Free-form phase within a stage, e.g. `T=4`, `control`, `fine-tune 2/3`. */
  phase?: string;
  epoch?: number;
  epochs?: number;
  batch?: number;
  batches?: number;
  /** 0..1 over the whole stage. */
  fraction?: number;
  etaMs?: number;
  metrics?: Record<string, number>;
  message?: string;
}

export const pipelineMethods = {
  'runs.start': method<{ runId: number; warnings: RecipeIssue[] }>()(
    z.object({ recipe: z.unknown() }),
    'Validate a recipe and queue it; returns the new run id.',
  ),
  'runs.cancel': method<{ cancelled: boolean }>()(z.object({ id }), 'Stop a queued or running run (its finished stages are kept).'),
  'runs.resume': method<{ resumed: boolean }>()(z.object({ id }), 'Continue an interrupted, failed or cancelled run from its last checkpoint.'),
  'recipes.validate': method<{ ok: boolean; errors: RecipeIssue[]; warnings: RecipeIssue[]; recipe?: unknown }>()(
    z.object({ recipe: z.unknown() }),
    'Check a recipe and return it with defaults filled in, or the problems, each naming its field.',
  ),
  'recipes.presets': method<Preset[]>()(z.undefined().or(z.null()).optional(), 'Recipes that ship with the app.'),
  'runs.progress': method<RunProgress[]>()(z.undefined().or(z.null()).optional(), 'Latest progress of active runs (for a view opened mid-run).'),
} as const;

export const pipelineEvents = {
  'run.progress': event<RunProgress>('Progress of a running stage (epoch, batch, loss, metrics, ETA).'),
  'run.log': event<{ runId: number; level: 'info' | 'warn' | 'error'; message: string }>('A message from a running recipe.'),
} as const;
