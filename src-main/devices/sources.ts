/**
 * Device sources (issue 19): where phones come from. The local ADB server (always there), remote
 * ADB servers (`host:port`, usually a lab machine reached through an SSH tunnel; each tracked live
 * with its own adbkit client and `trackDevices`), and DeviceFarmer STF farms (polled over STF's
 * REST API; a device is reserved only for the length of one benchmark, see stf-target.ts).
 *
 * Target keys: a phone of the local server keeps its plain serial (as before this issue, so the
 * history keeps matching); a phone of another source is `<source id>/<serial>`, the source id being
 * the server's `host:port` or the farm's host, so the same serial on two lab machines stays two
 * devices, each with its own queue.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type LiveState, parseHostPort, type SourceConfig, type SourceInput, type SourceKind, type SourceStatus } from '../../src-shared/contract/devices';
import { AppError } from '../../src-shared/errors';
import { Adbc, type AdbDeviceState } from './adb';
import { type StfDevice, StfClient } from './stf';
import { DeviceTracker, type TrackedDevice } from './tracker';

export const SOURCES_SETTING = 'devices.sources';
export const LOCAL_SOURCE_ID = 'local';

export interface SourceEvents {
  /** A device of this source changed state (serial as the source knows it). */
  device(source: LabSource, serial: string, state: LiveState, previous: LiveState): void;
  /** The source connected or went away. */
  status(source: LabSource, previousState: SourceStatus['state']): void;
}

export abstract class LabSource {
  state: SourceStatus['state'] = 'connecting';
  message: string | null = null;
  abstract readonly kind: SourceKind;
  private settle: (() => void) | null = null;
  private readonly settled = new Promise<void>((r) => (this.settle = r));

  constructor(
    readonly id: string,
    readonly label: string,
    readonly address: string,
    protected readonly events: SourceEvents,
  ) {}

  /** The target key of one of this source's serials. */
  keyOf(serial: string): string {
    return `${this.id}/${serial}`;
  }

  /** Resolves once the source has answered (or failed to) for the first time, or after `ms`. */
  whenSettled(ms = 15_000): Promise<void> {
    return Promise.race([this.settled, new Promise<void>((r) => setTimeout(r, ms).unref())]);
  }

  abstract start(): Promise<void>;
  abstract stop(): void;
  /** Devices now, by the source's own serial. */
  abstract devices(): { serial: string; state: LiveState }[];
  abstract deviceState(serial: string): LiveState;

  status(): SourceStatus {
    return { id: this.id, kind: this.kind, label: this.label, address: this.address, state: this.state, message: this.message, devices: this.devices().length };
  }

  protected setState(state: SourceStatus['state'], message: string | null): void {
    const prev = this.state;
    this.state = state;
    this.message = message;
    if (state !== 'connecting') this.settle?.();
    if (prev !== state) this.events.status(this, prev);
  }
}

/** An ADB server, local or remote, tracked live. */
export class AdbSource extends LabSource {
  readonly kind: SourceKind;
  readonly tracker: DeviceTracker;
  /** Devices it had when it went away: shown offline (with the reason) until it is back. */
  private readonly lostDevices = new Set<string>();
  private stopped = false;

  constructor(
    id: string,
    label: string,
    readonly adb: Adbc,
    events: SourceEvents,
    local: boolean,
    retryMs?: number,
  ) {
    super(id, label, `${adb.host.includes(":") ? `[${adb.host}]` : adb.host}:${adb.port}`, events);
    this.kind = local ? 'local' : 'adb';
    this.tracker = new DeviceTracker(adb, (serial, state, prev) => this.onTracked(serial, state, prev), retryMs);
    this.tracker.onStatus = (up, why, devices) => this.onStatus(up, why, devices);
  }

  override keyOf(serial: string): string {
    return this.kind === 'local' ? serial : super.keyOf(serial);
  }

