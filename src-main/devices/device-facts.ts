/**
 * Collects a phone's facts over ADB with plain `getprop`, `cat`, `ls` and `dumpsys` commands (no
 * loops or globs, so any device shell runs them). What the phone refuses (SELinux on thermal
 * zones, no thermalservice before Android 10) is listed under `unavailable`, never thrown.
 */
import type { DeviceSummary } from '../../src-shared/types';
import type { Adbc } from './adb';
import {
  type Battery,
  type CpuCore,
  type Thermal,
  abisFromProps,
  bigCores,
  clusters,
  parseBattery,
  parseGetprop,
  parseMemTotalBytes,
  parseThermalService,
  parseZoneTemp,
  socFromProps,
} from './facts';
import { command, sequence } from './shell-quote';

export interface ThermalZone {
  zone: string;
  type: string | null;
  tempC: number | null;
}

export interface Conditions {
  battery: Battery | null;
  thermal: Thermal | null;
  zones: ThermalZone[];
  /** Hottest readable zone or HAL temperature, °C. */
  maxTempC: number | null;
}

/** What a phone tells about itself: the stored device fields plus clusters and conditions. */
export interface CollectedFacts extends Pick<DeviceSummary, 'manufacturer' | 'model' | 'androidVersion' | 'sdk' | 'abis' | 'soc' | 'ramBytes'> {
  cores: CpuCore[];
  clusters: { maxFreqKhz: number; cpus: number[] }[];
  bigCores: number[];
  conditions: Conditions;
  unavailable: string[];
}

const CPU_DIR = '/sys/devices/system/cpu';
const THERMAL_DIR = '/sys/class/thermal';

async function tryRun(adb: Adbc, serial: string, cmd: string): Promise<string | null> {
  try {
    const r = await adb.shell(serial, cmd, { timeoutMs: 15_000 });
    return r.exitCode === 0 ? r.output : null;
  } catch (err) {
    if ((err as { code?: string }).code === 'DEVICE_TIMEOUT') return null;
    throw err;
  }
}

