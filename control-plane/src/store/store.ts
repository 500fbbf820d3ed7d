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
 * The control plane's persistence. Core repositories are typed; each plugin owns its tables
 * (`migrate(namespace, steps)`) behind its own repository module built over `sql` (portable SQL,
 * `?` placeholders), so the same code runs on SQLite and PostgreSQL.
 *
 * `transaction(fn)` is the unit of work: every repository call awaited inside `fn` — core or a
 * plugin's, on this store — is part of it (AsyncLocalStorage, see unit-of-work.ts), so
 * `store.transaction(async () => { await store.models.insert(m); await store.audit.append(e); })`
 * commits both or neither without a handle passed down. Calls from elsewhere never join it.
 */
export interface Store {
  readonly sql: SqlDatabase;
  readonly devices: DeviceRepository;
  readonly models: ModelRepository;
  readonly tokens: TokenRepository;
  readonly audit: AuditRepository;
  readonly desired: DesiredStateRepository;
  transaction<T>(fn: (store: Store) => Promise<T>): Promise<T>;
  migrate(namespace: string, steps: readonly string[]): Promise<void>;
  /** A plugin's tables: applies its namespace's migrations and returns the database its repository module uses. */
  tables(namespace: string, steps: readonly string[]): Promise<SqlDatabase>;
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
  const store: Store = {
    sql,
    devices: createDeviceRepository(sql),
    models: createModelRepository(sql),
    tokens: createTokenRepository(sql),
    audit: createAuditRepository(sql),
    desired: createDesiredStateRepository(sql),
    transaction: (fn) => sql.transaction(() => fn(store)),
    migrate: (namespace, steps) => migrate(sql, namespace, steps),
    async tables(namespace, steps) {
      await migrate(sql, namespace, steps);
      return sql;
    },
    close: () => sql.close(),
  };
  return store;
}

/** The driver's SqlDatabase alone, without migrations (tools and tests that manage databases). */
export async function openSqlDatabase(options: StoreOptions): Promise<SqlDatabase> {
  if (options.driver === 'postgres') {
    if (!options.url) throw new EdgefleetError('CONFIG_INVALID', 'store.url is required for the postgres driver');
    // Loaded on demand: SQLite-only installs never load pg.
    const { createPostgresDatabase } = await import('./postgres-database.js');
    return await createPostgresDatabase(options.url);
  }
  return createSqliteDatabase(options.url ?? join(options.dataDir, 'control-plane.db'));
}

export async function createStore(options: StoreOptions): Promise<Store> {
  const sql = await openSqlDatabase(options);
  try {
    return await createStoreFromDatabase(sql);
  } catch (err) {
    await sql.close().catch(() => undefined);
    throw err;
  }
}