  private onTracked(serial: string, state: AdbDeviceState, prev: AdbDeviceState): void {
    // While the source is away its devices read "offline" (they may well be fine on the lab machine).
    const shown = (s: AdbDeviceState): LiveState => (s === 'absent' && this.lostDevices.has(serial) ? 'offline' : s);
    if (state !== 'absent') this.lostDevices.delete(serial);
    this.events.device(this, serial, shown(state), shown(prev));
  }

  private onStatus(up: boolean, why: string | null, devices: TrackedDevice[]): void {
    if (up) {
      this.lostDevices.clear();
      this.setState('connected', null);
      return;
    }
    for (const d of devices) this.lostDevices.add(d.serial);
    const what = this.kind === 'local' ? `This computer's ADB server (${this.address})` : `The ADB server ${this.label} (${this.address})`;
    this.setState('unreachable', `${what} ${this.state === 'connecting' ? 'is unreachable' : 'went away'}: ${why ?? 'no answer'}. PocketBench retries every few seconds; ${this.kind === 'local' ? 'start it again with `adb start-server`' : 'check the SSH tunnel and that adb still runs on the lab machine'}.`);
  }

  async start(): Promise<void> {
    this.stopped = false;
    try {
      await this.tracker.start();
    } catch (err) {
      if (this.state === 'connecting') this.setState('unreachable', (err as Error).message);
      throw err;
    }
  }

  stop(): void {
    this.stopped = true;
    this.tracker.stop();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  devices(): { serial: string; state: LiveState }[] {
    const now: { serial: string; state: LiveState }[] = this.tracker.current();
    for (const serial of this.lostDevices) if (!now.some((d) => d.serial === serial)) now.push({ serial, state: 'offline' });
    return now;
  }

  deviceState(serial: string): LiveState {
    const s = this.tracker.state(serial);
    return s === 'absent' && this.lostDevices.has(serial) ? 'offline' : s;
  }
}

/** A DeviceFarmer STF farm: its device list polled over the REST API. */
export class StfSource extends LabSource {
  readonly kind = 'stf' as const;
  readonly client: StfClient;
  private farm = new Map<string, StfDevice>();
  /** Devices PocketBench holds right now (reserved for a running benchmark). */
  readonly held = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    readonly config: Extract<SourceConfig, { kind: 'stf' }>,
    events: SourceEvents,
    private readonly pollMs = 5000,
    /** Called with each listing (the lab stores the farm's facts). */
    private readonly onListing: (source: StfSource, devices: StfDevice[]) => void = () => undefined,
  ) {
    super(config.id, config.label, config.url, events);
    this.client = new StfClient(config.url, config.token);
  }

  async poll(): Promise<void> {
    try {
      const list = await this.client.devices();
      const before = new Map([...this.farm.keys()].map((s) => [s, this.deviceState(s)]));
      this.farm = new Map(list.filter((d) => typeof d.serial === 'string' && d.serial).map((d) => [d.serial, d]));
      this.setState('connected', null);
      this.onListing(this, [...this.farm.values()]);
      for (const serial of new Set([...before.keys(), ...this.farm.keys()])) {
        const prev = before.get(serial) ?? 'absent';
        const now = this.deviceState(serial);
        if (prev !== now) this.events.device(this, serial, now, prev);
      }
    } catch (err) {
      const before = new Map([...this.farm.keys()].map((s) => [s, this.deviceState(s)]));
      this.setState('unreachable', (err as Error).message);
      for (const [serial, prev] of before) if (prev !== 'offline') this.events.device(this, serial, 'offline', prev);
      throw err;
    }
  }

