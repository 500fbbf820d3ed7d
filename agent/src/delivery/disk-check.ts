import { statfs } from 'node:fs/promises';
import { EdgefleetError } from '@edgefleet/shared';

export async function freeDiskBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/**
 * Pre-flight before a download: `neededBytes` must fit with `marginBytes` to spare, so a model
 * never fills the disk the device's OS and logs live on.
 */
export async function assertDiskSpace(dir: string, neededBytes: number, marginBytes: number): Promise<void> {
  const free = await freeDiskBytes(dir);
  if (free < neededBytes + marginBytes) {
    throw new EdgefleetError('DISK_SPACE_INSUFFICIENT', `need ${neededBytes} bytes plus a ${marginBytes}-byte margin in ${dir}, ${free} free`, {
      details: { dir, neededBytes, marginBytes, freeBytes: free },
    });
  }
}

/** errno/SQLite codes that mean "no space left": out of blocks, over quota, or the database is full. */
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

export function isDiskFull(err: unknown): boolean {
  return typeof err === 'object' && err !== null && DISK_FULL_CODES.has(String((err as { code?: unknown }).code));
}

/**
 * Maps a disk-full failure at a write site to DISK_SPACE_INSUFFICIENT (keeping the errno as the
 * cause), so the operator learns the disk is the problem instead of reading INTERNAL "ENOSPC".
 * Anything else is returned unchanged.
 */
export function diskFullError(err: unknown, path: string): unknown {
  if (!isDiskFull(err)) return err;
  const code = String((err as { code: unknown }).code);
  return new EdgefleetError('DISK_SPACE_INSUFFICIENT', `the disk filled up while writing ${path} (${code}); free space on the device and deploy again`, {
    cause: err,
    details: { path, errno: code },
  });
}