export async function readCores(adb: Adbc, serial: string): Promise<CpuCore[]> {
  const ls = (await tryRun(adb, serial, command('ls', CPU_DIR))) ?? '';
  const cpus = [...ls.matchAll(/\bcpu(\d+)\b/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  const cores: CpuCore[] = [];
  for (const cpu of [...new Set(cpus)]) {
    const f = await tryRun(adb, serial, command('cat', `${CPU_DIR}/cpu${cpu}/cpufreq/cpuinfo_max_freq`));
    const v = f === null ? NaN : Number(f.trim());
    cores.push({ cpu, maxFreqKhz: Number.isFinite(v) && v > 0 ? v : null });
  }
  return cores;
}

export async function readZones(adb: Adbc, serial: string): Promise<ThermalZone[]> {
  const ls = await tryRun(adb, serial, command('ls', THERMAL_DIR));
  if (!ls) return [];
  const zones: ThermalZone[] = [];
  for (const zone of [...new Set([...ls.matchAll(/\bthermal_zone\d+\b/g)].map((m) => m[0]))]) {
    const temp = await tryRun(adb, serial, command('cat', `${THERMAL_DIR}/${zone}/temp`));
    if (temp === null) continue; // SELinux denial: unavailable, not an error
    const type = await tryRun(adb, serial, command('cat', `${THERMAL_DIR}/${zone}/type`));
    zones.push({ zone, type: type?.trim() || null, tempC: parseZoneTemp(temp) });
  }
  return zones;
}

const SEP = '__PB_SECTION__';
const ZONE_MARK = '__PB_ZONE__';

/** Zone temperatures from the marked output of readConditions; a zone with no number reads null. */
export function zoneReadings(output: string, zoneNames: string[]): ThermalZone[] {
  const byZone = new Map<string, string>();
  for (const part of output.split(ZONE_MARK).slice(1)) {
    const nl = part.indexOf('\n');
    const name = (nl < 0 ? part : part.slice(0, nl)).trim();
    byZone.set(name, nl < 0 ? '' : part.slice(nl + 1).trim());
  }
  return zoneNames.map((zone) => {
    const text = byZone.get(zone) ?? '';
    return { zone, type: null, tempC: text ? parseZoneTemp(text) : null };
  });
}

/**
 * Battery, thermal status and temperatures, read before and after every trial in one shell call
 * (`zoneNames`: the zones known to be readable; without them every zone is probed).
 */
export async function readConditions(adb: Adbc, serial: string, sdk: number | null, zoneNames?: string[]): Promise<Conditions> {
  const wantThermal = sdk === null || sdk >= 29;
  let zones: ThermalZone[] = [];
  let battery: Battery | null = null;
  let thermal: Thermal | null = null;
  if (zoneNames) {
    const parts = [command('dumpsys', 'battery'), `echo ${SEP}`, wantThermal ? command('dumpsys', 'thermalservice') : 'true', `echo ${SEP}`];
    // Each zone read on its own behind its own marker: one unreadable zone (SELinux, a sensor that
    // went away) loses that zone's reading only, never the others'.
    for (const z of zoneNames) parts.push(`echo ${ZONE_MARK}${z}`, `${command('cat', `${THERMAL_DIR}/${z}/temp`)} 2>/dev/null`);
    const r = await adb.shell(serial, sequence(...parts), { timeoutMs: 15_000 });
    const [bat = '', th = '', temps = ''] = r.output.split(`${SEP}\n`);
    battery = parseBattery(bat);
    thermal = wantThermal ? parseThermalService(th) : null;
    zones = zoneReadings(temps, zoneNames);
  } else {
    battery = parseBattery((await tryRun(adb, serial, command('dumpsys', 'battery'))) ?? '');
    thermal = wantThermal ? parseThermalService((await tryRun(adb, serial, command('dumpsys', 'thermalservice'))) ?? '') : null;
    zones = await readZones(adb, serial);
  }
  const temps = [...zones.map((z) => z.tempC), ...(thermal?.temperatures.map((t) => t.valueC) ?? [])].filter((v): v is number => v !== null && v > -50 && v < 200);
  return { battery, thermal, zones, maxTempC: temps.length ? Math.max(...temps) : null };
}

export async function collectFacts(adb: Adbc, serial: string): Promise<CollectedFacts> {
  const props = parseGetprop((await tryRun(adb, serial, 'getprop')) ?? '');
  const unavailable: string[] = [];
  const sdkNum = Number(props['ro.build.version.sdk']);
  const sdk = Number.isInteger(sdkNum) && sdkNum > 0 ? sdkNum : null;
  const ramBytes = parseMemTotalBytes((await tryRun(adb, serial, command('cat', '/proc/meminfo'))) ?? '');
  const cores = await readCores(adb, serial);
  const conditions = await readConditions(adb, serial, sdk);
  const facts: CollectedFacts = {
    manufacturer: props['ro.product.manufacturer'] || null,
    model: props['ro.product.model'] || null,
    androidVersion: props['ro.build.version.release'] || null,
    sdk,
    abis: abisFromProps(props),
    soc: socFromProps(props),
    ramBytes,
    cores,
    clusters: clusters(cores),
    bigCores: bigCores(cores),
    conditions,
    unavailable,
  };
  const check = (cond: boolean, what: string) => cond || unavailable.push(what);
  check(facts.model !== null, 'model');
  check(facts.androidVersion !== null, 'Android version');
  check(facts.abis.length > 0, 'ABI list');
  check(facts.soc !== null, 'SoC');
  check(ramBytes !== null, 'RAM');
  check(cores.some((c) => c.maxFreqKhz !== null), 'CPU frequencies');
  check(conditions.battery !== null, 'battery');
  check(conditions.thermal !== null, 'thermal status');
  check(conditions.zones.length > 0, 'thermal zones');
  return facts;
}
