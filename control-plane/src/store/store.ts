import { join } from 'node:path';
import { EdgefleetError } from '@edgefleet/shared';
import { CORE_MIGRATIONS, migrate } from './migrations.js';
import {
  createAuditRepository,
  createDesiredStateRepository,
  createDeviceRepository,
  createModelRepository,
  createTokenRepository,
  type AuditRepository,
  type DesiredStateRepository,
  type DeviceRepository,
  type ModelRepository,
  type TokenRepository,
} from './repositories.js';
import type { SqlDatabase } from './sql-database.js';
import { createSqliteDatabase } from './sqlite-database.js';

/**
 * The control plane's persistence. Core repositories are typed; other concerns (telemetry, rollouts)
 * add their own tables with `migrate(namespace, steps)` and query them through `sql` (portable SQL,
 * `?` placeholders), so the same code runs on SQLite and PostgreSQL.
 */
export interface Store {
  readonly sql: SqlDatabase;
  readonly devices: DeviceRepository;
  readonly models: ModelRepository;
  readonly tokens: TokenRepository;
  readonly audit: AuditRepository;
  readonly desired: DesiredStateRepository;
  migrate(namespace: string, steps: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export interface StoreOptions {
  driver: 'sqlite' | 'postgres';
  /** SQLite: DIR/control-plane.db. */
  dataDir: string;
  /** PostgreSQL connection URL (required for driver postgres). */
  url?: string | undefined;
}

export async function createStoreFromDatabase(sql: SqlDatabase): Promise<Store> {
  await migrate(sql, 'core', CORE_MIGRATIONS);
  return {
    sql,
    devices: createDeviceRepository(sql),
    models: createModelRepository(sql),
    tokens: createTokenRepository(sql),
    audit: createAuditRepository(sql),
    desired: createDesiredStateRepository(sql),
    migrate: (namespace, steps) => migrate(sql, namespace, steps),
    close: () => sql.close(),
  };
}

export async function createStore(options: StoreOptions): Promise<Store> {
  let sql: SqlDatabase;
  if (options.driver === 'postgres') {
    if (!options.url) throw new EdgefleetError('CONFIG_INVALID', 'store.url is required for the postgres driver');
    // Loaded on demand: SQLite-only installs never load pg.
    const { createPostgresDatabase } = await import('./postgres-database.js');
    sql = await createPostgresDatabase(options.url);
  } else {
    sql = createSqliteDatabase(options.url ?? join(options.dataDir, 'control-plane.db'));
  }
  try {
    return await createStoreFromDatabase(sql);
  } catch (err) {
    await sql.close().catch(() => undefined);
    throw err;
  }
}
