/**
 * Parser for `nvidia-smi --query-gpu=<NVIDIA_SMI_FIELDS> --format=csv,noheader,nounits`, shared by
 * hardware detection and telemetry. nvidia-smi prints `[N/A]` or `N/A` for fields a board does
 * not report (everything on Jetson JetPack 6): those become undefined, never NaN.
 */
export const NVIDIA_SMI_FIELDS = ['name', 'driver_version', 'memory.total', 'memory.used', 'utilization.gpu', 'temperature.gpu', 'power.draw'] as const;

/** Arguments for the query whose output parseNvidiaSmiCsv reads. */
export const NVIDIA_SMI_ARGS = [`--query-gpu=${NVIDIA_SMI_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];

export interface NvidiaGpuReading {
  name: string;
  driver?: string;
  memoryTotalMiB?: number;
  memoryUsedMiB?: number;
  /** 0-100 %. */
  utilizationPercent?: number;
  temperatureC?: number;
  powerW?: number;
}

function numberOrUndefined(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '' || /n\/a|not supported|unknown/i.test(trimmed)) return undefined;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : undefined;
}

function textOrUndefined(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed && !/^\[?n\/a\]?$/i.test(trimmed) ? trimmed : undefined;
}

/** One reading per GPU line; lines that are not a CSV row of the expected width are skipped. */
export function parseNvidiaSmiCsv(text: string): NvidiaGpuReading[] {
  const readings: NvidiaGpuReading[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const cols = line.split(',');
    if (cols.length < NVIDIA_SMI_FIELDS.length) continue;
    const name = textOrUndefined(cols[0]);
    if (!name) continue;
    const reading: NvidiaGpuReading = { name };
    const driver = textOrUndefined(cols[1]);
    if (driver) reading.driver = driver;
    const fields: [keyof NvidiaGpuReading, string | undefined][] = [
      ['memoryTotalMiB', cols[2]],
      ['memoryUsedMiB', cols[3]],
      ['utilizationPercent', cols[4]],
      ['temperatureC', cols[5]],
      ['powerW', cols[6]],
    ];
    for (const [key, raw] of fields) {
      const n = numberOrUndefined(raw);
      if (n !== undefined) (reading as unknown as Record<string, number>)[key] = n;
    }
    readings.push(reading);
  }
  return readings;
}
