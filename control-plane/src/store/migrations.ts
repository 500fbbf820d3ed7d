import type { SqlDatabase } from './sql-database.js';

/**
 * Applies numbered migrations per namespace (`core`, `telemetry`, `rollout`, …) so each concern
 * owns its tables. Each step runs in its own transaction; applied steps are never edited, only appended.
 */
export async function migrate(db: SqlDatabase, namespace: string, steps: readonly string[]): Promise<void> {
  await db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (namespace TEXT NOT NULL, version BIGINT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (namespace, version))');
  const row = await db.get<{ v: number | string | null }>('SELECT MAX(version) AS v FROM schema_migrations WHERE namespace = ?', [namespace]);
  const current = row?.v === null || row?.v === undefined ? 0 : Number(row.v);
  for (let version = current + 1; version <= steps.length; version++) {
    const sql = steps[version - 1] as string;
    await db.transaction(async (tx) => {
      await tx.exec(sql);
      await tx.run('INSERT INTO schema_migrations (namespace, version, applied_at) VALUES (?, ?, ?)', [namespace, version, new Date().toISOString()]);
    });
  }
}

/** The control-plane core tables. Portable SQL only (see sql-database.ts). */
export const CORE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE devices (
     id TEXT PRIMARY KEY,
     secret_hash TEXT NOT NULL,
     tags TEXT NOT NULL,
     created_at TEXT NOT NULL,
     status TEXT NOT NULL,
     last_seen TEXT,
     agent_version TEXT,
     reported TEXT,
     reported_at TEXT
   );
   CREATE TABLE model_versions (
     name TEXT NOT NULL,
     version TEXT NOT NULL,
     sha256 TEXT NOT NULL,
     size BIGINT NOT NULL,
     created_at TEXT NOT NULL,
     signature TEXT NOT NULL,
     labels TEXT NOT NULL,
     notes TEXT,
     source TEXT,
     pushed_by TEXT NOT NULL,
     inspection TEXT NOT NULL,
     golden_sha256 TEXT,
     golden_size BIGINT,
     PRIMARY KEY (name, version)
   );
   CREATE INDEX model_versions_sha256 ON model_versions (sha256);
   CREATE TABLE api_tokens (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     role TEXT NOT NULL,
     token_hash TEXT NOT NULL UNIQUE,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL,
     revoked_at TEXT,
     last_used_at TEXT
   );
   CREATE TABLE audit_log (
     id TEXT PRIMARY KEY,
     at TEXT NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     target TEXT,
     status BIGINT NOT NULL,
     outcome TEXT NOT NULL,
     details TEXT
   );
   CREATE INDEX audit_log_at ON audit_log (at);
   CREATE TABLE desired_states (
     device_id TEXT PRIMARY KEY,
     generation BIGINT NOT NULL,
     state TEXT NOT NULL,
     updated_at TEXT NOT NULL
   )`,
];
