/**
 * The device's file system: a host folder that stands for the device's "/", plus a state folder for
 * the sim's own files (tools, props, dumpsys texts, kept ELF bytes, runner socket).
 *
 * Path mapping. Device paths under the Android top-level folders listed in MAPPED_ROOTS
 * (/data, /sdcard, /sys, /proc, /system, …) live under the sandbox: `/data/local/tmp/x` is
 * `${root}/data/local/tmp/x`. Sync requests are mapped exactly (`hostPath`). Shell commands are
 * rewritten before /bin/sh sees them (`mapCommand`): every such absolute path that starts a word
 * (after a space, quote, `=`, `:`, `;`, `|`, `&`, `(`, `<`, `>` or at the start) gets the sandbox
 * prefix; commands start in the sandbox root (the device's `/`), so relative paths work after `cd`.
 * Output goes the other way (`OutputUnmapper`): the sandbox prefix is removed, so `pwd` prints
 * `/data/local/tmp`. Host paths outside those roots (/dev/null, /bin/…) are left alone.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { buildProps, coreFreqs, cpuCount, type SimProfile } from './profiles';
import { PRELUDE, deviceTools } from './tools';

export const MAPPED_ROOTS = [
  'data', 'sdcard', 'storage', 'sys', 'proc', 'system', 'vendor', 'product', 'odm', 'apex', 'mnt', 'cache', 'acct', 'config',
];

const COMMAND_PATH = new RegExp(`(^|[\\s'"=:;|&(<>\`,])/(${MAPPED_ROOTS.join('|')})(?=$|[/\\s'"=:;|&)<>\`,])`, 'g');

export interface ThermalReading {
  /** 0 = none … 6 = shutdown (PowerManager.THERMAL_STATUS_*). */
  status: number;
  /** Added to every zone's cool temperature, °C. */
  extraC: number;
}

export class Sandbox {
  readonly root: string;
  readonly state: string;
  private readonly ownsRoot: boolean;

  constructor(
    readonly profile: SimProfile,
    sandboxDir?: string,
  ) {
    this.ownsRoot = !sandboxDir;
    this.root = resolve(sandboxDir ?? mkdtempSync(join(tmpdir(), 'pb-sim-root-')));
    this.state = mkdtempSync(join(tmpdir(), 'pb-sim-state-'));
    this.build();
  }

  /** Host path of a device path (absolute device paths only; `..` cannot leave the sandbox). */
  hostPath(devicePath: string): string {
    const normal = posix.normalize(posix.join('/', devicePath));
    return join(this.root, normal);
  }

  /** Device path of a host path inside the sandbox (others are returned unchanged). */
  devicePath(hostPath: string): string {
    if (hostPath === this.root) return '/';
    if (hostPath.startsWith(`${this.root}/`)) return hostPath.slice(this.root.length);
    return hostPath;
  }

  /** Rewrites device paths in a shell command to sandbox paths (see the file comment). */
  mapCommand(command: string): string {
    return command.replace(COMMAND_PATH, (_m, before: string, top: string) => `${before}${this.root}/${top}`);
  }

  /** Where the thermal zone files are (denied under the SELinux profile). */
  thermalZoneDir(i: number): string {
    return join(this.root, 'sys/class/thermal', `thermal_zone${i}`);
  }

  writeProps(extra: Record<string, string> = {}): void {
    const props = { ...buildProps(this.profile), ...extra };
    writeFileSync(join(this.state, 'props'), Object.entries(props).map(([k, v]) => `${k}=${v}\n`).join(''));
  }

  writeBattery(b: SimProfile['battery']): void {
    const text = [
      'Current Battery Service state:',
      `  AC powered: ${b.ac}`,
      `  USB powered: ${b.usb}`,
      '  Wireless powered: false',
      '  Max charging current: 500000',
      '  Max charging voltage: 5000000',
      '  Charge counter: 3126000',
      `  status: ${b.ac || b.usb ? (b.level >= 100 ? 5 : 2) : 3}`,
      '  health: 2',
      '  present: true',
      `  level: ${Math.round(b.level)}`,
      '  scale: 100',
      '  voltage: 4172',
      `  temperature: ${Math.round(b.tempC * 10)}`,
      '  technology: Li-ion',
      '',
    ].join('\n');
    writeFileSync(join(this.state, 'dumpsys/battery'), text);
  }

