import pg from 'pg';
import { EdgefleetError } from '@edgefleet/shared';
import type { SqlDatabase, SqlValue } from './sql-database.js';
import { createUnitOfWork } from './unit-of-work.js';

/** `?` → `$1, $2, …` (our statements never put `?` inside string literals). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function fail(what: string, cause: unknown): never {
  throw new EdgefleetError('STORE_FAILED', `postgres ${what} failed: ${(cause as Error).message}`, { cause });
}

/**
 * PostgreSQL behind the same port, for fleets that outgrow one SQLite file. A transaction is one
 * pooled client from BEGIN to COMMIT; statements from inside its async context (unit-of-work.ts)
 * go to that client, all others to the pool, so concurrent transactions are PostgreSQL's to
 * isolate (READ COMMITTED; repositories lock the rows they read-modify-write).
 */
export async function createPostgresDatabase(url: string): Promise<SqlDatabase> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle pooled client the server ends (a restart, pg_terminate_backend, a dropped database)
  // emits 'error' on the pool; unheard it would end the process. The pool discards that client and
  // the next statement connects afresh, so there is nothing else to do here.
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (cause) {
    await pool.end().catch(() => undefined);
    fail(`connect to ${url.replace(/\/\/[^@]*@/, '//***@')}`, cause);
  }

  // A checked-out client has no pool listener, and an unheard 'error' (the server ending a session
  // that sat idle inside a transaction, a dropped connection) would end the process: it is heard
  // here, reaches the caller through its next statement or COMMIT, and the client is discarded.
  interface Held {
    client: pg.PoolClient;
    broken?: Error;
    onError: (err: Error) => void;
  }
  const giveBack = (held: Held): void => {
    held.client.removeListener('error', held.onError);
    held.client.release(held.broken);
  };
  const uow = createUnitOfWork<Held>({
    async begin() {
      const client = await pool.connect().catch((cause: unknown) => fail('connect', cause));
      const held: Held = {
        client,
        onError: (err) => {
          held.broken = err;
        },
      };
      client.on('error', held.onError);
      try {
        await client.query('BEGIN');
      } catch (cause) {
        held.broken ??= cause as Error;
        giveBack(held);
        fail('begin', cause);
      }
      return held;
    },
    async end(held, outcome) {
      try {
        if (outcome === 'committed') {
          try {
            await held.client.query('COMMIT');
            return;
          } catch (cause) {
            await held.client.query('ROLLBACK').catch(() => undefined);
            fail('commit', cause);
          }
        }
        try {
          await held.client.query('ROLLBACK');
        } catch (cause) {
          // A client that cannot roll back is broken: the pool discards it instead of reusing it.
          held.broken ??= cause as Error;
        }
      } finally {
        giveBack(held);
      }
    },
  });

  const query = async (sql: string, params: readonly SqlValue[] = []): Promise<pg.QueryResult> => {
    try {
      return await (uow.current()?.client ?? pool).query(numbered(sql), params as unknown[]);
    } catch (cause) {
      return fail('query', cause);
    }
  };

  const api: SqlDatabase = {
    dialect: 'postgres',
    async exec(sql) {
      try {
        // No parameters: the simple protocol, which takes several statements at once.
        await (uow.current()?.client ?? pool).query(sql);
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
    transaction: (fn) => uow.transaction(() => fn(api)),
    inTransaction: () => uow.current() !== undefined,
    afterTransaction: (fn) => uow.afterTransaction(fn),
    async close() {
      await pool.end();
    },
  };
  return api;
}
