/** Handlers for the search contract area. A search runs as an ordinary recipe (`runs.start`). */
import type { searchMethods } from '../../../src-shared/contract/search';
import { AppError } from '../../../src-shared/errors';
import type { Handlers } from '../../../src-shared/rpc';
import type { SearchResult } from '../../../src-shared/search';
import type { CallContext, HostDeps } from '../../host/context';
import { planSearch } from './plan';

export function searchHandlers(deps: HostDeps): Handlers<typeof searchMethods, CallContext> {
  return {
    'search.plan': ({ spec }) => planSearch(spec),
    'search.result': ({ runId }) => {
      const run = deps.store.runs.get(runId);
      if (!run) throw new AppError('NOT_FOUND', `There is no run #${runId}.`);
      const stage = run.stages.find((s) => s.kind === 'search');
      if (!stage) throw new AppError('INVALID_ARGS', `Run #${runId} is not a search (it has no search stage).`);
      return ((stage.metrics as { search?: SearchResult } | null)?.search ?? null) as SearchResult | null;
    },
  };
}
