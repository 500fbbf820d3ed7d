import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TmpDir {
  path: string;
  cleanup(): Promise<void>;
}

/** A fresh directory under the OS temp dir; call cleanup() in afterEach/afterAll. */
export async function tmpDataDir(prefix = 'edgefleet-'): Promise<TmpDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}
