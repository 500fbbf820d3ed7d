import type Database from 'better-sqlite3';
import { desiredStateSchema, type DesiredState, type ErrorInfo } from '@edgefleet/shared';

export interface InstalledVersion {
  model: string;
  version: string;
  sha256: string;
  size: number;
  path: string;
  installedAt: string;
}

export interface Pointers {
  active?: string;
  previous?: string;
}

export interface DownloadRecord {
  sha256: string;
  model: string;
  version: string;
  size: number;
  chunkBytes: number;
  path: string;
  complete: boolean;
}

export interface FailureRecord {
  model: string;
  version: string;
  sha256: string;
  generation: number;
  error: ErrorInfo;
  at: string;
}

/** Typed access to the agent's durable state; rows are checked when read (the edge is the disk). */
export interface StateStore {
  getDesired(): DesiredState | undefined;
  setDesired(desired: DesiredState): void;
  getNumber(key: string): number | undefined;
  setNumber(key: string, value: number): void;

  listInstalled(model?: string): InstalledVersion[];
  addInstalled(v: InstalledVersion, manifest: unknown): void;
  removeInstalled(model: string, version: string): void;

  pointers(model: string): Pointers;
  allPointers(): Map<string, Pointers>;
  setPointers(model: string, pointers: Pointers): void;
  deletePointers(model: string): void;

  getDownload(sha256: string): DownloadRecord | undefined;
  startDownload(d: Omit<DownloadRecord, 'complete'>): void;
  markChunk(sha256: string, idx: number): void;
  /** Records several finished chunks in one transaction (one fsync for a group commit). */
  markChunks(sha256: string, idxs: readonly number[]): void;
  doneChunks(sha256: string): Set<number>;
  completeDownload(sha256: string): void;
  deleteDownload(sha256: string): void;
  listDownloads(): DownloadRecord[];

  recordFailure(f: FailureRecord): void;
  failure(model: string, version: string, sha256: string): FailureRecord | undefined;
  clearFailure(model: string, version: string, sha256: string): void;
}

