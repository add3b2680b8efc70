/**
 * Phones the simulated device can pretend to be. Figures are typical of the named hardware (public
 * spec sheets); they shape what the device lab reads (props, clusters, thermal), not test outcomes.
 */

export type SimProfileName = 'pixel' | 'pixel-selinux' | 'tri' | 'biglittle' | 'android9' | 'x86emu' | 'armv7';

export interface SimCluster {
  cores: number;
  /** `cpuinfo_max_freq`, kHz. */
  maxFreqKHz: number;
}

export interface SimThermalZone {
  type: string;
  /** Temperature when cool, °C. */
  tempC: number;
}

export interface SimProfile {
  name: string;
  manufacturer: string;
  model: string;
  /** ro.product.device / ro.product.name. */
  device: string;
  android: string;
  sdk: number;
  /** ro.product.cpu.abilist, first = primary ABI. */
  abis: string[];
  /** ro.soc.model: only set from Android 12 (SDK 31). */
  socModel?: string;
  socManufacturer?: string;
  boardPlatform: string;
  hardware: string;
  /** CPU clusters in CPU-number order (cpu0 first). */
  clusters: SimCluster[];
  /** Emulators have no cpufreq folders. */
  cpufreq: boolean;
  memTotalKB: number;
  /** `dumpsys thermalservice` exists (Android 10+). */
  thermalService: boolean;
  thermalZones: SimThermalZone[];
  /** SELinux denies reading thermal zones (`cat` says Permission denied). */
  thermalZonesDenied: boolean;
  /** benchmark_model output: `current` (TF 2.x, `INFO:` lines) or `legacy` (TF 1.x era). */
  outputFormat: 'current' | 'legacy';
  /** Host-measured inference time is multiplied by this (1 = as fast as this computer). */
  speed: number;
  /** /data size and free space, KiB. */
  storage: { totalKB: number; freeKB: number };
  battery: { level: number; tempC: number; ac: boolean; usb: boolean };
}

const GiB_KB = 1024 * 1024;

const pixel: SimProfile = {
  name: 'pixel',
  manufacturer: 'Google',
  model: 'Pixel 7',
  device: 'panther',
  android: '14',
  sdk: 34,
  abis: ['arm64-v8a', 'armeabi-v7a', 'armeabi'],
  socModel: 'GS201',
  socManufacturer: 'Google',
  boardPlatform: 'gs201',
  hardware: 'panther',
  // Tensor G2: 4x Cortex-A55, 2x A78, 2x X1.
  clusters: [
    { cores: 4, maxFreqKHz: 1803000 },
    { cores: 2, maxFreqKHz: 2348000 },
    { cores: 2, maxFreqKHz: 2850000 },
  ],
  cpufreq: true,
  memTotalKB: 7_755_000,
  thermalService: true,
  thermalZones: [
    { type: 'BIG', tempC: 36.2 },
    { type: 'MID', tempC: 35.1 },
    { type: 'LITTLE', tempC: 34.6 },
    { type: 'battery', tempC: 29.5 },
    { type: 'skin-therm', tempC: 31.0 },
  ],
  thermalZonesDenied: false,
  outputFormat: 'current',
  speed: 1,
  storage: { totalKB: 118 * GiB_KB, freeKB: 64 * GiB_KB },
  battery: { level: 82, tempC: 29.5, ac: false, usb: true },
};

