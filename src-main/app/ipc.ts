/**
 * Electron IPC transport, main side, generic over the contract. No `electron` import here (only
 * structural types), so tests exercise it under plain Node.
 */
import { dispatch, type Envelope, type Handlers, IPC_CALL, IPC_EVENT, type MethodMap } from '../../src-shared/rpc';

export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcEventLike, ...args: unknown[]) => Promise<unknown> | unknown): void;
  removeHandler(channel: string): void;
}

export interface IpcEventLike {
  senderFrame?: { url: string } | null;
  sender?: { id: number };
}

export interface WebContentsLike {
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
}

/**
 * One `handle` for the whole contract. Calls from any frame other than our own renderer are refused
 * (a navigated or injected frame must not reach the backend).
 */
export function registerIpc<M extends MethodMap, Ctx>(
  ipcMain: IpcMainLike,
  methods: M,
  handlers: Handlers<M, Ctx>,
  ctx: Ctx,
  isTrustedSender: (url: string) => boolean,
): () => void {
  ipcMain.handle(IPC_CALL, async (event, method, args): Promise<Envelope> => {
    const url = event.senderFrame?.url ?? '';
    if (!isTrustedSender(url)) {
      return { ok: false, error: { code: 'FORBIDDEN', message: 'This window is not allowed to talk to PocketBench.' } };
    }
    return dispatch(methods, handlers, method, args, ctx);
  });
  return () => ipcMain.removeHandler(IPC_CALL);
}

export function forwardEvents(
  subscribe: (listener: (event: string, payload: unknown) => void) => () => void,
  target: () => WebContentsLike | null,
): () => void {
  return subscribe((event, payload) => {
    const wc = target();
    if (wc && !wc.isDestroyed()) wc.send(IPC_EVENT, event, payload);
  });
}

/** Trusted renderer URLs: our own file (packaged) or the dev server's origin. */
export function trustedSenderPredicate(rendererUrl: string): (url: string) => boolean {
  const expected = new URL(rendererUrl);
  return (url: string) => {
    try {
      const u = new URL(url);
      if (expected.protocol === 'file:') return u.protocol === 'file:' && u.pathname === expected.pathname;
      return u.origin === expected.origin;
    } catch {
      return false;
    }
  };
}
