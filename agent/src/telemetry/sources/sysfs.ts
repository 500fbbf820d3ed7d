import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MIN_VALID_CELSIUS } from './tegrastats.js';

/**
 * Readers for the Linux sysfs files a Jetson exposes (reference.md §3). Each takes the sysfs root so
 * tests run them on recorded trees under __fixtures__/; a missing file means "not this kind of
 * device" and yields an empty result, never an error.
 */

async function readText(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    // Absent on this device, or a zone whose driver refuses reads (EINVAL/ENODATA on some Tegra zones).
    return undefined;
  }
}

async function listDir(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch {
    return [];
  }
}

function finiteNumber(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** `class/thermal/thermal_zone*\/{type,temp}` (milli-°C) → °C by zone type, e.g. `{ 'cpu-thermal': 45.5 }`. */
export async function readThermalZones(sysRoot = '/sys'): Promise<Record<string, number>> {
  const base = join(sysRoot, 'class/thermal');
  const temps: Record<string, number> = {};
  for (const zone of (await listDir(base)).filter((d) => d.startsWith('thermal_zone'))) {
    const [type, milli] = await Promise.all([readText(join(base, zone, 'type')), readText(join(base, zone, 'temp'))]);
    const celsius = finiteNumber(milli);
    if (celsius === undefined || celsius / 1000 <= MIN_VALID_CELSIUS) continue;
    temps[type || zone] = celsius / 1000;
  }
  return temps;
}

/**
 * INA3221 power monitors (Jetson Orin/Xavier/Nano on JetPack 5+) through hwmon: `in{N}_label` names the
 * rail, `in{N}_input` is mV and `curr{N}_input` is mA. Returns mW by rail name. Channels labelled
 * `NC` (not connected) or without a current are skipped.
 */
export async function readPowerRails(sysRoot = '/sys'): Promise<Record<string, number>> {
  const base = join(sysRoot, 'class/hwmon');
  const rails: Record<string, number> = {};
  for (const hwmon of await listDir(base)) {
    const dir = join(base, hwmon);
    if ((await readText(join(dir, 'name'))) !== 'ina3221') continue;
    const labels = (await listDir(dir)).filter((f) => /^in\d+_label$/.test(f));
    for (const labelFile of labels) {
      const channel = labelFile.slice(2, -'_label'.length);
      const label = await readText(join(dir, labelFile));
      if (!label || label === 'NC') continue;
      const [mV, mA] = await Promise.all([readText(join(dir, `in${channel}_input`)), readText(join(dir, `curr${channel}_input`))]);
      const volts = finiteNumber(mV);
      const amps = finiteNumber(mA);
      if (volts === undefined || amps === undefined) continue;
      rails[label] = Math.round((volts * amps) / 1000);
    }
  }
  return rails;
}

/** Where Tegra kernels expose the iGPU load in per mille, newest layouts first. */
const GPU_LOAD_FILES = ['devices/platform/gpu.0/load', 'devices/gpu.0/load'];

/**
 * Jetson iGPU load 0-100 %. The file is per mille; on Orin it sits under the devfreq node
 * (`class/devfreq/17000000.gpu/device/load`), on older kernels at `devices/gpu.0/load`.
 */
export async function readJetsonGpuLoad(sysRoot = '/sys'): Promise<number | undefined> {
  const devfreq = join(sysRoot, 'class/devfreq');
  const candidates = (await listDir(devfreq))
    .filter((d) => d.includes('gpu') || d.includes('gv11b') || d.includes('ga10b'))
    .flatMap((d) => [join(devfreq, d, 'device/load'), join(devfreq, d, 'load')]);
  for (const file of [...candidates, ...GPU_LOAD_FILES.map((f) => join(sysRoot, f))]) {
    const perMille = finiteNumber(await readText(file));
    if (perMille !== undefined) return Math.min(100, Math.max(0, perMille / 10));
  }
  return undefined;
}
