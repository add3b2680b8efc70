/**
 * A simulated Android phone: the device side of ADB over TCP, which the real `adb` server reaches
 * with `adb connect 127.0.0.1:PORT`. Services: `shell:` (v1), `exec:` and `sync:` (STAT, LIST,
 * SEND, RECV, QUIT). Shell commands run in the host's /bin/sh inside a per-device sandbox with fake
 * getprop/dumpsys/df/taskset and device paths mapped into it (sandbox.ts, tools.ts); a pushed ELF
 * runner becomes the benchmark_model stand-in (runner-shim.mjs).
 *
 * Faults: unauthorized (AUTH never accepted), offline (answers CNXN, then vanishes), drop mid-push (the link
 * is cut part way through a SEND), drop mid-run (the link is cut while the second runner process
 * runs), disk full (df shows almost nothing free and writes fail with ENOSPC). A dropped or
 * unplugged phone refuses new connections, like a pulled cable. Phones that differ from this one:
 * missing tools (sha256sum before Android 8, taskset before 6), a thermal zone SELinux denies, a
 * runner that exits non-zero after printing complete results.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { PROFILES, cpuCount, type SimProfile, type SimProfileName } from './profiles';
import { Sandbox, type ThermalReading } from './sandbox';
import { parseShellService, runShell } from './shell-service';
import { runSync } from './sync-service';
import { AdbConnection, type HandshakeState } from './transport';

export { PROFILES, type SimProfileName } from './profiles';
export { startAdbServer, connect, disconnect, waitForState, deviceState, type AdbServer } from './adb-server';

export interface SimFaults {
  unauthorized?: boolean;
  offline?: boolean;
  dropMidPush?: boolean;
  dropMidRun?: boolean;
  diskFull?: boolean;
  /** Shell tools the phone lacks, e.g. \`['sha256sum', 'taskset']\` (an Android 7 or a stripped vendor build). */
  missingTools?: string[];
  /** Thermal zone numbers SELinux denies (the others stay readable). */
  unreadableZones?: number[];
  /** benchmark_model exits with this code after printing its complete results (a crash in teardown). */
  runnerExitCode?: number;
}

/** Bytes of a SEND after which `dropMidPush` cuts the link. */
const DROP_PUSH_AFTER = 32 * 1024;
/** How long the runner process that `dropMidRun` targets runs before the link is cut, ms. */
const DROP_RUN_AFTER_MS = 300;
/** How long an `offline` phone stays after answering the handshake, ms. */
const OFFLINE_AFTER_MS = 300;
const RUNNER_SHIM = join(import.meta.dirname, 'runner-shim.mjs');

/** Features we implement (advertising shell_v2 or stat_v2 without them breaks the host). */
const FEATURES = ['shell_v2'];

export class SimDevice {
  readonly profile: SimProfile;
  readonly sandbox: Sandbox;
  readonly faults: SimFaults;
  port = 0;
  private server: net.Server | null = null;
  private readonly connections = new Set<AdbConnection>();
  private readonly children = new Set<ChildProcess>();
  private readonly received: string[] = [];
  private runnerStarts = 0;
  private unplugged = false;
  private thermal: ThermalReading = { status: 0, extraC: 0 };

  constructor(profile: SimProfileName | SimProfile, faults: SimFaults = {}) {
    this.profile = typeof profile === 'string' ? PROFILES[profile] : profile;
    if (!this.profile) throw new Error(`Unknown simulated phone profile "${String(profile)}"; known: ${Object.keys(PROFILES).join(', ')}.`);
    this.faults = { ...faults };
    this.sandbox = new Sandbox(this.profile);
    if (faults.diskFull) this.sandbox.writeDf(this.profile.storage.totalKB, 96);
    this.applyToolFaults();
  }

  private applyToolFaults(): void {
    this.sandbox.setMissingTools(this.faults.missingTools ?? []);
    this.sandbox.writeDenied(this.faults.unreadableZones ?? []);
  }

