import { open } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isEdgefleetError } from '@edgefleet/shared';
import { assertDiskSpace, diskFullError, isDiskFull } from './disk-check.js';

/** A real ENOSPC: Linux's /dev/full refuses every write with it. */
async function enospc(): Promise<unknown> {
  const fh = await open('/dev/full', 'w');
  try {
    await fh.write(Buffer.alloc(16));
  } catch (err) {
    return err;
  } finally {
    await fh.close();
  }
  throw new Error('/dev/full accepted a write');
}

describe('disk-full mapping at write sites', () => {
  it('maps a real ENOSPC to DISK_SPACE_INSUFFICIENT and keeps the errno as the cause', async () => {
    const cause = await enospc();
    expect(isDiskFull(cause)).toBe(true);
    const err = diskFullError(cause, '/data/staging/abc.part');
    expect(isEdgefleetError(err, 'DISK_SPACE_INSUFFICIENT')).toBe(true);
    if (!isEdgefleetError(err, 'DISK_SPACE_INSUFFICIENT')) return;
    expect(err.cause).toBe(cause);
    expect(err.message).toContain('/data/staging/abc.part');
    expect(err.details).toEqual({ path: '/data/staging/abc.part', errno: 'ENOSPC' });
  });

  it('maps SQLITE_FULL from a real database the same way', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-diskfull-'));
    const db = new Database(join(dir, 'x.db'));
    try {
      db.exec('CREATE TABLE t (v BLOB)');
      db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
      let cause: unknown;
      try {
        db.prepare('INSERT INTO t VALUES (?)').run(Buffer.alloc(64 * 1024));
      } catch (err) {
        cause = err;
      }
      const err = diskFullError(cause, 'state.db');
      expect(isEdgefleetError(err, 'DISK_SPACE_INSUFFICIENT')).toBe(true);
      expect((err as Error).cause).toBe(cause);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves every other error as it was', () => {
    const other = Object.assign(new Error('permission denied'), { code: 'EACCES' });
    expect(isDiskFull(other)).toBe(false);
    expect(diskFullError(other, '/x')).toBe(other);
    expect(diskFullError(undefined, '/x')).toBeUndefined();
  });

  it('pre-flight refuses a download that does not fit with its margin', async () => {
    await expect(assertDiskSpace(tmpdir(), Number.MAX_SAFE_INTEGER, 0)).rejects.toMatchObject({ code: 'DISK_SPACE_INSUFFICIENT' });
    await expect(assertDiskSpace(tmpdir(), 1, 0)).resolves.toBeUndefined();
  });
});
