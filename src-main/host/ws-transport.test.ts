import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { type Handlers, method } from '../../src-shared/rpc';
import { staticHandler } from './static';
import { attachWebSocket, isLoopbackHost, isLoopbackOrigin } from './ws-transport';

const methods = { ping: method<string>()(z.undefined().or(z.null()), 'ping') };
const handlers: Handlers<typeof methods, null> = { ping: () => 'pong' };

let server: http.Server;
let port: number;
let root: string;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-static-'));
  fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>x</title>');
  fs.writeFileSync(path.join(os.tmpdir(), 'pb-secret.txt'), 'secret');
  server = http.createServer(staticHandler(root));
  attachWebSocket(server, { methods, handlers, ctx: null, token: 'tok-123' });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => server.close());

function tryConnect(url: string, headers: Record<string, string> = {}): Promise<number | 'open'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(0));
  });
}

function get(p: string, host = `127.0.0.1:${port}`): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p, headers: { host } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

describe('WebSocket transport security', () => {
  it('accepts the right token from a loopback origin', async () => {
    expect(await tryConnect(`ws://127.0.0.1:${port}/rpc?token=tok-123`, { origin: `http://127.0.0.1:${port}` })).toBe('open');
    expect(await tryConnect(`ws://127.0.0.1:${port}/rpc?token=tok-123`, { origin: `http://localhost:${port}` })).toBe('open');
  });
  it('refuses a missing or wrong token', async () => {
    expect(await tryConnect(`ws://127.0.0.1:${port}/rpc`)).toBe(401);
    expect(await tryConnect(`ws://127.0.0.1:${port}/rpc?token=tok-124`)).toBe(401);
  });
  it('refuses other web pages (Origin) and DNS rebinding (Host)', async () => {
    expect(await tryConnect(`ws://127.0.0.1:${port}/rpc?token=tok-123`, { origin: 'https://evil.example' })).toBe(403);
    expect(await tryConnect(`ws://127.0.0.1:${port}/rpc?token=tok-123`, { host: 'evil.example' })).toBe(403);
  });
  it('classifies hosts and origins', () => {
    expect(isLoopbackHost('127.0.0.1:8765')).toBe(true);
    expect(isLoopbackHost('[::1]:8765')).toBe(true);
    expect(isLoopbackHost('127.0.0.1.evil.example')).toBe(false);
    expect(isLoopbackOrigin('null')).toBe(false);
    expect(isLoopbackOrigin('file://')).toBe(false);
  });
});

describe('static files', () => {
  it('serves the app with a strict CSP', async () => {
    const r = await get('/');
    expect(r.status).toBe(200);
    expect(r.headers['content-security-policy']).toContain("default-src 'self'");
    expect(r.headers['content-security-policy']).toContain("object-src 'none'");
  });
  it('does not leave its folder and refuses foreign hosts', async () => {
    expect((await get('/../pb-secret.txt')).body).not.toContain('secret');
    expect((await get('/%2e%2e/pb-secret.txt')).body).not.toContain('secret');
    expect((await get('/', 'attacker.example')).status).toBe(403);
  });
  it('answers a malformed path with 400 and keeps serving (GET /% used to end the process)', async () => {
    for (const bad of ['/%', '/%zz', '/%E0%A4%A', '/a%00b']) expect((await get(bad)).status, bad).toBe(400);
    expect((await get('/')).status).toBe(200);
  });
});