export const PROFILES: Record<SimProfileName, SimProfile> = {
  pixel,
  'pixel-selinux': { ...pixel, name: 'pixel-selinux', thermalZonesDenied: true },
  tri: {
    ...pixel,
    name: 'tri',
    manufacturer: 'samsung',
    model: 'SM-G991B',
    device: 'o1s',
    android: '13',
    sdk: 33,
    socModel: 'SM8350',
    socManufacturer: 'QTI',
    boardPlatform: 'lahaina',
    hardware: 'qcom',
    // Snapdragon 888: 4x A55, 3x A78, 1x X1 (1+3+4).
    clusters: [
      { cores: 4, maxFreqKHz: 1804800 },
      { cores: 3, maxFreqKHz: 2419200 },
      { cores: 1, maxFreqKHz: 2841600 },
    ],
    thermalZones: [
      { type: 'cpu-0-0-usr', tempC: 37.0 },
      { type: 'cpu-1-0-usr', tempC: 38.4 },
      { type: 'gpuss-0-usr', tempC: 35.9 },
      { type: 'battery', tempC: 30.1 },
    ],
    speed: 1.1,
  },
  biglittle: {
    ...pixel,
    name: 'biglittle',
    manufacturer: 'Xiaomi',
    model: 'Redmi Note 8',
    device: 'ginkgo',
    android: '11',
    sdk: 30,
    socModel: undefined,
    socManufacturer: undefined,
    boardPlatform: 'trinket',
    hardware: 'qcom',
    // Snapdragon 665: 4x A53 + 4x A73 (4+4).
    clusters: [
      { cores: 4, maxFreqKHz: 1804800 },
      { cores: 4, maxFreqKHz: 2016000 },
    ],
    memTotalKB: 3_800_000,
    thermalZones: [
      { type: 'cpu-0-0-usr', tempC: 39.0 },
      { type: 'cpu-1-0-usr', tempC: 40.2 },
      { type: 'battery', tempC: 31.0 },
    ],
    speed: 2.5,
  },
  android9: {
    ...pixel,
    name: 'android9',
    manufacturer: 'samsung',
    model: 'SM-G960F',
    device: 'starlte',
    android: '9',
    sdk: 28,
    socModel: undefined,
    socManufacturer: undefined,
    boardPlatform: 'exynos5',
    hardware: 'samsungexynos9810',
    // Exynos 9810: 4x A55 + 4x Mongoose M3 (4+4).
    clusters: [
      { cores: 4, maxFreqKHz: 1794000 },
      { cores: 4, maxFreqKHz: 2704000 },
    ],
    memTotalKB: 3_650_000,
    thermalService: false,
    thermalZones: [
      { type: 'BIG', tempC: 38.0 },
      { type: 'LITTLE', tempC: 36.0 },
      { type: 'battery', tempC: 30.0 },
    ],
    outputFormat: 'legacy',
    speed: 2,
    storage: { totalKB: 54 * GiB_KB, freeKB: 20 * GiB_KB },
  },
  x86emu: {
    ...pixel,
    name: 'x86emu',
    manufacturer: 'Google',
    model: 'sdk_gphone_x86_64',
    device: 'generic_x86_64_arm64',
    android: '11',
    sdk: 30,
    abis: ['x86_64', 'x86'],
    socModel: undefined,
    socManufacturer: undefined,
    boardPlatform: '',
    hardware: 'ranchu',
    clusters: [{ cores: 4, maxFreqKHz: 0 }],
    cpufreq: false,
    memTotalKB: 2_030_000,
    thermalZones: [],
    speed: 1,
    storage: { totalKB: 6 * GiB_KB, freeKB: 3 * GiB_KB },
    battery: { level: 100, tempC: 25.0, ac: true, usb: false },
  },
  armv7: {
    ...pixel,
    name: 'armv7',
    manufacturer: 'samsung',
    model: 'SM-J500F',
    device: 'j5nlte',
    android: '7.1.1',
    sdk: 25,
    abis: ['armeabi-v7a', 'armeabi'],
    socModel: undefined,
    socManufacturer: undefined,
    boardPlatform: 'msm8916',
    hardware: 'qcom',
    clusters: [{ cores: 4, maxFreqKHz: 1209600 }],
    memTotalKB: 1_400_000,
    thermalService: false,
    thermalZones: [
      { type: 'tsens_tz_sensor0', tempC: 41.0 },
      { type: 'battery', tempC: 32.0 },
    ],
    speed: 6,
    storage: { totalKB: 12 * GiB_KB, freeKB: 4 * GiB_KB },
  },
};

export function cpuCount(p: SimProfile): number {
  return p.clusters.reduce((n, c) => n + c.cores, 0);
}

/** Max frequency of each CPU in CPU-number order (kHz). */
export function coreFreqs(p: SimProfile): number[] {
  return p.clusters.flatMap((c) => Array<number>(c.cores).fill(c.maxFreqKHz));
}

/** Build properties, as `getprop` shows them. Android-12-only properties are left out below SDK 31. */
export function buildProps(p: SimProfile): Record<string, string> {
  const props: Record<string, string> = {
    'ro.product.manufacturer': p.manufacturer,
    'ro.product.model': p.model,
    'ro.product.device': p.device,
    'ro.product.name': p.device,
    'ro.product.brand': p.manufacturer.toLowerCase(),
    'ro.build.version.release': p.android,
    'ro.build.version.sdk': String(p.sdk),
    'ro.product.cpu.abi': p.abis[0],
    'ro.product.cpu.abilist': p.abis.join(','),
    'ro.product.cpu.abilist64': p.abis.filter((a) => a === 'arm64-v8a' || a === 'x86_64').join(','),
    'ro.product.cpu.abilist32': p.abis.filter((a) => a !== 'arm64-v8a' && a !== 'x86_64').join(','),
    'ro.board.platform': p.boardPlatform,
    'ro.hardware': p.hardware,
    'ro.build.type': 'user',
    'ro.debuggable': '0',
    'ro.kernel.qemu': p.hardware === 'ranchu' ? '1' : '',
    'sys.boot_completed': '1',
  };
  if (p.sdk >= 31 && p.socModel) {
    props['ro.soc.model'] = p.socModel;
    if (p.socManufacturer) props['ro.soc.manufacturer'] = p.socManufacturer;
  }
  return Object.fromEntries(Object.entries(props).filter(([, v]) => v !== ''));
}
