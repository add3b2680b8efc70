import type { compareMethods } from '../../src-shared/contract/compare';
import type { Handlers } from '../../src-shared/rpc';
import type { CallContext, HostDeps } from './context';

export function compareHandlers({ store }: HostDeps): Handlers<typeof compareMethods, CallContext> {
  return {
    'compare.rows': (f) => store.compare.rows(f),
    'compare.facets': () => store.compare.facets(),
    'trends.lineages': () => store.compare.lineages(),
    'trends.series': (q) => store.compare.series(q),
  };
}
