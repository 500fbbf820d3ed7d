import { readdir, readFile, statfs } from 'node:fs/promises';
import { join } from 'node:path';

/** Cheap Linux readers: a handful of small /proc and /sys files, no child processes. */

export interface CpuTimes {
  idle: number;
  total: number;
}

/** The aggregate `cpu` line of /proc/stat (jiffies). */
export function parseProcStat(text: string): CpuTimes | undefined {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  if (fields.length < 4 || fields.some((n) => !Number.isFinite(n))) return undefined;
  // user nice system idle iowait irq softirq steal [guest guest_nice, already inside user/nice]
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { idle, total };
}

/** CPU busy % between two /proc/stat snapshots. */
export function cpuPercent(before: CpuTimes, after: CpuTimes): number | undefined {
  const total = after.total - before.total;
  if (total <= 0) return undefined;
  return Math.min(100, Math.max(0, (100 * (total - (after.idle - before.idle))) / total));
}

/** /proc/meminfo → bytes used (total − available) and total. */
export function parseMeminfo(text: string): { memUsed: number; memTotal: number } | undefined {
  const kb = (key: string): number | undefined => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const total = kb('MemTotal');
  const available = kb('MemAvailable') ?? kb('MemFree');
  if (total === undefined || available === undefined) return undefined;
  return { memUsed: total - available, memTotal: total };
}

export async function readProcFile(procRoot: string, name: string): Promise<string | undefined> {
  try {
    return await readFile(join(procRoot, name), 'utf8');
  } catch {
    return undefined;
  }
}

/** Seconds since boot from /proc/uptime. */
export function parseUptime(text: string): number | undefined {
  const n = Number(text.trim().split(/\s+/)[0]);
  return Number.isFinite(n) ? n : undefined;
}

/** True when any non-loopback interface reports operstate `up`; undefined when sysfs has no net class. */
export async function readNetworkUp(sysRoot = '/sys'): Promise<boolean | undefined> {
  const base = join(sysRoot, 'class/net');
  let ifaces: string[];
  try {
    ifaces = await readdir(base);
  } catch {
    return undefined;
  }
  for (const iface of ifaces) {
    if (iface === 'lo') continue;
    try {
      if ((await readFile(join(base, iface, 'operstate'), 'utf8')).trim() === 'up') return true;
    } catch {
      // a vanished interface (hot-unplugged USB modem) is simply not up
    }
  }
  return false;
}

/** Free and total bytes of the filesystem holding `path` (the agent's data dir). */
export async function readDisk(path: string): Promise<{ diskFree: number; diskTotal: number } | undefined> {
  try {
    const s = await statfs(path);
    return { diskFree: s.bavail * s.bsize, diskTotal: s.blocks * s.bsize };
  } catch {
    return undefined;
  }
}
