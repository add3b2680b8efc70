/**
 * The WebSocket transport, server side: serves any contract over one socket per UI, with a token,
 * and Host/Origin checks that stop other web pages (and DNS rebinding) from reaching the backend.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import { dispatch, type EventMap, type Handlers, type MethodMap, type WireMessage } from '../../src-shared/rpc';

const callSchema = z.object({ type: z.literal('call'), id: z.number().int().nonnegative(), method: z.string().max(200), args: z.unknown() });

export interface WsOptions<M extends MethodMap, Ctx> {
  methods: M;
  handlers: Handlers<M, Ctx>;
  ctx: Ctx;
  token: string;
  /** Subscribe to backend events; returns an unsubscribe function. */
  subscribe?: (listener: (event: string, payload: unknown) => void) => () => void;
  path?: string;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** `Host`/`Origin` must name a loopback host: a page on another site, or a rebound DNS name, is refused. */
export function isLoopbackHost(hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(hostHeader.trim().toLowerCase());
  return Boolean(m && LOOPBACK_HOSTS.has(m[1]));
}

export function isLoopbackOrigin(origin: string | undefined): boolean {
  if (origin === undefined) return true; // not a browser (CLI, tests): the token still applies
  try {
    const u = new URL(origin);
    return (u.protocol === 'http:' || u.protocol === 'https:') && isLoopbackHost(u.host);
  } catch {
    return false;
  }
}

export function tokenMatches(given: string | null | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

export function newToken(): string {
  return crypto.randomBytes(24).toString('base64url');
}

export function attachWebSocket<M extends MethodMap, _E extends EventMap, Ctx>(server: http.Server, opts: WsOptions<M, Ctx>): { close(): void; clients(): number } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 32 * 1024 * 1024 });
  const rpcPath = opts.path ?? '/rpc';

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const refuse = (code: number, why: string) => {
      socket.write(`HTTP/1.1 ${code} ${why}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    if (url.pathname !== rpcPath) return refuse(404, 'Not Found');
    if (!isLoopbackHost(req.headers.host)) return refuse(403, 'Forbidden Host');
    if (!isLoopbackOrigin(req.headers.origin)) return refuse(403, 'Forbidden Origin');
    if (!tokenMatches(url.searchParams.get('token'), opts.token)) return refuse(401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const send = (ws: WebSocket, msg: WireMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  };

  wss.on('connection', (ws: WebSocket) => {
    ws.on('message', async (data) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(String(data));
      } catch {
        return;
      }
      const msg = callSchema.safeParse(parsed);
      if (!msg.success) return;
      const { id, method, args } = msg.data;
      const envelope = await dispatch(opts.methods, opts.handlers, method, args ?? undefined, opts.ctx);
      send(ws, { type: 'reply', id, envelope });
    });
  });

  const unsubscribe = opts.subscribe?.((event, payload) => {
    for (const ws of wss.clients) send(ws, { type: 'event', event, payload });
  });

  return {
    close() {
      unsubscribe?.();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
    clients: () => wss.clients.size,
  };
}
