/**
 * A local HTTP mirror for download tests: serves files from memory with HTTP Range support, and
 * injects the faults a real network has: a connection cut after N bytes, a corrupted body, a
 * server that ignores Range. Every request is logged (path, Range header, status).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ServedRequest {
  path: string;
  range: string | null;
  status: number;
}

export interface FileServer {
  /** Base URL, without a trailing slash. */
  url: string;
  requests: ServedRequest[];
  /** The next GET of `path` sends its headers, then `afterBytes` bytes of the body, then drops the connection. */
  cutOnce(path: string, afterBytes: number): void;
  /** The next `times` full GETs of `path` serve the file with some bytes changed (each time elsewhere). */
  corrupt(path: string, times?: number): void;
  /** Serve 200 with the whole file whatever the Range header says. */
  ignoreRange(on: boolean): void;
  /** Send bodies in 256 KiB pieces `ms` apart (0: all at once), so a UI can be seen downloading. */
  pace(ms: number): void;
  close(): Promise<void>;
}

export async function startFileServer(files: Record<string, Buffer>): Promise<FileServer> {
  const cuts = new Map<string, number>();
  const corrupted = new Map<string, number>();
  let noRange = false;
  let damage = 0;
  let paceMs = 0;
  const requests: ServedRequest[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const range = req.headers.range ?? null;
    const log = (status: number) => requests.push({ path: p, range, status });
    let body = files[p];
    if (!body) {
      log(404);
      res.writeHead(404).end('not found');
      return;
    }
    let start = 0;
    let status = 200;
    const m = /^bytes=(\d+)-$/.exec(range ?? '');
    if (m && !noRange) {
      start = Number(m[1]);
      if (start >= body.length) {
        log(416);
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      status = 206;
    }
    const left = corrupted.get(p) ?? 0;
    if (left > 0 && start === 0) {
      corrupted.set(p, left - 1);
      body = Buffer.from(body);
      // Each damaged copy differs from the last (as real damage would): a new place every time.
      const at = Math.floor(body.length / 2) + 64 * (damage++ % 8);
      for (let i = at; i < Math.min(body.length, at + 16); i++) body[i] ^= 0xff;
    }
    const slice = body.subarray(start);
    const headers: Record<string, string | number> = { 'content-length': slice.length, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    if (status === 206) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    log(status);
    res.writeHead(status, headers);
    const cut = cuts.get(p);
    if (cut !== undefined) {
      cuts.delete(p);
      res.write(slice.subarray(0, cut), () => {
        // Let the bytes leave, then drop the connection as a failing network would.
        setTimeout(() => req.socket.destroy(), 20);
      });
      return;
    }
    if (paceMs <= 0) {
      res.end(slice);
      return;
    }
    let at = 0;
    const next = () => {
      if (res.destroyed) return;
      const piece = slice.subarray(at, at + 256 * 1024);
      at += piece.length;
      if (at >= slice.length) res.end(piece);
      else res.write(piece, () => setTimeout(next, paceMs));
    };
    next();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    cutOnce: (p, n) => cuts.set(p, n),
    corrupt: (p, times = 1) => corrupted.set(p, times),
    ignoreRange: (on) => (noRange = on),
    pace: (ms) => (paceMs = ms),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port with nothing listening: connecting to it fails like an offline server. */
export async function closedPortUrl(): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
