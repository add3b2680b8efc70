/**
 * The preload's whole API: a generic `invoke` and `subscribe` over the two IPC channels.
 * It exposes no Node or Electron object to the page.
 */
import { IPC_CALL, IPC_EVENT } from '../../src-shared/channels';
import type { Envelope, Transport } from '../../src-shared/rpc';

export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

export function createPreloadBridge(ipcRenderer: IpcRendererLike): Transport {
  return {
    invoke: (method: string, args: unknown) => ipcRenderer.invoke(IPC_CALL, String(method), args) as Promise<Envelope>,
    subscribe(listener: (event: string, payload: unknown) => void) {
      const wrapped = (_e: unknown, ...rest: unknown[]) => listener(String(rest[0]), rest[1]);
      ipcRenderer.on(IPC_EVENT, wrapped);
      return () => {
        ipcRenderer.removeListener(IPC_EVENT, wrapped);
      };
    },
  };
}
