/**
 * A stand-in for a DeviceFarmer STF server, for tests: NOT STF, but an HTTP server that follows
 * STF's documented REST API (doc/API.md of openstf/stf, continued as DeviceFarmer/stf) and the
 * answers of its user controller:
 * - `Authorization: Bearer <token>` on every request, else 401 `{ success: false, description }`;
 * - `GET /api/v1/devices?fields=…` → `{ success: true, devices }` with only the fields asked for;
 * - `GET /api/v1/user/devices` → the caller's devices;
 * - `POST /api/v1/user/devices` `{ serial, timeout }` (ms) → reserves it, 403 "Device is being used
 *   or not available" when someone has it, 404 when unknown; the reservation lapses after `timeout`;
 * - `POST /api/v1/user/devices/{serial}/remoteConnect` → `{ remoteConnectUrl }`, 404 when not yours;
 * - `DELETE /api/v1/user/devices/{serial}/remoteConnect` and `DELETE /api/v1/user/devices/{serial}`.
 *
 * Its devices are simulated phones (test/sim-device): the sim phone is a real adbd over TCP (the
 * device side of the ADB protocol, which a real `adb` server reaches with `adb connect`), so the
 * remote connect URL is the sim phone's own `127.0.0.1:PORT`, just as STF's provider hands out a
 * `provider-ip:port` that forwards to the phone's adbd.
 */
import http from 'node:http';
import type net from 'node:net';

export interface FarmDevice {
  serial: string;
  /** Where `adb connect` reaches the phone (the sim phone's port). */
  adbPort: number;
  present?: boolean;
  ready?: boolean;
  /** Someone else has it (email). */
  takenBy?: string | null;
  manufacturer: string;
  model: string;
  version: string;
  sdk: string;
  abi: string;
  cpuPlatform?: string;
}

export interface StfStandin {
  url: string;
  token: string;
  /** Every request as `METHOD /path` (query left out), with the JSON body when there was one. */
  requests: { method: string; path: string; body: unknown }[];
  device(serial: string): FarmDevice & { owner: string | null; claimTimeoutMs: number | null; remoteConnect: boolean };
  /** Make the farm refuse every request with this status from now on (null: back to normal). */
  failWith(status: number | null): void;
  close(): Promise<void>;
}

const ME = 'pocketbench@example.org';

export async function startStfStandin(devices: FarmDevice[], token = 'stf-token-0123456789abcdef'): Promise<StfStandin> {
  const state = new Map(devices.map((d) => [d.serial, { ...d, owner: d.takenBy ?? null, claimTimeoutMs: null as number | null, remoteConnect: false, expiry: null as NodeJS.Timeout | null }]));
  const requests: StfStandin['requests'] = [];
  let failing: number | null = null;
  const release = (serial: string) => {
    const d = state.get(serial)!;
    if (d.expiry) clearTimeout(d.expiry);
    Object.assign(d, { owner: null, claimTimeoutMs: null, remoteConnect: false, expiry: null });
  };
  const view = (d: NonNullable<ReturnType<typeof state.get>>) => ({
    serial: d.serial,
    present: d.present ?? true,
    ready: d.ready ?? true,
    using: d.owner === ME,
    owner: d.owner ? { email: d.owner, name: d.owner.split('@')[0] } : null,
    manufacturer: d.manufacturer,
    model: d.model,
    marketName: d.model,
    version: d.version,
    sdk: d.sdk,
    abi: d.abi,
    cpuPlatform: d.cpuPlatform ?? null,
    display: { width: 1080, height: 2400 },
    battery: { level: 77, scale: 100, status: 'charging', temp: 29 },
    provider: { name: 'standin-provider' },
    remoteConnect: d.remoteConnect,
    remoteConnectUrl: d.remoteConnect ? `127.0.0.1:${d.adbPort}` : null,
  });
  const pick = (o: Record<string, unknown>, fields: string | null) => (fields ? Object.fromEntries(fields.split(',').filter((f) => f in o).map((f) => [f, o[f]])) : o);

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      let body: unknown = null;
      try {
        body = raw ? JSON.parse(raw) : null;
      } catch {
        body = raw;
      }
      requests.push({ method: req.method ?? '', path: u.pathname, body });
      const send = (status: number, json: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if (failing) return send(failing, { success: false, description: 'Internal Server Error' });
      if (req.headers.authorization !== `Bearer ${token}`) return send(401, { success: false, description: 'Requires Authentication' });
      const fields = u.searchParams.get('fields');
      const m = /^\/api\/v1\/user\/devices\/([^/]+)(\/remoteConnect)?$/.exec(u.pathname);
      const d = m ? state.get(decodeURIComponent(m[1])) : undefined;
      if (req.method === 'GET' && u.pathname === '/api/v1/devices') return send(200, { success: true, devices: [...state.values()].map((x) => pick(view(x), fields)) });
      if (req.method === 'GET' && u.pathname === '/api/v1/user/devices') return send(200, { success: true, devices: [...state.values()].filter((x) => x.owner === ME).map((x) => pick(view(x), fields)) });
      if (req.method === 'POST' && u.pathname === '/api/v1/user/devices') {
        const { serial, timeout } = (body ?? {}) as { serial?: string; timeout?: number };
        const t = serial ? state.get(serial) : undefined;
        if (!t) return send(404, { success: false, description: 'Device not found' });
        if (t.owner || t.present === false || t.ready === false) return send(403, { success: false, description: 'Device is being used or not available' });
        t.owner = ME;
        t.claimTimeoutMs = typeof timeout === 'number' ? timeout : null;
        // STF frees a device whose owner stays away past the timeout.
        if (t.claimTimeoutMs) t.expiry = setTimeout(() => release(t.serial), Math.min(t.claimTimeoutMs, 2 ** 31 - 1)).unref();
        return send(200, { success: true, description: 'Device successfully added' });
      }
      if (m && (!d || d.owner !== ME)) return send(404, { success: false, description: 'Device is not owned by you or is not available' });
      if (m && d && m[2] && req.method === 'POST') {
        d.remoteConnect = true;
        return send(200, { success: true, remoteConnectUrl: `127.0.0.1:${d.adbPort}` });
      }
      if (m && d && m[2] && req.method === 'DELETE') {
        d.remoteConnect = false;
        return send(200, { success: true, description: 'Device remote disconnected successfully' });
      }
      if (m && d && !m[2] && req.method === 'DELETE') {
        release(d.serial);
        return send(200, { success: true, description: 'Device successfully removed' });
      }
      return send(404, { success: false, description: 'Not Found' });
    });
  });
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    requests,
    device: (serial) => {
      const d = state.get(serial)!;
      return { ...d };
    },
    failWith: (status) => (failing = status),
    async close() {
      for (const d of state.values()) if (d.expiry) clearTimeout(d.expiry);
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(() => r(undefined)));
    },
  };
}
