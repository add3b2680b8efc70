/** Handlers for the devices contract area (device lab, runners, benchmarks). */
import type { devicesMethods } from '../../src-shared/contract/devices';
import type { Handlers } from '../../src-shared/rpc';
import type { CallContext, HostDeps } from '../host/context';

export function devicesHandlers(_deps: HostDeps): Handlers<typeof devicesMethods, CallContext> {
  return {};
}
