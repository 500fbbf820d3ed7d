/**
 * Parses one tegrastats line (Jetson). Formats differ by generation and JetPack release:
 *  - Orin / JetPack 6: `CPU [2%@729,...] EMC_FREQ 0% GR3D_FREQ 0%@[305] cpu@45.5C ... VDD_GPU_SOC 5139mW/5139mW`
 *  - Xavier / Nano / JetPack 4-5: `GR3D_FREQ 10%@1300 ... VDD_IN 14025/14416` (no mW suffix)
 *  - TX1 / L4T 28: `cpu [17%,13%,29%,5%]@408 EMC 1%@408 GR3D 3%@76` (one frequency for all cores)
 * Offline cores print `off`. Every field is optional: a line with nothing we know yields an empty result.
 */

export interface TegrastatsCpu {
  /** Load 0-100 %; undefined for an offline core. */
  loadPct: number | undefined;
  freqMhz: number | undefined;
}

export interface TegrastatsReading {
  ramUsedBytes?: number;
  ramTotalBytes?: number;
  swapUsedBytes?: number;
  swapTotalBytes?: number;
  cpus: TegrastatsCpu[];
  /** Mean load of the online cores. */
  cpuLoadPct?: number;
  gpuLoadPct?: number;
  gpuFreqMhz?: number;
  /** °C by sensor name as printed (`cpu`, `gpu`, `tj`, `Tboard`...). */
  temps: Record<string, number>;
  /** Power rails: instantaneous and average mW, by rail name. */
  rails: Record<string, { mW: number; avgMw: number }>;
}

const UNIT_BYTES: Record<string, number> = { k: 1024, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

function bytes(value: string, unit: string): number {
  return Number(value) * (UNIT_BYTES[unit] ?? 1);
}

const RAM = /\bRAM (\d+)\/(\d+)([kKMG])B/;
const SWAP = /\bSWAP (\d+)\/(\d+)([kKMG])B/;
const CPU = /\bCPU \[([^\]]*)\](?:@(\d+))?/i;
const GPU = /\bGR3D(?:_FREQ)? (\d+)%(?:@\[?(\d+)[^\s]*)?/;
// `name@12.5C`: a sensor. `0%@729` is a load@frequency and never ends in C after digits.
const TEMP = /(?<=^|\s)([A-Za-z][\w-]*)@(-?\d+(?:\.\d+)?)C(?=\s|$)/g;
// `VDD_IN 4811mW/4811mW` (Orin) or `VDD_IN 14025/14416` (older). RAM/SWAP end in MB and never match.
const RAIL = /(?<=^|\s)([A-Z][A-Z0-9_]*) (\d+)(?:mW)?\/(\d+)(?:mW)?(?=\s|$)/g;

/** Anything colder is a driver sentinel, not a reading. */
export const MIN_VALID_CELSIUS = -100;

export function parseTegrastatsLine(line: string): TegrastatsReading {
  const reading: TegrastatsReading = { cpus: [], temps: {}, rails: {} };
  const ram = RAM.exec(line);
  if (ram) {
    reading.ramUsedBytes = bytes(ram[1]!, ram[3]!);
    reading.ramTotalBytes = bytes(ram[2]!, ram[3]!);
  }
  const swap = SWAP.exec(line);
  if (swap) {
    reading.swapUsedBytes = bytes(swap[1]!, swap[3]!);
    reading.swapTotalBytes = bytes(swap[2]!, swap[3]!);
  }
  const cpu = CPU.exec(line);
  if (cpu) {
    const sharedFreq = cpu[2] === undefined ? undefined : Number(cpu[2]);
    for (const entry of cpu[1]!.split(',')) {
      const m = /^\s*(\d+)%(?:@(\d+))?\s*$/.exec(entry);
      if (m) reading.cpus.push({ loadPct: Number(m[1]), freqMhz: m[2] === undefined ? sharedFreq : Number(m[2]) });
      else if (entry.trim() === 'off') reading.cpus.push({ loadPct: undefined, freqMhz: undefined });
    }
    const online = reading.cpus.flatMap((c) => (c.loadPct === undefined ? [] : [c.loadPct]));
    if (online.length > 0) reading.cpuLoadPct = online.reduce((a, b) => a + b, 0) / online.length;
  }
  const gpu = GPU.exec(line);
  if (gpu) {
    reading.gpuLoadPct = Number(gpu[1]);
    if (gpu[2] !== undefined) reading.gpuFreqMhz = Number(gpu[2]);
  }
  for (const m of line.matchAll(TEMP)) {
    const celsius = Number(m[2]);
    // Disabled zones (Orin's CV0-CV2 without a DLA load) print -256C: not a temperature.
    if (celsius > MIN_VALID_CELSIUS) reading.temps[m[1]!] = celsius;
  }
  for (const m of line.matchAll(RAIL)) reading.rails[m[1]!] = { mW: Number(m[2]), avgMw: Number(m[3]) };
  return reading;
}
