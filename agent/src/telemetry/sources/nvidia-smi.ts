import { execFile } from 'node:child_process';

/**
 * Discrete NVIDIA GPUs through nvidia-smi (x86). The query is fixed so the CSV columns are known;
 * `[N/A]` / `[Not Supported]` (JetPack 6 prints them for everything) become undefined.
 * The hardware profile (agent/src/hardware) asks nvidia-smi for name/driver/memory once at start;
 * this asks for the changing values every collection.
 */
export const NVIDIA_SMI_QUERY = ['index', 'name', 'utilization.gpu', 'memory.used', 'memory.total', 'temperature.gpu', 'power.draw'] as const;

export interface NvidiaGpuReading {
  index: number;
  name: string;
  utilizationPct: number | undefined;
  memoryUsedMiB: number | undefined;
  memoryTotalMiB: number | undefined;
  temperatureC: number | undefined;
  powerW: number | undefined;
}

function value(field: string | undefined): number | undefined {
  if (field === undefined) return undefined;
  const n = Number(field.trim());
  return field.trim() === '' || !Number.isFinite(n) ? undefined : n;
}

/** Parses `--format=csv,noheader,nounits` output of NVIDIA_SMI_QUERY; lines that do not fit are skipped. */
export function parseNvidiaSmiCsv(text: string): NvidiaGpuReading[] {
  const gpus: NvidiaGpuReading[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const f = line.split(',').map((s) => s.trim());
    if (f.length !== NVIDIA_SMI_QUERY.length) continue;
    const index = value(f[0]);
    if (index === undefined) continue;
    gpus.push({
      index,
      name: f[1]!,
      utilizationPct: value(f[2]),
      memoryUsedMiB: value(f[3]),
      memoryTotalMiB: value(f[4]),
      temperatureC: value(f[5]),
      powerW: value(f[6]),
    });
  }
  return gpus;
}

/** Runs nvidia-smi with a deadline; undefined when it is missing, fails or hangs (a wedged driver does). */
export async function queryNvidiaSmi(binary = 'nvidia-smi', timeoutMs = 2_000): Promise<NvidiaGpuReading[] | undefined> {
  return await new Promise((resolve) => {
    execFile(binary, [`--query-gpu=${NVIDIA_SMI_QUERY.join(',')}`, '--format=csv,noheader,nounits'], { timeout: timeoutMs }, (err, stdout) => {
      resolve(err ? undefined : parseNvidiaSmiCsv(stdout));
    });
  });
}
