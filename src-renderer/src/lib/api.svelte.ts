/**
 * The renderer's one way to reach the backend: a typed client over whichever transport exists.
 * In the desktop app the preload exposes `window.pocketbench`; in a browser we use the WebSocket
 * served by `npm run serve`, authenticated with the token from the URL fragment.
 */
import { type Events, type Methods } from '../../../src-shared/contract';
import { type Client, createClient, type Transport } from '../../../src-shared/rpc';
import { createWsTransport, type WebSocketCtor } from '../../../src-shared/ws-client';

declare global {
  interface Window {
    pocketbench?: Transport;
  }
}

export type Api = Client<Methods, Events>;

function tokenFromUrl(): string | null {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('pocketbench.token', decodeURIComponent(m[1]));
    // Keep the token out of the address bar (and out of screenshots and shared links).
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem('pocketbench.token');
}

export const connection = $state({ connected: true, kind: 'electron' as 'electron' | 'websocket', error: '' });

function makeTransport(): Transport {
  if (window.pocketbench) return window.pocketbench;
  connection.kind = 'websocket';
  const token = tokenFromUrl();
  if (!token) {
    connection.connected = false;
    connection.error = 'This page needs the address printed by `npm run serve` (it carries an access token). Open that address again.';
  }
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = createWsTransport(`${proto}//${location.host}/rpc?token=${encodeURIComponent(token ?? '')}`, WebSocket as unknown as WebSocketCtor, {
    reconnect: true,
  });
  ws.onConnectionChange((c) => {
    connection.connected = c;
    if (c) connection.error = '';
    else if (token) connection.error = 'Lost the connection to the backend; reconnecting…';
  });
  return ws;
}

export const api: Api = createClient<Methods, Events>(makeTransport());
