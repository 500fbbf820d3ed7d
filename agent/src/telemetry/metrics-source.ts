import type { DeviceSample } from '@edgefleet/shared';
import { cpuPercent, parseMeminfo, parseProcStat, parseUptime, readDisk, readNetworkUp, readProcFile, type CpuTimes } from './sources/proc.js';
import { readJetsonGpuLoad, readPowerRails, readThermalZones } from './sources/sysfs.js';
import { queryNvidiaSmi, type NvidiaGpuReading } from './sources/nvidia-smi.js';
import type { TegrastatsReading } from './sources/tegrastats.js';

/** What one collection reads from the machine; the telemetry collector adds time and its own process figures. */
export type DeviceMetrics = Omit<DeviceSample, 't' | 'agentRss' | 'loopLagMs'>;

/** The port in front of the hardware. A fake with fixed readings stands in for it in tests. */
export interface MetricsSource {
  read(): Promise<DeviceMetrics>;
}

export interface SystemMetricsSourceOptions {
  /** Filesystem whose free space is reported (the agent's data dir). */
  diskPath: string;
  procRoot?: string;
  sysRoot?: string;
  /** Ask nvidia-smi each read (x86 with a discrete GPU). `false` on Tegra, where it reports N/A. @default true */
  nvidiaSmi?: boolean;
  nvidiaSmiBinary?: string;
  /** The newest tegrastats reading, when a reader runs (see startTegrastatsReader). */
  tegrastats?: () => TegrastatsReading | undefined;
}

function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Linux /proc and /sys readers plus nvidia-smi. Each read is a few small file reads (and one
 * nvidia-smi call when a discrete GPU answered before): cheap enough for a 30 s schedule on a Nano.
 * CPU load is measured between consecutive reads, so the first read has none.
 */
export function createSystemMetricsSource(options: SystemMetricsSourceOptions): MetricsSource {
  const procRoot = options.procRoot ?? '/proc';
  const sysRoot = options.sysRoot ?? '/sys';
  let previousCpu: CpuTimes | undefined;
  // nvidia-smi missing once means missing for good (no hot-plugged GPUs): stop spawning it.
  let nvidiaSmiAvailable = options.nvidiaSmi ?? true;

  async function gpus(): Promise<NvidiaGpuReading[]> {
    if (!nvidiaSmiAvailable) return [];
    const readings = await queryNvidiaSmi(options.nvidiaSmiBinary);
    if (readings === undefined) nvidiaSmiAvailable = false;
    return readings ?? [];
  }

  return {
    async read() {
      const [stat, meminfo, uptime, disk, netUp, temps, rails, jetsonGpu, discrete] = await Promise.all([
        readProcFile(procRoot, 'stat'),
        readProcFile(procRoot, 'meminfo'),
        readProcFile(procRoot, 'uptime'),
        readDisk(options.diskPath),
        readNetworkUp(sysRoot),
        readThermalZones(sysRoot),
        readPowerRails(sysRoot),
        readJetsonGpuLoad(sysRoot),
        gpus(),
      ]);
      const cpuNow = stat === undefined ? undefined : parseProcStat(stat);
      const cpu = previousCpu && cpuNow ? cpuPercent(previousCpu, cpuNow) : undefined;
      previousCpu = cpuNow ?? previousCpu;
      const tegra = options.tegrastats?.();

      for (const [index, g] of discrete.entries()) {
        if (g.temperatureC !== undefined) temps[`gpu${index}`] = g.temperatureC;
        if (g.powerW !== undefined) rails[`gpu${index}`] = Math.round(g.powerW * 1000);
      }
      if (tegra) {
        for (const [name, celsius] of Object.entries(tegra.temps)) temps[name] ??= celsius;
        for (const [name, rail] of Object.entries(tegra.rails)) rails[name] ??= rail.mW;
      }
      const discreteLoads = discrete.flatMap((g) => (g.utilizationPercent === undefined ? [] : [g.utilizationPercent]));
      const gpu = jetsonGpu ?? tegra?.gpuLoadPct ?? (discreteLoads.length > 0 ? Math.max(...discreteLoads) : undefined);

      return definedOnly<DeviceMetrics>({
        cpu: cpu ?? (previousCpu === undefined ? tegra?.cpuLoadPct : undefined),
        ...(meminfo === undefined ? {} : parseMeminfo(meminfo)),
        ...disk,
        temps: Object.keys(temps).length > 0 ? temps : undefined,
        uptimeS: uptime === undefined ? undefined : parseUptime(uptime),
        netUp,
        gpu,
        power: Object.keys(rails).length > 0 ? rails : undefined,
      });
    },
  };
}

/** Fixed readings, for tests and benchmarks that must not depend on the machine they run on. */
export function createFakeMetricsSource(readings: DeviceMetrics | (() => DeviceMetrics)): MetricsSource {
  return { read: async () => (typeof readings === 'function' ? readings() : { ...readings }) };
}
