/** Handlers for the export contract area (.tflite export, inspect, import, run on this computer). */
import type { exportMethods } from '../../src-shared/contract/export';
import type { Handlers } from '../../src-shared/rpc';
import type { CallContext, HostDeps } from '../host/context';

export function exportHandlers(_deps: HostDeps): Handlers<typeof exportMethods, CallContext> {
  return {};
}
