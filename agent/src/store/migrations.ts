import type Database from 'better-sqlite3';
import { EdgefleetError } from '@edgefleet/shared';

/**
 * Versioned schema migrations, applied in order inside one transaction each; `PRAGMA user_version`
 * records the last applied one. Never edit a shipped migration: append a new one.
 */
export interface Migration {
  version: number;
  description: string;
  up: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'desired state, installed versions, pointers, downloads, failures, deployment outbox',
    up: `
      CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE installed (
        model TEXT NOT NULL, version TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
        path TEXT NOT NULL, manifest TEXT NOT NULL, installed_at TEXT NOT NULL,
        PRIMARY KEY (model, version)
      );
      CREATE TABLE pointers (model TEXT PRIMARY KEY, active TEXT, previous TEXT, updated_at TEXT NOT NULL);
      CREATE TABLE downloads (
        sha256 TEXT PRIMARY KEY, model TEXT NOT NULL, version TEXT NOT NULL, size INTEGER NOT NULL,
        chunk_bytes INTEGER NOT NULL, path TEXT NOT NULL, complete INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE download_chunks (sha256 TEXT NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY (sha256, idx)) WITHOUT ROWID;
      CREATE TABLE failures (
        model TEXT NOT NULL, version TEXT NOT NULL, sha256 TEXT NOT NULL, generation INTEGER NOT NULL,
        code TEXT NOT NULL, message TEXT NOT NULL, details TEXT, at TEXT NOT NULL,
        PRIMARY KEY (model, version, sha256)
      );
      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, payload BLOB NOT NULL,
        qos INTEGER NOT NULL, kind TEXT NOT NULL, created_at TEXT NOT NULL
      );
    `,
  },
];

export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new EdgefleetError('STORE_FAILED', `state.db schema version ${current} is newer than this agent knows (${latest}); refusing to downgrade`);
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    try {
      db.transaction(() => {
        db.exec(m.up);
        db.pragma(`user_version = ${m.version}`);
      })();
    } catch (cause) {
      throw new EdgefleetError('STORE_FAILED', `migration ${m.version} (${m.description}) failed`, { cause });
    }
  }
  return latest;
}
