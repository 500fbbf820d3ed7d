import pg from 'pg';
import { EdgefleetError } from '@edgefleet/shared';
import type { SqlDatabase, SqlValue } from './sql-database.js';

/** `?` → `$1, $2, …` (our statements never put `?` inside string literals). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function fail(what: string, cause: unknown): never {
  throw new EdgefleetError('STORE_FAILED', `postgres ${what} failed: ${(cause as Error).message}`, { cause });
}

type Queryable = pg.Pool | pg.PoolClient;

function adapter(q: Queryable, pool: pg.Pool, inTx: boolean): SqlDatabase {
  const query = async (sql: string, params: readonly SqlValue[] = []): Promise<pg.QueryResult> => {
    try {
      return await q.query(numbered(sql), params as unknown[]);
    } catch (cause) {
      return fail('query', cause);
    }
  };
  const self: SqlDatabase = {
    dialect: 'postgres',
    async exec(sql) {
      try {
        await q.query(sql);
      } catch (cause) {
        fail('exec', cause);
      }
    },
    async run(sql, params) {
      return { changes: (await query(sql, params)).rowCount ?? 0 };
    },
    async all<T>(sql: string, params?: readonly SqlValue[]) {
      return (await query(sql, params)).rows as T[];
    },
    async get<T>(sql: string, params?: readonly SqlValue[]) {
      return (await query(sql, params)).rows[0] as T | undefined;
    },
    async transaction<T>(fn: (tx: SqlDatabase) => Promise<T>): Promise<T> {
      if (inTx) return await fn(self);
      const client = await pool.connect().catch((cause: unknown) => fail('connect', cause));
      // The server may end a session that sits idle inside a transaction (the lease's stalled-holder
      // timeout); a checked-out client has no pool listener, and an unheard 'error' ends the process.
      // The failure reaches the caller through its next statement or COMMIT instead.
      let broken: Error | undefined;
      const onError = (err: Error): void => {
        broken = err;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const value = await fn(adapter(client, pool, true));
        await client.query('COMMIT').catch((cause: unknown) => fail('commit', cause));
        return value;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.removeListener('error', onError);
        client.release(broken);
      }
    },
    async close() {
      if (!inTx) await pool.end();
    },
  };
  return self;
}

/** PostgreSQL behind the same port, for fleets that outgrow one SQLite file. */
export async function createPostgresDatabase(url: string): Promise<SqlDatabase> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  try {
    await pool.query('SELECT 1');
  } catch (cause) {
    await pool.end().catch(() => undefined);
    fail(`connect to ${url.replace(/\/\/[^@]*@/, '//***@')}`, cause);
  }
  return adapter(pool, pool, false);
}
