/**
 * The WebSocket transport, client side. Takes the WebSocket constructor as a parameter so it runs
 * in the browser (global WebSocket) and in Node tests (the `ws` package) alike.
 */
import type { Envelope, Transport, WireMessage } from './rpc';

export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}

export type WebSocketCtor = new (url: string) => WebSocketLike;

export interface WsTransport extends Transport {
  /** Resolves once connected (the first time). */
  ready: Promise<void>;
  close(): void;
  onConnectionChange(listener: (connected: boolean) => void): () => void;
}

const OPEN = 1;

export function createWsTransport(url: string, Ctor: WebSocketCtor, opts: { reconnect?: boolean } = {}): WsTransport {
  let socket: WebSocketLike | null = null;
  let nextId = 1;
  let closed = false;
  let retry = 250;
  const pending = new Map<number, (env: Envelope) => void>();
  const queue: string[] = [];
  const eventListeners = new Set<(event: string, payload: unknown) => void>();
  const connListeners = new Set<(c: boolean) => void>();
  let resolveReady!: () => void;
  let rejectReady!: (e: Error) => void;
  let everOpened = false;
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });

  const failPending = (message: string) => {
    for (const [, resolve] of pending) resolve({ ok: false, error: { code: 'DISCONNECTED', message } });
    pending.clear();
  };

  const connect = () => {
    const s = new Ctor(url);
    socket = s;
    s.onopen = () => {
      everOpened = true;
      retry = 250;
      resolveReady();
      for (const l of connListeners) l(true);
      while (queue.length) s.send(queue.shift()!);
    };
    s.onmessage = (ev) => {
      let msg: WireMessage;
      try {
        msg = JSON.parse(String(ev.data)) as WireMessage;
      } catch {
        return;
      }
      if (msg.type === 'reply') {
        const resolve = pending.get(msg.id);
        pending.delete(msg.id);
        resolve?.(msg.envelope);
      } else if (msg.type === 'event') {
        for (const l of eventListeners) l(msg.event, msg.payload);
      }
    };
    s.onerror = () => {
      /* onclose follows */
    };
    s.onclose = () => {
      for (const l of connListeners) l(false);
      failPending('The connection to the PocketBench backend was lost. It reconnects by itself; if it does not, restart `npm run serve` and reload the page.');
      if (!everOpened && !opts.reconnect) {
        rejectReady(new Error(`Cannot connect to ${url.replace(/token=[^&]+/, 'token=…')}`));
        return;
      }
      if (!closed && opts.reconnect !== false) {
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 5000);
      }
    };
  };
  connect();

  return {
    ready,
    invoke(method, args) {
      const id = nextId++;
      const text = JSON.stringify({ type: 'call', id, method, args: args === undefined ? null : args } satisfies WireMessage);
      return new Promise<Envelope>((resolve) => {
        pending.set(id, resolve);
        if (socket && socket.readyState === OPEN) socket.send(text);
        else queue.push(text);
      });
    },
    subscribe(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    onConnectionChange(listener) {
      connListeners.add(listener);
      return () => connListeners.delete(listener);
    },
    close() {
      closed = true;
      socket?.close();
      failPending('Closed.');
    },
  };
}
