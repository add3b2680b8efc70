/** Serves the built renderer to the browser, with the same CSP as the desktop app. */
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { isLoopbackHost } from './ws-transport';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
};

/** Strict CSP: only our own scripts; `connect-src` limited to this server's own WebSocket. */
export function contentSecurityPolicy(wsOrigin?: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self'${wsOrigin ? ` ${wsOrigin}` : ''}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function staticHandler(root: string) {
  const serve = serveStatic(path.resolve(root));
  // Any request, however malformed, gets an answer; none may throw out of the handler (an uncaught
  // exception there ends the server process and the pipeline it runs).
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    try {
      serve(req, res);
    } catch {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('Bad request');
    }
  };
}

/** The request path decoded, or null when it is not valid percent-encoded UTF-8 (`/%`, `/%zz`). */
function decodedPath(url: string | undefined): string | null {
  try {
    return decodeURIComponent(new URL(url ?? '/', 'http://127.0.0.1').pathname);
  } catch {
    return null;
  }
}

function serveStatic(rootResolved: string) {
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (!isLoopbackHost(req.headers.host)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('Forbidden host');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    let rel = decodedPath(req.url);
    if (rel === null || rel.includes('\0')) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Bad request: the path is not valid percent-encoded UTF-8');
      return;
    }
    if (rel === '/' || rel === '') rel = '/index.html';
    const file = path.resolve(rootResolved, '.' + rel);
    if (!file.startsWith(rootResolved + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
        return;
      }
      const host = req.headers.host ?? '127.0.0.1';
      res.writeHead(200, {
        'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'content-length': st.size,
        'content-security-policy': contentSecurityPolicy(`ws://${host}`),
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': file.endsWith('index.html') ? 'no-store' : 'public, max-age=3600',
      });
      if (req.method === 'HEAD') res.end();
      else fs.createReadStream(file).pipe(res);
    });
  };
}
