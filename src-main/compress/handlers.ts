/** Handlers for the compress contract area (pruning and quantization tools outside a run). */
import type { compressMethods } from '../../src-shared/contract/compress';
import type { Handlers } from '../../src-shared/rpc';
import type { CallContext, HostDeps } from '../host/context';

export function compressHandlers(_deps: HostDeps): Handlers<typeof compressMethods, CallContext> {
  return {};
}