export function createStateStore(db: Database.Database): StateStore {
  const kvGet = db.prepare('SELECT value FROM kv WHERE key = ?');
  const kvSet = db.prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
  const instAll = db.prepare('SELECT * FROM installed ORDER BY model, installed_at');
  const instModel = db.prepare('SELECT * FROM installed WHERE model = ? ORDER BY installed_at');
  const instAdd = db.prepare(
    'INSERT INTO installed (model, version, sha256, size, path, manifest, installed_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(model, version) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, path = excluded.path, manifest = excluded.manifest',
  );
  const instDel = db.prepare('DELETE FROM installed WHERE model = ? AND version = ?');
  const ptrGet = db.prepare('SELECT active, previous FROM pointers WHERE model = ?');
  const ptrAll = db.prepare('SELECT model, active, previous FROM pointers');
  const ptrSet = db.prepare(
    'INSERT INTO pointers (model, active, previous, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(model) DO UPDATE SET active = excluded.active, previous = excluded.previous, updated_at = excluded.updated_at',
  );
  const ptrDel = db.prepare('DELETE FROM pointers WHERE model = ?');
  const dlGet = db.prepare('SELECT * FROM downloads WHERE sha256 = ?');
  const dlAll = db.prepare('SELECT * FROM downloads');
  const dlAdd = db.prepare('INSERT INTO downloads (sha256, model, version, size, chunk_bytes, path, complete) VALUES (?, ?, ?, ?, ?, ?, 0)');
  const dlComplete = db.prepare('UPDATE downloads SET complete = 1 WHERE sha256 = ?');
  const dlDel = db.prepare('DELETE FROM downloads WHERE sha256 = ?');
  const chunkAdd = db.prepare('INSERT OR IGNORE INTO download_chunks (sha256, idx) VALUES (?, ?)');
  const chunkAll = db.prepare('SELECT idx FROM download_chunks WHERE sha256 = ?');
  const chunkDel = db.prepare('DELETE FROM download_chunks WHERE sha256 = ?');
  const failSet = db.prepare(
    'INSERT INTO failures (model, version, sha256, generation, code, message, details, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(model, version, sha256) DO UPDATE SET generation = excluded.generation, code = excluded.code, message = excluded.message, details = excluded.details, at = excluded.at',
  );
  const failGet = db.prepare('SELECT * FROM failures WHERE model = ? AND version = ? AND sha256 = ?');
  const failDel = db.prepare('DELETE FROM failures WHERE model = ? AND version = ? AND sha256 = ?');

  type InstRow = { model: string; version: string; sha256: string; size: number; path: string; installed_at: string };
  const toInst = (r: InstRow): InstalledVersion => ({ model: r.model, version: r.version, sha256: r.sha256, size: r.size, path: r.path, installedAt: r.installed_at });
  type DlRow = { sha256: string; model: string; version: string; size: number; chunk_bytes: number; path: string; complete: number };
  const toDl = (r: DlRow): DownloadRecord => ({ sha256: r.sha256, model: r.model, version: r.version, size: r.size, chunkBytes: r.chunk_bytes, path: r.path, complete: r.complete === 1 });
  const ptr = (r: { active: string | null; previous: string | null } | undefined): Pointers => ({
    ...(r?.active ? { active: r.active } : {}),
    ...(r?.previous ? { previous: r.previous } : {}),
  });

  return {
    getDesired() {
      const row = kvGet.get('desired') as { value: string } | undefined;
      if (!row) return undefined;
      const parsed = desiredStateSchema.safeParse(JSON.parse(row.value));
      return parsed.success ? parsed.data : undefined;
    },
    setDesired: (desired) => void kvSet.run('desired', JSON.stringify(desired)),
    getNumber(key) {
      const row = kvGet.get(key) as { value: string } | undefined;
      return row ? Number(row.value) : undefined;
    },
    setNumber: (key, value) => void kvSet.run(key, String(value)),

    listInstalled: (model) => ((model === undefined ? instAll.all() : instModel.all(model)) as InstRow[]).map(toInst),
    addInstalled: (v, manifest) => void instAdd.run(v.model, v.version, v.sha256, v.size, v.path, JSON.stringify(manifest), v.installedAt),
    removeInstalled: (model, version) => void instDel.run(model, version),

    pointers: (model) => ptr(ptrGet.get(model) as { active: string | null; previous: string | null } | undefined),
    allPointers() {
      const map = new Map<string, Pointers>();
      for (const r of ptrAll.all() as { model: string; active: string | null; previous: string | null }[]) map.set(r.model, ptr(r));
      return map;
    },
    setPointers: (model, p) => void ptrSet.run(model, p.active ?? null, p.previous ?? null, new Date().toISOString()),
    deletePointers: (model) => void ptrDel.run(model),

    getDownload(sha256) {
      const r = dlGet.get(sha256) as DlRow | undefined;
      return r ? toDl(r) : undefined;
    },
    startDownload: (d) => void dlAdd.run(d.sha256, d.model, d.version, d.size, d.chunkBytes, d.path),
    markChunk: (sha256, idx) => void chunkAdd.run(sha256, idx),
    markChunks: db.transaction((sha256: string, idxs: readonly number[]) => {
      for (const idx of idxs) chunkAdd.run(sha256, idx);
    }),
    doneChunks: (sha256) => new Set((chunkAll.all(sha256) as { idx: number }[]).map((r) => r.idx)),
    completeDownload: (sha256) => void dlComplete.run(sha256),
    deleteDownload: db.transaction((sha256: string) => {
      chunkDel.run(sha256);
      dlDel.run(sha256);
    }),
    listDownloads: () => (dlAll.all() as DlRow[]).map(toDl),

    recordFailure: (f) => void failSet.run(f.model, f.version, f.sha256, f.generation, f.error.code, f.error.message, f.error.details ? JSON.stringify(f.error.details) : null, f.at),
    failure(model, version, sha256) {
      const r = failGet.get(model, version, sha256) as
        | { model: string; version: string; sha256: string; generation: number; code: string; message: string; details: string | null; at: string }
        | undefined;
      if (!r) return undefined;
      return {
        model: r.model,
        version: r.version,
        sha256: r.sha256,
        generation: r.generation,
        error: { code: r.code as ErrorInfo['code'], message: r.message, ...(r.details ? { details: JSON.parse(r.details) as Record<string, unknown> } : {}) },
        at: r.at,
      };
    },
    clearFailure: (model, version, sha256) => void failDel.run(model, version, sha256),
  };
}
