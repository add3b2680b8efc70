/**
 * Device facts from what the phone prints: `getprop`, `/proc/meminfo`, cpufreq sysfs files,
 * `dumpsys battery`, `dumpsys thermalservice`, thermal zones. Pure functions over text, so each is
 * tested with real output. Anything a phone does not expose becomes `null` (shown as
 * "unavailable"), never an error: SELinux often denies thermal zones, old phones lack thermalservice.
 */

export type Props = Record<string, string>;

/** `getprop` prints `[key]: [value]`, one per line (values may be empty). */
export function parseGetprop(text: string): Props {
  const props: Props = {};
  for (const m of text.matchAll(/^\[([^\]]+)\]: \[([^\]]*)\]\s*$/gm)) props[m[1]] = m[2];
  return props;
}

export interface CpuCore {
  cpu: number;
  maxFreqKhz: number | null;
}

export interface Cluster {
  maxFreqKhz: number;
  cpus: number[];
}

/** Cores grouped by max frequency, slowest cluster first (4+4 → 2 clusters, 1+3+4 → 3). */
export function clusters(cores: CpuCore[]): Cluster[] {
  const by = new Map<number, number[]>();
  for (const c of cores) if (c.maxFreqKhz !== null) by.set(c.maxFreqKhz, [...(by.get(c.maxFreqKhz) ?? []), c.cpu]);
  return [...by.entries()].sort((a, b) => a[0] - b[0]).map(([maxFreqKhz, cpus]) => ({ maxFreqKhz, cpus: cpus.sort((a, b) => a - b) }));
}

/**
 * The cores to pin a benchmark to: every core outside the slowest (efficiency) cluster, so a
 * 4+4 phone gets its 4 big cores and a 1+3+4 phone its prime core plus 3 performance cores. A
 * phone with one cluster (or unknown frequencies) keeps all its cores: pinning would not help.
 */
export function bigCores(cores: CpuCore[]): number[] {
  const cl = clusters(cores);
  if (cl.length < 2) return cores.map((c) => c.cpu).sort((a, b) => a - b);
  return cl.slice(1).flatMap((c) => c.cpus).sort((a, b) => a - b);
}

/** `taskset` takes a hexadecimal mask. */
export function cpuMask(cpus: number[]): string {
  let mask = 0n;
  for (const c of cpus) mask |= 1n << BigInt(c);
  return mask.toString(16);
}

/** `Cpus_allowed_list:\t4-7` → [4,5,6,7]; also `0,2-3`. */
export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

/** Fields of `/proc/PID/status` we use. */
export function parseProcStatus(text: string): { cpusAllowedList: string | null; vmHwmKb: number | null; vmRssKb: number | null } {
  const field = (k: string) => new RegExp(`^${k}:\\s*(.+)$`, 'm').exec(text)?.[1].trim() ?? null;
  const kb = (k: string) => {
    const v = field(k);
    const m = v ? /^(\d+)\s*kB/i.exec(v) : null;
    return m ? Number(m[1]) : null;
  };
  return { cpusAllowedList: field('Cpus_allowed_list'), vmHwmKb: kb('VmHWM'), vmRssKb: kb('VmRSS') };
}

export function parseMemTotalBytes(meminfo: string): number | null {
  const m = /^MemTotal:\s*(\d+)\s*kB/m.exec(meminfo);
  return m ? Number(m[1]) * 1024 : null;
}

export interface Battery {
  levelPct: number | null;
  temperatureC: number | null;
  charging: boolean | null;
  /** What powers it: ac, usb, wireless, or none. */
  plugged: string | null;
}

/** `dumpsys battery`: temperature in tenths of a degree; status 2 = charging, 5 = full. */
export function parseBattery(text: string): Battery | null {
  const field = (k: string) => new RegExp(`^\\s*${k}:\\s*(.+?)\\s*$`, 'm').exec(text)?.[1] ?? null;
  const level = field('level');
  const scale = field('scale');
  if (level === null) return null;
  const temp = field('temperature');
  const status = field('status');
  const plugged = ['AC', 'USB', 'Wireless', 'Dock'].find((p) => field(`${p} powered`) === 'true') ?? null;
  return {
    levelPct: scale && Number(scale) > 0 ? Math.round((Number(level) / Number(scale)) * 100) : Number(level),
    temperatureC: temp !== null && Number.isFinite(Number(temp)) ? Number(temp) / 10 : null,
    charging: status === null ? null : status === '2' || status === '5',
    plugged: plugged ? plugged.toLowerCase() : 'none',
  };
}

export const THERMAL_STATUS = ['none', 'light', 'moderate', 'severe', 'critical', 'emergency', 'shutdown'] as const;

export interface Thermal {
  /** 0 = none (normal) … 6 = shutdown, from `dumpsys thermalservice` (Android 10+). */
  status: number | null;
  statusName: string | null;
  /** Temperatures the thermal HAL reports, °C. */
  temperatures: { name: string; type: number | null; valueC: number }[];
}

export function parseThermalService(text: string): Thermal | null {
  const m = /(?:Current thermal status|Thermal Status):\s*(\d+)/i.exec(text);
  const temps: Thermal['temperatures'] = [];
  // Only the "Current temperatures from HAL" block: the cached block repeats old values.
  const cur = /Current temperatures from HAL:([\s\S]*?)(?:\n\S|$)/.exec(text)?.[1] ?? text;
  for (const t of cur.matchAll(/Temperature\{mValue=([-\d.eE+]+), mType=(-?\d+), mName=([^,}]+)/g)) {
    temps.push({ name: t[3].trim(), type: Number(t[2]), valueC: Number(t[1]) });
  }
  if (!m && temps.length === 0) return null;
  const status = m ? Number(m[1]) : null;
  return { status, statusName: status === null ? null : (THERMAL_STATUS[status] ?? String(status)), temperatures: temps };
}

/** A thermal zone's `temp` file: millidegrees on most kernels, degrees on a few. */
export function parseZoneTemp(text: string): number | null {
  const v = Number(text.trim());
  if (!Number.isFinite(v) || text.trim() === '') return null;
  return Math.abs(v) > 200 ? v / 1000 : v;
}

/** SoC name: `ro.soc.model` (Android 12+), else `ro.board.platform`, else `ro.hardware`. */
export function socFromProps(p: Props): string | null {
  const maker = p['ro.soc.manufacturer'];
  const model = p['ro.soc.model'];
  if (model) return maker ? `${maker} ${model}` : model;
  return p['ro.board.platform'] || p['ro.hardware'] || null;
}

export function abisFromProps(p: Props): string[] {
  const list = p['ro.product.cpu.abilist'];
  if (list) return list.split(',').map((s) => s.trim()).filter(Boolean);
  return [p['ro.product.cpu.abi'], p['ro.product.cpu.abi2']].filter((s): s is string => Boolean(s));
}
