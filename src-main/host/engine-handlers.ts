/** Handlers for the engine contract area (datasets, models, recipes estimates). */
import type { engineMethods } from '../../src-shared/contract/engine';
import type { Handlers } from '../../src-shared/rpc';
import type { CallContext, HostDeps } from './context';

export function engineHandlers(_deps: HostDeps): Handlers<typeof engineMethods, CallContext> {
  return {};
}
