import { open, type FileHandle } from 'node:fs/promises';
import type { ArtifactStore } from './artifact-store.js';

/**
 * Artifact files kept open while chunks of them are being served: a 50 MB model is ~200 chunk
 * requests per device, and an open + fstat + close for each cost more main-thread time than the
 * read itself. Files are content-addressed and never rewritten, so a handle and its size stay
 * true for as long as the file exists; a handle is closed after `idleMs` without a read, and at
 * most `maxOpen` are kept (the least recently used goes first).
 */
export interface OpenArtifacts {
  /** Size in bytes, or undefined when not stored. */
  size(sha256: string): Promise<number | undefined>;
  /** Reads into `target` from `position`; returns the bytes read (fewer at the end of the file). */
  readInto(sha256: string, target: Buffer, position: number): Promise<number>;
  close(): Promise<void>;
}

interface Entry {
  handle: Promise<{ fh: FileHandle; size: number } | undefined>;
  reads: number;
  timer?: NodeJS.Timeout;
}

export function createOpenArtifacts(artifacts: ArtifactStore, options: { idleMs?: number; maxOpen?: number } = {}): OpenArtifacts {
  const idleMs = options.idleMs ?? 5_000;
  const maxOpen = options.maxOpen ?? 64;
  const entries = new Map<string, Entry>();

  const drop = (sha256: string, entry: Entry): Promise<void> => {
    if (entries.get(sha256) === entry) entries.delete(sha256);
    clearTimeout(entry.timer);
    return entry.handle.then((h) => h?.fh.close()).catch(() => undefined);
  };

  const arm = (sha256: string, entry: Entry): void => {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => void (entry.reads === 0 && drop(sha256, entry)), idleMs);
    entry.timer.unref();
  };

  const get = (sha256: string): Entry => {
    let entry = entries.get(sha256);
    if (entry) {
      // Map order is insertion order: re-inserting marks it most recently used.
      entries.delete(sha256);
      entries.set(sha256, entry);
      return entry;
    }
    const opened = (async () => {
      let fh: FileHandle;
      try {
        fh = await open(artifacts.path(sha256), 'r');
      } catch {
        return undefined;
      }
      return { fh, size: (await fh.stat()).size };
    })();
    entry = { handle: opened, reads: 0 };
    entries.set(sha256, entry);
    const e = entry;
    // A missing file is not cached: it may be pushed a moment later.
    void opened.then((h) => (h ? arm(sha256, e) : void drop(sha256, e)));
    for (const [oldest, old] of entries) {
      if (entries.size <= maxOpen) break;
      if (old.reads === 0) void drop(oldest, old);
    }
    return entry;
  };

  return {
    async size(sha256) {
      return (await get(sha256).handle)?.size;
    },
    async readInto(sha256, target, position) {
      const entry = get(sha256);
      entry.reads++;
      try {
        const h = await entry.handle;
        if (!h) return 0;
        const { bytesRead } = await h.fh.read(target, 0, target.length, position);
        return bytesRead;
      } finally {
        entry.reads--;
        if (entries.get(sha256) === entry) arm(sha256, entry);
        else if (entry.reads === 0) void drop(sha256, entry);
      }
    },
    async close() {
      await Promise.all([...entries].map(([sha256, entry]) => drop(sha256, entry)));
    },
  };
}
