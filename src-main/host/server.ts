/**
 * Browser mode: the same backend as the desktop app, served on loopback to a browser.
 * It never listens beyond 127.0.0.1; to use a lab machine from another computer, tunnel with SSH.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { methods } from '../../src-shared/contract';
import { createHost, type Host, type HostOptions } from './index';
import { staticHandler } from './static';
import { attachWebSocket, newToken } from './ws-transport';

export interface ServeOptions extends Omit<HostOptions, 'transport'> {
  port?: number;
  rendererDir: string;
  token?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  host: Host;
  close(): Promise<void>;
}

export async function serve(opts: ServeOptions): Promise<RunningServer> {
  const host = createHost({ ...opts, transport: 'websocket' });
  const token = opts.token ?? newToken();
  const server = http.createServer(staticHandler(opts.rendererDir));
  const ws = attachWebSocket(server, {
    methods,
    handlers: host.handlers,
    ctx: { transport: 'websocket' as const },
    token,
    subscribe: (l) => host.bus.subscribe(l),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/#token=${token}`,
    port,
    token,
    host,
    async close() {
      ws.close();
      await new Promise<void>((r) => server.close(() => r()));
      await host.close();
    },
  };
}
