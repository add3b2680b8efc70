/**
 * Live device tracking: `host:track-devices` through adbkit. Keeps the current state of every
 * serial (device, unauthorized, offline) and calls `onChange` on attach, detach and state changes.
 * When the ADB server goes away the tracker retries, so a restarted server is picked up again.
 * The server does not always push a state change over track-devices (a TCP phone going from
 * offline to unauthorized is not announced by adb 1.0.41), so the list is also re-read every
 * `pollMs`.
 */
import type { Adbc, AdbDeviceState } from './adb';

export interface TrackedDevice {
  serial: string;
  state: AdbDeviceState;
}

export class DeviceTracker {
  private readonly states = new Map<string, AdbDeviceState>();
  private tracker: { end(): unknown; on(ev: string, fn: (...a: unknown[]) => void): unknown } | null = null;
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  lastError: string | null = null;
  /**
   * Told when the server answers (`up`) and when it goes away, before its devices are dropped
   * (`devices` as they were), so a lab can say which source vanished rather than "disconnected".
   */
  onStatus: ((up: boolean, why: string | null, devices: TrackedDevice[]) => void) | null = null;

  constructor(
    private readonly adb: Adbc,
    private readonly onChange: (serial: string, state: AdbDeviceState, previous: AdbDeviceState) => void,
    private readonly retryMs = 2000,
    private readonly pollMs = 1500,
  ) {}

  private set(serial: string, state: AdbDeviceState): void {
    const prev = this.states.get(serial) ?? 'absent';
    if (state === 'absent') this.states.delete(serial);
    else this.states.set(serial, state);
    if (prev !== state) this.onChange(serial, state, prev);
  }

  /** Re-read the whole list and reconcile (attach, detach, state). */
  async refresh(): Promise<void> {
    const list = await this.adb.list();
    const seen = new Set(list.map((d) => d.serial));
    for (const d of list) this.set(d.serial, d.state);
    for (const serial of [...this.states.keys()]) if (!seen.has(serial)) this.set(serial, 'absent');
  }

  current(): TrackedDevice[] {
    return [...this.states.entries()].map(([serial, state]) => ({ serial, state }));
  }

  state(serial: string): AdbDeviceState {
    return this.states.get(serial) ?? 'absent';
  }

  async start(): Promise<void> {
    this.stopped = false;
    try {
      await this.adb.ensureServer();
      const t = await this.adb.client.trackDevices();
      if (this.stopped) {
        t.end();
        return;
      }
      this.tracker = t as unknown as typeof this.tracker;
      this.lastError = null;
      const set = (serial: string, state: AdbDeviceState) => this.set(serial, state);
      t.on('add', (d: { id: string; type: AdbDeviceState }) => set(d.id, d.type));
      t.on('change', (d: { id: string; type: AdbDeviceState }) => set(d.id, d.type));
      t.on('remove', (d: { id: string }) => set(d.id, 'absent'));
      t.on('end', () => this.lost('The ADB server closed the device tracking connection.'));
      t.on('error', (err: Error) => this.lost(err.message));
      // Seed with the current list: the tracker reports only what it sees from now on.
      await this.refresh();
      this.onStatus?.(true, null, this.current());
      if (!this.poll && this.pollMs > 0) {
        this.poll = setInterval(() => {
          if (this.tracker) this.refresh().catch(() => undefined);
        }, this.pollMs);
        this.poll.unref();
      }
    } catch (err) {
      this.lost((err as Error).message);
      throw err;
    }
  }

  private lost(why: string): void {
    this.lastError = why;
    this.tracker = null;
    if (!this.stopped) this.onStatus?.(false, why, this.current());
    for (const serial of [...this.states.keys()]) {
      const prev = this.states.get(serial)!;
      this.states.delete(serial);
      this.onChange(serial, 'absent', prev);
    }
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.stopped) this.start().catch(() => undefined);
    }, this.retryMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.tracker?.end();
    this.tracker = null;
  }
}
