import { describe, expect, it } from 'vitest';
import { abisFromProps, bigCores, cpuMask, parseBattery, parseCpuList, parseGetprop, parseProcStatus, parseThermalService, parseZoneTemp, socFromProps } from './facts';

describe('device facts', () => {
  it('getprop, SoC fallbacks and ABIs', () => {
    const p = parseGetprop('[ro.product.model]: [Pixel 6]\n[ro.soc.manufacturer]: [Google]\n[ro.soc.model]: [Tensor]\n[ro.product.cpu.abilist]: [arm64-v8a,armeabi-v7a,armeabi]\n[empty]: []\n');
    expect(p['ro.product.model']).toBe('Pixel 6');
    expect(p.empty).toBe('');
    expect(socFromProps(p)).toBe('Google Tensor');
    expect(socFromProps({ 'ro.board.platform': 'msm8998', 'ro.hardware': 'qcom' })).toBe('msm8998');
    expect(socFromProps({ 'ro.hardware': 'qcom' })).toBe('qcom');
    expect(socFromProps({})).toBeNull();
    expect(abisFromProps(p)).toEqual(['arm64-v8a', 'armeabi-v7a', 'armeabi']);
    expect(abisFromProps({ 'ro.product.cpu.abi': 'armeabi-v7a', 'ro.product.cpu.abi2': 'armeabi' })).toEqual(['armeabi-v7a', 'armeabi']);
  });

  it('big-core mask for 4+4, 1+3+4 and single-cluster phones', () => {
    const fourFour = [0, 1, 2, 3, 4, 5, 6, 7].map((cpu) => ({ cpu, maxFreqKhz: cpu < 4 ? 1_800_000 : 2_400_000 }));
    expect(bigCores(fourFour)).toEqual([4, 5, 6, 7]);
    expect(cpuMask(bigCores(fourFour))).toBe('f0');
    const oneThreeFour = [0, 1, 2, 3, 4, 5, 6, 7].map((cpu) => ({ cpu, maxFreqKhz: cpu < 4 ? 1_800_000 : cpu < 7 ? 2_420_000 : 2_840_000 }));
    expect(bigCores(oneThreeFour)).toEqual([4, 5, 6, 7]);
    const single = [0, 1, 2, 3].map((cpu) => ({ cpu, maxFreqKhz: 2_000_000 }));
    expect(cpuMask(bigCores(single))).toBe('f');
    expect(parseCpuList('4-7')).toEqual([4, 5, 6, 7]);
    expect(parseCpuList('0,2-3')).toEqual([0, 2, 3]);
  });

  it('/proc/PID/status fields', () => {
    const s = parseProcStatus('Name:\tbenchmark_model\nVmHWM:\t   52344 kB\nVmRSS:\t   50112 kB\nCpus_allowed:\tf0\nCpus_allowed_list:\t4-7\n');
    expect(s).toEqual({ cpusAllowedList: '4-7', vmHwmKb: 52344, vmRssKb: 50112 });
  });

  it('dumpsys battery', () => {
    const b = parseBattery('Current Battery Service state:\n  AC powered: false\n  USB powered: true\n  Wireless powered: false\n  status: 2\n  health: 2\n  present: true\n  level: 85\n  scale: 100\n  voltage: 4200\n  temperature: 312\n  technology: Li-ion\n');
    expect(b).toEqual({ levelPct: 85, temperatureC: 31.2, charging: true, plugged: 'usb' });
    expect(parseBattery("Can't find service: battery")).toBeNull();
  });

  it('dumpsys thermalservice (Android 10+) and thermal zones', () => {
    const t = parseThermalService(
      'IsStatusOverride: false\nThermalEventListeners:\n\tcallbacks: 1\nThermalStatusListeners:\n\tcallbacks: 1\nThermal Status: 0\nCached temperatures:\n\tTemperature{mValue=99.0, mType=0, mName=cpu0, mStatus=0}\nHAL Ready: true\nHAL connection:\n\tThermalHAL 2.0 connected: yes\nCurrent temperatures from HAL:\n\tTemperature{mValue=36.5, mType=0, mName=cpu0, mStatus=0}\n\tTemperature{mValue=31.2, mType=2, mName=battery, mStatus=0}\nCurrent cooling devices from HAL:\n',
    );
    expect(t).toEqual({ status: 0, statusName: 'none', temperatures: [{ name: 'cpu0', type: 0, valueC: 36.5 }, { name: 'battery', type: 2, valueC: 31.2 }] });
    expect(parseThermalService("Can't find service: thermalservice")).toBeNull();
    expect(parseZoneTemp('45200\n')).toBe(45.2);
    expect(parseZoneTemp('45\n')).toBe(45);
    expect(parseZoneTemp('')).toBeNull();
  });
});