  /** Thermal zones (sysfs, millidegrees) and `dumpsys thermalservice` (Android 10+). */
  writeThermal(t: ThermalReading): void {
    const zones = this.profile.thermalZones;
    zones.forEach((z, i) => {
      const dir = this.thermalZoneDir(i);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'type'), `${z.type}\n`);
      writeFileSync(join(dir, 'temp'), `${Math.round((z.tempC + t.extraC) * 1000)}\n`);
    });
    if (!this.profile.thermalService) return;
    const temp = (z: { type: string; tempC: number }, type: number) =>
      `\tTemperature{mValue=${(z.tempC + t.extraC).toFixed(1)}, mType=${type}, mName=${z.type}, mStatus=${t.status}}`;
    const typeOf = (name: string) => (/batt/i.test(name) ? 2 : /skin/i.test(name) ? 3 : /gpu/i.test(name) ? 1 : 0);
    const temps = zones.map((z) => temp(z, typeOf(z.type)));
    const text = [
      'IsStatusOverride: false',
      'ThermalEventListeners:',
      '\tcallbacks: 1',
      '\tkilled: false',
      '\tbroadcasts count: -1',
      'ThermalStatusListeners:',
      '\tcallbacks: 1',
      '\tkilled: false',
      '\tbroadcasts count: -1',
      `Thermal Status: ${t.status}`,
      'Cached temperatures:',
      ...temps,
      'HAL Ready: true',
      'HAL connection:',
      '\tThermalHAL 2.0 connected: yes',
      'Current temperatures from HAL:',
      ...temps,
      'Current cooling devices from HAL:',
      '\tCoolingDevice{mValue=0, mType=2, mName=thermal-cpufreq-0}',
      '',
    ].join('\n');
    writeFileSync(join(this.state, 'dumpsys/thermalservice'), text);
  }

  /**
   * Tools the phone lacks (older Android, a vendor that stripped toybox): each is replaced by what
   * mksh prints for a missing command (exit 127), which also hides the host's own tool of that name.
   */
  setMissingTools(names: string[]): void {
    const tools = deviceTools();
    for (const name of new Set([...Object.keys(tools), ...names, ...this.missing])) {
      const file = join(this.state, 'bin', name);
      if (names.includes(name)) writeFileSync(file, `#!/bin/sh\necho "/system/bin/sh: ${name}: inaccessible or not found" >&2\nexit 127\n`);
      else if (tools[name]) writeFileSync(file, tools[name]);
      else if (this.missing.has(name)) rmSync(file, { force: true });
      else continue;
      chmodSync(file, 0o755);
    }
    this.missing = new Set(names);
  }

  private missing = new Set<string>();

  /** SELinux denials: every zone under the `thermalZonesDenied` profile, plus these zone numbers. */
  writeDenied(unreadableZones: number[] = []): void {
    const p = this.profile;
    const zones = p.thermalZones.map((_z, i) => i).filter((i) => p.thermalZonesDenied || unreadableZones.includes(i));
    writeFileSync(join(this.state, 'denied'), zones.map((i) => `${this.thermalZoneDir(i)}\n`).join(''));
  }

  /** `df` figures for /data. */
  writeDf(totalKB: number, freeKB: number): void {
    writeFileSync(join(this.state, 'df'), `${totalKB} ${totalKB - freeKB} ${freeKB}\n`);
  }

  remove(): void {
    rmSync(this.state, { recursive: true, force: true });
    if (this.ownsRoot) rmSync(this.root, { recursive: true, force: true });
  }

  private build(): void {
    const p = this.profile;
    const dirs = ['data/local/tmp', 'sdcard', 'storage/emulated/0', 'system/bin', 'proc', 'sys/class/thermal', 'vendor'];
    for (const d of dirs) mkdirSync(join(this.root, d), { recursive: true });
    for (const d of ['bin', 'dumpsys', 'elf', 'affinity']) mkdirSync(join(this.state, d), { recursive: true });

    for (const [name, script] of Object.entries(deviceTools())) {
      const file = join(this.state, 'bin', name);
      writeFileSync(file, script);
      chmodSync(file, 0o755);
      try {
        symlinkSync(file, join(this.root, 'system/bin', name));
      } catch {
        /* sandbox reused: link exists */
      }
    }
    writeFileSync(join(this.state, 'prelude.sh'), PRELUDE);

    this.writeProps();
    this.writeBattery(p.battery);
    this.writeThermal({ status: 0, extraC: 0 });
    this.writeDf(p.storage.totalKB, p.storage.freeKB);
    this.writeDenied();

    // CPUs: possible/present/online and, on phones, cpufreq per core.
    const n = cpuCount(p);
    const cpuDir = join(this.root, 'sys/devices/system/cpu');
    mkdirSync(cpuDir, { recursive: true });
    for (const f of ['possible', 'present', 'online']) writeFileSync(join(cpuDir, f), `0-${n - 1}\n`);
    coreFreqs(p).forEach((khz, i) => {
      const dir = join(cpuDir, `cpu${i}`);
      mkdirSync(dir, { recursive: true });
      if (!p.cpufreq) return;
      mkdirSync(join(dir, 'cpufreq'), { recursive: true });
      writeFileSync(join(dir, 'cpufreq/cpuinfo_max_freq'), `${khz}\n`);
      writeFileSync(join(dir, 'cpufreq/cpuinfo_min_freq'), `${Math.round(khz / 6)}\n`);
      writeFileSync(join(dir, 'cpufreq/scaling_max_freq'), `${khz}\n`);
    });

    const memFree = Math.round(p.memTotalKB * 0.18);
    const meminfo = [
      ['MemTotal', p.memTotalKB],
      ['MemFree', memFree],
      ['MemAvailable', Math.round(p.memTotalKB * 0.42)],
      ['Buffers', Math.round(p.memTotalKB * 0.004)],
      ['Cached', Math.round(p.memTotalKB * 0.25)],
      ['SwapCached', 0],
      ['SwapTotal', Math.round(p.memTotalKB / 2)],
      ['SwapFree', Math.round(p.memTotalKB / 3)],
    ];
    writeFileSync(join(this.root, 'proc/meminfo'), meminfo.map(([k, v]) => `${`${k}:`.padEnd(16)}${String(v).padStart(8)} kB\n`).join(''));
    const cpuinfo = Array.from({ length: n }, (_v, i) =>
      p.abis[0].startsWith('x86')
        ? `processor\t: ${i}\nvendor_id\t: GenuineIntel\nmodel name\t: Android virtual processor\n\n`
        : `processor\t: ${i}\nBogoMIPS\t: 52.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32\nCPU implementer\t: 0x41\n\n`,
    ).join('');
    writeFileSync(join(this.root, 'proc/cpuinfo'), `${cpuinfo}Hardware\t: ${p.hardware}\n`);
  }
}

/**
 * Removes the sandbox prefix from a byte stream (command output), chunk by chunk: a chunk ending in
 * a partial prefix holds that tail back until the next chunk (or `end`).
 */
export class OutputUnmapper {
  private held = '';
  constructor(private readonly root: string) {}

  push(chunk: Buffer): Buffer {
    let text = this.held + chunk.toString('latin1');
    this.held = '';
    // Hold back a tail that could be the start of the prefix.
    for (let k = Math.min(this.root.length, text.length); k > 0; k--) {
      if (this.root.startsWith(text.slice(text.length - k))) {
        this.held = text.slice(text.length - k);
        text = text.slice(0, text.length - k);
        break;
      }
    }
    return Buffer.from(this.replace(text), 'latin1');
  }

  end(): Buffer {
    const text = this.replace(this.held);
    this.held = '';
    return Buffer.from(text, 'latin1');
  }

  private replace(text: string): string {
    if (!text.includes(this.root)) return text;
    return text.split(`${this.root}/`).join('/').split(this.root).join('/');
  }
}
