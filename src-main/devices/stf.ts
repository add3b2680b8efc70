/**
 * A DeviceFarmer STF (Smartphone Test Farm) client: list the farm's devices, reserve one, get its
 * remote-connect address for `adb connect`, and give it back.
 *
 * Follows STF's documented REST API, doc/API.md of openstf/stf (continued as DeviceFarmer/stf,
 * https://github.com/DeviceFarmer/stf/blob/master/doc/API.md):
 * - every request carries `Authorization: Bearer <access token>` (token made in STF's Settings → Keys);
 * - `GET /api/v1/devices?fields=a,b` lists all devices, including disconnected ones: `{ devices: [...] }`;
 * - `POST /api/v1/user/devices` `{ serial, timeout }` adds (reserves) a device for the user; `timeout`
 *   is in milliseconds (the doc's sample: 900000), after which STF frees it by itself;
 * - `POST /api/v1/user/devices/{serial}/remoteConnect` → `{ remoteConnectUrl: 'provider-ip:port' }`;
 * - `DELETE /api/v1/user/devices/{serial}/remoteConnect` and `DELETE /api/v1/user/devices/{serial}`
 *   end the remote connection and release the device;
 * - failures answer `{ success: false, description }` (e.g. "Device is not owned by you or is not available";
 *   STF's user controller answers 403 "Device is being used or not available" to a claim of a busy device,
 *   and its access-token check answers 401).
 * Uses Node's fetch (no client library: STF's own sample uses swagger-client, which needs the spec
 * fetched at run time; five fixed calls do not justify it).
 */
import { AppError } from '../../src-shared/errors';

/** The device fields PocketBench reads (STF's device document; `fields` keeps responses small). */
export const STF_DEVICE_FIELDS = ['serial', 'present', 'ready', 'using', 'owner', 'manufacturer', 'model', 'marketName', 'version', 'sdk', 'abi', 'cpuPlatform', 'display', 'battery', 'provider'] as const;

export interface StfDevice {
  serial: string;
  present?: boolean;
  ready?: boolean;
  using?: boolean;
  owner?: { email?: string; name?: string } | null;
  manufacturer?: string | null;
  model?: string | null;
  marketName?: string | null;
  /** Android release, e.g. "14". */
  version?: string | null;
  /** API level; STF gives it as a string. */
  sdk?: string | number | null;
  abi?: string | null;
  cpuPlatform?: string | null;
  display?: { width?: number; height?: number } | null;
  battery?: { level?: number; scale?: number; status?: string; temp?: number } | null;
  provider?: { name?: string } | null;
}

export class StfClient {
  private readonly base: string;

  constructor(
    url: string,
    private readonly token: string,
    private readonly timeoutMs = 15_000,
  ) {
    this.base = url.replace(/\/+$/, '');
  }

  private async call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    if (!this.token) throw new AppError('STF_UNAUTHORIZED', `No access token for the device farm at ${this.base} is stored on this computer. Remove the source and add it again with a token from STF's Settings → Keys.`);
    const url = `${this.base}/api/v1${path}`;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { Authorization: `Bearer ${this.token}`, Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      if (signal?.aborted) throw new AppError('CANCELLED', 'Cancelled.');
      const why = (err as Error).name === 'TimeoutError' ? `no answer within ${Math.round(this.timeoutMs / 1000)} s` : String((err as { cause?: Error }).cause?.message ?? (err as Error).message);
      throw new AppError('STF_UNREACHABLE', `The device farm at ${this.base} did not answer (${why}). Check the address and your network or VPN.`);
    }
    const text = await res.text();
    let json: { success?: boolean; description?: string } & Record<string, unknown> = {};
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      /* not JSON: reported below with the status */
    }
    // 401 is STF's answer to a missing or bad token; 403 means "Device is being used or not available".
    if (res.status === 401) {
      throw new AppError('STF_UNAUTHORIZED', `The device farm at ${this.base} refused the access token (HTTP ${res.status}${json.description ? `: ${json.description}` : ''}). Make a new one in STF under Settings → Keys → Access tokens and update the source.`);
    }
    if (!res.ok || json.success === false) {
      throw new AppError('STF_REQUEST_FAILED', `The device farm refused ${method} ${path} (HTTP ${res.status}): ${json.description ?? (text.slice(0, 200) || 'no explanation')}.`, { status: res.status });
    }
    return json as T;
  }

  async devices(signal?: AbortSignal): Promise<StfDevice[]> {
    const r = await this.call<{ devices?: StfDevice[] }>('GET', `/devices?fields=${STF_DEVICE_FIELDS.join(',')}`, undefined, signal);
    if (!Array.isArray(r.devices)) throw new AppError('STF_REQUEST_FAILED', `The device farm at ${this.base} answered GET /api/v1/devices without a device list; is this an STF server?`);
    return r.devices;
  }

  /** Reserve a device; STF frees it by itself after `timeoutMs` even if we never come back. */
  async claim(serial: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    try {
      await this.call('POST', '/user/devices', { serial, timeout: Math.round(timeoutMs) }, signal);
    } catch (err) {
      if (err instanceof AppError && err.code === 'STF_REQUEST_FAILED') {
        throw new AppError('STF_DEVICE_UNAVAILABLE', `The farm would not reserve ${serial}: ${err.message.replace(/^The device farm refused [^:]+: /, '')} Someone may be using it; try another device or later.`);
      }
      throw err;
    }
  }

  /** Ask the farm to open ADB over TCP to a reserved device; returns `host:port` for `adb connect`. */
  async remoteConnect(serial: string, signal?: AbortSignal): Promise<string> {
    const r = await this.call<{ remoteConnectUrl?: string }>('POST', `/user/devices/${encodeURIComponent(serial)}/remoteConnect`, {}, signal);
    if (!r.remoteConnectUrl) throw new AppError('STF_REQUEST_FAILED', `The device farm gave no remoteConnectUrl for ${serial}.`);
    return r.remoteConnectUrl;
  }

  remoteDisconnect(serial: string): Promise<unknown> {
    return this.call('DELETE', `/user/devices/${encodeURIComponent(serial)}/remoteConnect`);
  }

  release(serial: string): Promise<unknown> {
    return this.call('DELETE', `/user/devices/${encodeURIComponent(serial)}`);
  }
}
