import type { compareMethods } from '../../src-shared/contract/compare';
import type { Handlers } from '../../src-shared/rpc';
import type { CallContext, HostDeps } from './context';
import { saveTeamSettings, teamSettings } from './team-settings';

export function compareHandlers({ store, paths }: HostDeps): Handlers<typeof compareMethods, CallContext> {
  return {
    'compare.rows': (f) => store.compare.rows(f),
    'compare.facets': () => store.compare.facets(),
    'trends.lineages': () => store.compare.lineages(),
    'trends.series': (q) => store.compare.series(q),
    'team.get': () => teamSettings(store, paths.dataDir),
    'team.set': (a) => saveTeamSettings(store, paths.dataDir, a),
  };
}
