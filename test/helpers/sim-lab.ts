/**
 * What the device-lab integration tests and bench/devices.bench.ts need from the simulated phone
 * (test/sim-device): a private adb server, phones by profile with faults, thermal control, the
 * commands a phone received, and unplugging.
 *
 * Backed by the simulated phone in test/sim-device and a private `adb` server on its own port.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DeviceLab } from '../../src-main/devices/lab';
import { disconnect, type SimDevice, startAdbServer, startSimDevice } from '../sim-device';
import { EM_AARCH64, fakeElf } from './fake-elf';
import { waitFor } from './wait-for';

export type { SimFaults, SimProfileName } from '../sim-device';
import type { SimFaults, SimProfileName } from '../sim-device';

export interface SimPhone {
  serial: string;
  /** TCP port to `adb connect 127.0.0.1:PORT`. */
  port: number;
  /** The commands this phone's shell received, as the host sent them. */
  commands(): string[];
  /** Is a benchmark_model process still running on the phone? */
  runnerRunning(): Promise<boolean>;
  setThermal(t: { status: number; extraC: number }): void;
  /** Change faults while attached (e.g. a thermal zone that becomes unreadable). */
  setFaults(f: SimFaults): void;
  /** Pull the cable (and `adb disconnect`). */
  unplug(): Promise<void>;
  /** Plug it back in (connect to it again with the lab). */
  replug(): void;
  setFaults(f: SimFaults): void;
}

export interface LabSim {
  adbPort: number;
  adb(args: string[]): Promise<{ stdout: string; stderr: string }>;
  device(profile: SimProfileName, faults?: SimFaults): Promise<SimPhone>;
  close(): Promise<void>;
}

/** The simulated phone is in this build; kept so the tests and the benchmark can say why they skip. */
export const simAvailable = true as boolean;
export const simUnavailableReason = '';

/** A private adb server (its own port and HOME) and simulated phones connected to it on demand. */
export async function startLabSim(): Promise<LabSim> {
  const server = await startAdbServer();
  const devices = new Set<SimDevice>();
  return {
    adbPort: server.port,
    adb: (args) => server.adb(args),
    async device(profile, faults = {}) {
      const dev = await startSimDevice(profile, faults);
      devices.add(dev);
      return {
        serial: dev.serial,
        port: dev.port,
        commands: () => dev.commands(),
        runnerRunning: async () => dev.runnerPids().length > 0,
        setThermal: (t) => dev.setThermal(t),
        setFaults: (f) => dev.setFaults(f),
        async unplug() {
          dev.unplug();
          await disconnect(server, dev);
        },
        replug: () => dev.replug(),
      };
    },
    async close() {
      for (const d of devices) await d.close();
      devices.clear();
      await server.close();
    },
  };
}

/** A simulated phone of `profile` attached to `lab`, with a stand-in arm64 runner registered, once its facts are read. */
export async function attachWithRunner(env: LabSim, lab: DeviceLab, dir: string, profile: SimProfileName = 'pixel'): Promise<SimPhone> {
  const runner = path.join(dir, 'benchmark_model-arm64');
  fs.writeFileSync(runner, fakeElf(EM_AARCH64, 64 * 1024));
  await lab.setRunner('arm64-v8a', runner);
  const phone = await env.device(profile);
  await lab.connect('127.0.0.1', phone.port);
  await waitFor(() => lab.live().find((d) => d.key === phone.serial && d.state === 'device' && d.device?.model), 'phone facts', 30_000);
  return phone;
}