  async start(): Promise<void> {
    this.stopped = false;
    if (!this.timer && this.pollMs > 0) {
      this.timer = setInterval(() => {
        if (!this.stopped) this.poll().catch(() => undefined);
      }, this.pollMs);
      this.timer.unref();
    }
    await this.poll();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  farmDevice(serial: string): StfDevice | null {
    return this.farm.get(serial) ?? null;
  }

  devices(): { serial: string; state: LiveState }[] {
    return [...this.farm.keys()].map((serial) => ({ serial, state: this.deviceState(serial) }));
  }

  deviceState(serial: string): LiveState {
    const d = this.farm.get(serial);
    if (!d) return 'absent';
    if (this.state === 'unreachable') return 'offline';
    if (this.held.has(serial)) return 'device';
    if (d.present === false) return 'absent';
    if (d.ready === false) return 'connecting';
    if (d.using || d.owner) return 'in-use';
    return 'device';
  }

  hint(serial: string): string | null {
    const d = this.farm.get(serial);
    if (this.state === 'unreachable') return `The device farm ${this.label} is unreachable: ${this.message}`;
    if (!d) return null;
    if (this.held.has(serial)) return 'Reserved by PocketBench for a benchmark; released when it ends.';
    const s = this.deviceState(serial);
    if (s === 'in-use') return `In use on the farm${d.owner?.email ? ` by ${d.owner.email}` : ''}: it can be benchmarked when it is free again.`;
    if (s === 'absent') return 'Disconnected from the farm.';
    if (s === 'connecting') return 'The farm is preparing this device.';
    return 'On the farm: reserved for each benchmark and released right after.';
  }
}

/** The stored form of a new source, with its id (the server's host:port, or the farm's host). */
export function sourceConfigFrom(input: SourceInput): SourceConfig {
  if (input.kind === 'adb') {
    const hp = parseHostPort(input.address);
    if (!hp) throw new AppError('INVALID_ARGS', `address: must be host:port, e.g. 127.0.0.1:5038 (got "${input.address}").`);
    const address = `${hp.host.includes(':') ? `[${hp.host}]` : hp.host}:${hp.port}`;
    return { id: address, kind: 'adb', label: input.label?.trim() || address, address };
  }
  const url = new URL(input.url.trim());
  const base = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  return { id: url.host, kind: 'stf', label: input.label?.trim() || url.host, url: base, token: input.token.trim() };
}

/**
 * Settings value → configs, skipping (and naming) any entry that is not one. STF access tokens are
 * personal: they are not in settings (which the UI reads whole and which may live in a team's shared
 * database) but in `<data>/secrets/stf-tokens.json`, readable by this user only.
 */
export function readSourceConfigs(value: unknown, dataDir: string): SourceConfig[] {
  if (!Array.isArray(value)) return [];
  const tokens = readTokens(dataDir);
  return value
    .filter((c) => {
      const ok = c && typeof c === 'object' && typeof c.id === 'string' && ((c.kind === 'adb' && parseHostPort(String(c.address)) !== null) || (c.kind === 'stf' && typeof c.url === 'string'));
      if (!ok) console.warn(`Ignoring a device source in settings that is not one: ${JSON.stringify(c)?.slice(0, 200)}`);
      return Boolean(ok);
    })
    .map((c) => (c.kind === 'stf' ? { ...c, token: tokens[c.id] ?? '' } : c) as SourceConfig);
}

/** Configs → the settings value (no tokens) and the tokens file. */
export function writeSourceConfigs(configs: SourceConfig[], dataDir: string): unknown[] {
  const tokens: Record<string, string> = {};
  for (const c of configs) if (c.kind === 'stf') tokens[c.id] = c.token;
  const file = tokensFile(dataDir);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(tokens, null, 2), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
  return configs.map((c) => (c.kind === 'stf' ? { id: c.id, kind: c.kind, label: c.label, url: c.url } : c));
}

const tokensFile = (dataDir: string) => path.join(dataDir, 'secrets', 'stf-tokens.json');

function readTokens(dataDir: string): Record<string, string> {
  try {
    return JSON.parse(fs.readFileSync(tokensFile(dataDir), 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

/** A remote ADB server's adbkit client (never starts a server there). */
export function remoteAdb(address: string): Adbc {
  const hp = parseHostPort(address)!;
  return new Adbc(hp.port, hp.host, true);
}
