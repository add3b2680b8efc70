/** Contract area: search ("Find the best model"). Handlers: src-main/compress/search/handlers.ts. */
import { z } from 'zod';
import { method } from '../rpc';
import type { SearchPlan, SearchResult } from '../search';
import { id } from './common';

export const searchMethods = {
  'search.plan': method<SearchPlan>()(
    z.object({ spec: z.unknown() }),
    'Check a search spec (teacher, data, target, budget, space) and return the recipe it runs as, with the rungs and candidates it will try.',
  ),
  'search.result': method<SearchResult | null>()(z.object({ runId: id }), "A search run's result (candidates, frontier, recommendation), or null while it has none."),
} as const;

export const searchEvents = {} as const;