  /** `127.0.0.1:PORT`, the serial the adb server gives the phone. */
  get serial(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Listens on a free loopback port (never in 5555–5585, which adb probes as emulators). */
  async listen(): Promise<this> {
    for (;;) {
      const server = net.createServer((socket) => this.accept(socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      const port = (server.address() as net.AddressInfo).port;
      if (port >= 5555 && port <= 5585) {
        server.close();
        continue;
      }
      this.server = server;
      this.port = port;
      return this;
    }
  }

  /** The commands the shell received, as the host sent them. */
  commands(): string[] {
    return [...this.received];
  }

  /** Sets or clears faults; clearing `unauthorized` lets a waiting host in (an offline phone stays gone). */
  setFaults(f: SimFaults): void {
    Object.assign(this.faults, f);
    this.sandbox.writeDf(this.profile.storage.totalKB, this.faults.diskFull ? 96 : this.profile.storage.freeKB);
    this.applyToolFaults();
    for (const c of this.connections) c.retryHandshake();
  }

  setThermal(t: ThermalReading): void {
    this.thermal = { ...t };
    this.sandbox.writeThermal(this.thermal);
  }

  /** PIDs of benchmark_model stand-ins still alive on this phone. */
  runnerPids(): number[] {
    const dir = join(this.sandbox.root, 'proc');
    const pids: number[] = [];
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      if (!/^\d+$/.test(name)) continue;
      try {
        process.kill(Number(name), 0);
        pids.push(Number(name));
      } catch {
        /* exited (killed with SIGKILL leaves its folder) */
      }
    }
    return pids;
  }

  /** Pulls the cable: every connection drops, processes are killed, new connections are refused. */
  unplug(): void {
    this.unplugged = true;
    for (const c of this.connections) c.drop();
    this.connections.clear();
    this.killAll();
  }

  /** Plugs the cable back in: connections are accepted again (reconnect with `adb connect`); the drop-mid-run fault is cleared. */
  replug(): void {
    this.unplugged = false;
    this.faults.dropMidRun = false;
    this.runnerStarts = 0;
  }

  async close(): Promise<void> {
    this.unplug();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.sandbox.remove();
  }

  private killAll(): void {
    for (const c of this.children) {
      try {
        if (c.pid) process.kill(-c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    this.children.clear();
    for (const pid of this.runnerPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  private handshakeState(): HandshakeState {
    if (this.faults.unauthorized) return 'unauthorized';
    return 'online';
  }

  private banner(): string {
    const p = this.profile;
    return `device::ro.product.name=${p.device};ro.product.model=${p.model};ro.product.device=${p.device};features=${FEATURES.join(',')}`;
  }

  private env(): Record<string, string> {
    return {
      PATH: `${join(this.sandbox.state, 'bin')}:/usr/bin:/bin`,
      HOME: join(this.sandbox.root, 'data/local/tmp'),
      TMPDIR: join(this.sandbox.root, 'data/local/tmp'),
      LANG: 'C',
      SIM_ROOT: this.sandbox.root,
      SIM_STATE: this.sandbox.state,
      SIM_DEVICE: `${process.pid}-${this.port}`,
      SIM_NCPU: String(cpuCount(this.profile)),
      SIM_NODE: process.execPath,
      SIM_RUNNER_SHIM: RUNNER_SHIM,
      SIM_SPEED: String(this.profile.speed),
      SIM_FORMAT: this.profile.outputFormat,
      ...(this.faults.runnerExitCode !== undefined ? { SIM_RUNNER_EXIT: String(this.faults.runnerExitCode) } : {}),
    };
  }

  private accept(socket: net.Socket): void {
    if (this.unplugged) {
      socket.destroy();
      return;
    }
    const conn = new AdbConnection(socket, {
      banner: () => this.banner(),
      handshakeState: () => this.handshakeState(),
      openService: (service, stream) => {
        const shell = parseShellService(service);
        if (shell) {
          const env = this.env();
          if (this.faults.dropMidRun && /benchmark_model/.test(shell.command) && /--graph=/.test(shell.command)) {
            this.runnerStarts++;
            // Cut the link while the second run is going (it stalls after starting, so the cut
            // always lands mid-run), so the first trial is finished and kept.
            if (this.runnerStarts >= 2) {
              env.SIM_RUNNER_STALL = '1';
              setTimeout(() => this.unplug(), DROP_RUN_AFTER_MS);
            }
          }
          runShell({ sandbox: this.sandbox, env, onCommand: (c) => this.received.push(c), children: this.children }, stream, shell.mode, shell.command);
          return true;
        }
        if (service === 'sync:') {
          runSync(
            {
              sandbox: this.sandbox,
              diskFull: () => !!this.faults.diskFull,
              shouldDropDuringPush: (bytes) => !!this.faults.dropMidPush && bytes >= DROP_PUSH_AFTER,
              drop: () => this.unplug(),
            },
            stream,
          );
          return true;
        }
        return false;
      },
    });
    this.connections.add(conn);
    if (this.faults.offline) {
      // Offline: the phone answers the handshake, then vanishes and stops answering, which is how a
      // TCP phone ends up listed as offline (until `adb disconnect`). Answering nothing at all makes
      // `adb connect` itself fail instead.
      socket.once('data', () => setTimeout(() => this.unplug(), OFFLINE_AFTER_MS));
    }
    socket.once('close', () => this.connections.delete(conn));
  }
}

/** Starts a simulated phone listening on a free port. */
export function startSimDevice(profile: SimProfileName | SimProfile, faults: SimFaults = {}): Promise<SimDevice> {
  return new SimDevice(profile, faults).listen();
}
