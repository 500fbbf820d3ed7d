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
