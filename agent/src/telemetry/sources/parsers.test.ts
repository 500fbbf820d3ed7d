import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTegrastatsLine } from './tegrastats.js';
import { readJetsonGpuLoad, readPowerRails, readThermalZones } from './sysfs.js';
import { cpuPercent, parseMeminfo, parseProcStat, parseUptime } from './proc.js';

const fixtures = join(import.meta.dirname, '__fixtures__');
const tegrastatsLines = new Map(
  readFileSync(join(fixtures, 'tegrastats.txt'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('\t') as [string, string]),
);
const line = (label: string): string => tegrastatsLines.get(label) ?? (() => { throw new Error(`no fixture line ${label}`); })();

describe('tegrastats', () => {
  it('parses an Orin (JetPack 6) line: mW rails, bracketed GPU frequency, offline cores', () => {
    const r = parseTegrastatsLine(line('orin-nano-jp6'));
    expect(r.ramUsedBytes).toBe(3679 * 1024 ** 2);
    expect(r.ramTotalBytes).toBe(15388 * 1024 ** 2);
    expect(r.swapTotalBytes).toBe(7694 * 1024 ** 2);
    expect(r.cpus).toHaveLength(6);
    expect(r.cpus[0]).toEqual({ loadPct: 2, freqMhz: 729 });
    expect(r.cpus[4]).toEqual({ loadPct: undefined, freqMhz: undefined });
    expect(r.cpuLoadPct).toBe(1.5);
    expect(r.gpuLoadPct).toBe(0);
    expect(r.gpuFreqMhz).toBe(305);
    expect(r.temps).toEqual({ cpu: 45.5, gpu: 44, tj: 46 });
    expect(r.rails).toEqual({
      VDD_GPU_SOC: { mW: 5139, avgMw: 5139 },
      VDD_CPU_CV: { mW: 3268, avgMw: 3268 },
      VIN_SYS_5V0: { mW: 5500, avgMw: 5500 },
    });
  });

  it('drops the -256C sentinel of disabled Orin zones and reads two-GPC frequencies', () => {
    const r = parseTegrastatsLine(line('orin-agx-jp6'));
    expect(r.temps).not.toHaveProperty('CV0');
    expect(r.temps.tj).toBe(48.843);
    expect(r.temps.Tboard).toBe(36);
    expect(Object.keys(r.temps)).toHaveLength(8);
    expect(r.gpuLoadPct).toBe(37);
    expect(r.gpuFreqMhz).toBe(612);
    expect(r.cpus).toHaveLength(8);
  });

  it('parses the older format: GR3D_FREQ load@freq and rails without units', () => {
    const r = parseTegrastatsLine(line('xavier-nx-jp5'));
    expect(r.gpuLoadPct).toBe(10);
    expect(r.gpuFreqMhz).toBe(1300);
    expect(r.rails.VDD_IN).toEqual({ mW: 14025, avgMw: 14416 });
    expect(r.rails.VDD_SOC).toEqual({ mW: 1391, avgMw: 1392 });
    expect(Object.keys(r.rails)).toHaveLength(3);
    expect(r.temps).toMatchObject({ AO: 33, GPU: 33, Tdiode: 35.5, thermal: 33.3 });
    expect(r.cpus.filter((c) => c.loadPct === undefined)).toHaveLength(2);
    expect(r.cpuLoadPct).toBe(4.25);
  });

  it('parses a Nano line: GPU load without frequency, POM rails', () => {
    const r = parseTegrastatsLine(line('nano-jp4'));
    expect(r.gpuLoadPct).toBe(0);
    expect(r.gpuFreqMhz).toBeUndefined();
    expect(r.rails.POM_5V_IN).toEqual({ mW: 2545, avgMw: 2547 });
    expect(r.temps.PLL).toBe(21);
    expect(r.cpuLoadPct).toBe(15.5);
  });

  it('parses the TX1 format: one frequency after the core list, GR3D without _FREQ', () => {
    const r = parseTegrastatsLine(line('tx1-l4t28'));
    expect(r.cpus).toEqual([17, 13, 29, 5].map((loadPct) => ({ loadPct, freqMhz: 408 })));
    expect(r.gpuLoadPct).toBe(3);
    expect(r.gpuFreqMhz).toBe(76);
    expect(r.swapUsedBytes).toBe(873 * 1024 ** 2);
    expect(r.rails).toEqual({});
    expect(r.temps).toEqual({});
  });

  it('yields an empty reading for a line it does not know', () => {
    expect(parseTegrastatsLine('garbage 12/34 nothing here')).toEqual({ cpus: [], temps: {}, rails: {} });
  });
});

describe('sysfs (recorded trees)', () => {
  it('reads Orin Nano thermal zones in °C, skipping the -256 °C disabled CV zones', async () => {
    const temps = await readThermalZones(join(fixtures, 'sys-orin-nano'));
    expect(temps).toEqual({
      'cpu-thermal': 45.531,
      'gpu-thermal': 44.062,
      'soc0-thermal': 43.968,
      'soc1-thermal': 44.437,
      'soc2-thermal': 43.718,
      'tj-thermal': 45.531,
    });
  });

  it('skips a zone whose temp cannot be read (Xavier Tdiode)', async () => {
    const temps = await readThermalZones(join(fixtures, 'sys-xavier-nx'));
    expect(Object.keys(temps)).toHaveLength(6);
    expect(temps['PMIC-Die']).toBe(50);
    expect(temps).not.toHaveProperty('Tdiode_tegra');
  });

  it('reads INA3221 rails as mW (mV × mA), skipping NC channels and other hwmon chips', async () => {
    expect(await readPowerRails(join(fixtures, 'sys-orin-nano'))).toEqual({ VDD_IN: 5113, VDD_CPU_GPU_CV: 724, VDD_SOC: 1448 });
    expect(await readPowerRails(join(fixtures, 'sys-xavier-nx'))).toEqual({});
  });

  it('reads the iGPU load (per mille) from devfreq on Orin and devices/gpu.0 on older kernels', async () => {
    expect(await readJetsonGpuLoad(join(fixtures, 'sys-orin-nano'))).toBe(47.3);
    expect(await readJetsonGpuLoad(join(fixtures, 'sys-xavier-nx'))).toBe(10);
  });

  it('returns empty results for a tree without any of these files', async () => {
    const empty = join(fixtures, 'does-not-exist');
    expect(await readThermalZones(empty)).toEqual({});
    expect(await readPowerRails(empty)).toEqual({});
    expect(await readJetsonGpuLoad(empty)).toBeUndefined();
  });
});

describe('/proc', () => {
  const proc = (name: string): string => readFileSync(join(fixtures, 'proc-x86', name), 'utf8');

  it('parses /proc/stat and computes busy % between two snapshots', () => {
    const before = parseProcStat(proc('stat'))!;
    expect(before).toEqual({ idle: 79415 + 918, total: 33523 + 7238 + 79415 + 918 + 326 + 216 });
    const after = { idle: before.idle + 75, total: before.total + 100 };
    expect(cpuPercent(before, after)).toBe(25);
    expect(cpuPercent(before, before)).toBeUndefined();
  });

  it('parses meminfo as used = total − available, in bytes', () => {
    expect(parseMeminfo(proc('meminfo'))).toEqual({ memTotal: 24683656 * 1024, memUsed: (24683656 - 23946556) * 1024 });
    expect(parseMeminfo('nonsense')).toBeUndefined();
  });

  it('parses uptime', () => {
    expect(parseUptime(proc('uptime'))).toBe(611.86);
  });
});
