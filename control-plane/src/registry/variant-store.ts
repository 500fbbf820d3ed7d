import { variantRecordSchema, type VariantKind, type VariantRecord } from '@edgefleet/shared';
import type { SqlDatabase } from '../store/sql-database.js';

/** The variants' own table (namespace `variants`), beside the core model_versions it refers to. */
export const VARIANT_MIGRATIONS: readonly string[] = [
  `CREATE TABLE model_variants (
     name TEXT NOT NULL,
     version TEXT NOT NULL,
     kind TEXT NOT NULL,
     sha256 TEXT NOT NULL,
     status TEXT NOT NULL,
     created_at TEXT NOT NULL,
     record TEXT NOT NULL,
     PRIMARY KEY (name, version, kind)
   );
   CREATE INDEX model_variants_sha256 ON model_variants (sha256)`,
];

export interface VariantStore {
  /** False when name@version already has a variant of that kind (variants are immutable). */
  insert(record: VariantRecord): Promise<boolean>;
  list(name: string, version: string): Promise<VariantRecord[]>;
  get(name: string, version: string, kind: VariantKind): Promise<VariantRecord | undefined>;
  hasArtifact(sha256: string): Promise<boolean>;
}

export function createVariantStore(sql: SqlDatabase): VariantStore {
  const parse = (row: { record: string }): VariantRecord => variantRecordSchema.parse(JSON.parse(row.record));
  return {
    async insert(r) {
      const { changes } = await sql.run(
        'INSERT INTO model_variants (name, version, kind, sha256, status, created_at, record) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name, version, kind) DO NOTHING',
        [r.name, r.version, r.kind, r.sha256, r.status, r.createdAt, JSON.stringify(r)],
      );
      return changes === 1;
    },
    async list(name, version) {
      const rows = await sql.all<{ record: string }>('SELECT record FROM model_variants WHERE name = ? AND version = ? ORDER BY kind', [name, version]);
      return rows.map(parse);
    },
    async get(name, version, kind) {
      const row = await sql.get<{ record: string }>('SELECT record FROM model_variants WHERE name = ? AND version = ? AND kind = ?', [name, version, kind]);
      return row ? parse(row) : undefined;
    },
    async hasArtifact(sha256) {
      return (await sql.get('SELECT 1 AS x FROM model_variants WHERE sha256 = ?', [sha256])) !== undefined;
    },
  };
}
