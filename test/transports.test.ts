/**
 * The contract's promise: a method added to the map is callable end to end through both transports,
 * with no channel name or stub written anywhere else. This test adds a method that exists nowhere
 * but here, then calls it through Electron IPC (generic main registration + the real preload bridge)
 * and through the WebSocket server and client.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { methods as appMethods, events as appEvents } from '../src-shared/contract';
import { createClient, event, type Handlers, method, type Transport } from '../src-shared/rpc';
import { createWsTransport, type WebSocketCtor } from '../src-shared/ws-client';
import { forwardEvents, type IpcEventLike, registerIpc } from '../src-main/app/ipc';
import { createPreloadBridge } from '../src-main/app/preload-bridge';
import { EventBus } from '../src-main/host/events';
import { attachWebSocket } from '../src-main/host/ws-transport';

// One new line in the map…
const methods = {
  ...appMethods,
  'test.greet': method<{ greeting: string }>()(z.object({ name: z.string().min(1, 'must not be empty') }), 'say hello'),
};
const events = { ...appEvents, 'test.tick': event<{ n: number }>('a tick') };
// …and one handler. The rest of the app's handlers are irrelevant here.
const handlers = {
  'test.greet': ({ name }: { name: string }) => ({ greeting: `hello ${name}` }),
} as unknown as Handlers<typeof methods, null>;

function fakeElectron(senderUrl: string) {
  const handles = new Map<string, (e: IpcEventLike, ...a: unknown[]) => unknown>();
  const rendererListeners = new Map<string, Set<(e: unknown, ...a: unknown[]) => void>>();
  const ipcMain = {
    handle: (ch: string, fn: (e: IpcEventLike, ...a: unknown[]) => unknown) => handles.set(ch, fn),
    removeHandler: (ch: string) => handles.delete(ch),
  };
  const ipcRenderer = {
    // Electron structured-clones arguments and results; JSON round-trips stand in for that.
    invoke: async (ch: string, ...args: unknown[]) => {
      const fn = handles.get(ch);
      if (!fn) throw new Error(`No handler registered for '${ch}'`);
      return structuredClone(await fn({ senderFrame: { url: senderUrl } }, ...structuredClone(args)));
    },
    on: (ch: string, l: (e: unknown, ...a: unknown[]) => void) => {
      if (!rendererListeners.has(ch)) rendererListeners.set(ch, new Set());
      rendererListeners.get(ch)!.add(l);
    },
    removeListener: (ch: string, l: (e: unknown, ...a: unknown[]) => void) => rendererListeners.get(ch)?.delete(l),
  };
  const webContents = {
    isDestroyed: () => false,
    send: (ch: string, ...args: unknown[]) => rendererListeners.get(ch)?.forEach((l) => l({}, ...structuredClone(args))),
  };
  return { ipcMain, ipcRenderer, webContents, handles };
}

describe('a method added to the contract map', () => {
  const bus = new EventBus();
  const servers: http.Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it('is callable through Electron IPC, with events', async () => {
    const e = fakeElectron('file:///app/out/renderer/index.html');
    registerIpc(e.ipcMain, methods, handlers, null, (url) => url === 'file:///app/out/renderer/index.html');
    forwardEvents((l) => bus.subscribe(l), () => e.webContents);
    expect(e.handles.size).toBe(1); // one channel serves the whole contract

    const client = createClient<typeof methods, typeof events>(createPreloadBridge(e.ipcRenderer));
    expect(await client.call('test.greet', { name: 'Ada' })).toEqual({ greeting: 'hello Ada' });
    await expect(client.call('test.greet', { name: '' })).rejects.toMatchObject({ code: 'INVALID_ARGS', message: expect.stringContaining('name: must not be empty') });

    const ticks: number[] = [];
    client.on('test.tick', (p) => ticks.push(p.n));
    (bus.emit as (e: string, p: unknown) => void)('test.tick', { n: 7 });
    expect(ticks).toEqual([7]);
  });

  it('refuses IPC calls from a frame that is not our renderer', async () => {
    const e = fakeElectron('https://evil.example/');
    registerIpc(e.ipcMain, methods, handlers, null, (url) => url.startsWith('file://'));
    const client = createClient<typeof methods, typeof events>(createPreloadBridge(e.ipcRenderer));
    await expect(client.call('test.greet', { name: 'x' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('is callable through the WebSocket transport, with events', async () => {
    const server = http.createServer();
    servers.push(server);
    const wsSide = attachWebSocket(server, { methods, handlers, ctx: null, token: 'secret-token', subscribe: (l) => bus.subscribe(l) });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const transport = createWsTransport(`ws://127.0.0.1:${port}/rpc?token=secret-token`, WebSocket as unknown as WebSocketCtor, { reconnect: false });
    await transport.ready;
    const client = createClient<typeof methods, typeof events>(transport as Transport);
    expect(await client.call('test.greet', { name: 'Grace' })).toEqual({ greeting: 'hello Grace' });
    await expect(client.call('test.greet', { name: '' })).rejects.toMatchObject({ code: 'INVALID_ARGS' });

    const got = new Promise<number>((r) => client.on('test.tick', (p) => r(p.n)));
    (bus.emit as (e: string, p: unknown) => void)('test.tick', { n: 11 });
    expect(await got).toBe(11);
    transport.close();
    wsSide.close();
  });
});
