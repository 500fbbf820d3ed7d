import Database from 'better-sqlite3';
import { EdgefleetError } from '@edgefleet/shared';
import type { SqlDatabase, SqlValue } from './sql-database.js';

function wrap<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    throw new EdgefleetError('STORE_FAILED', `sqlite ${what} failed: ${(cause as Error).message}`, { cause });
  }
}

/**
 * better-sqlite3 behind the async SqlDatabase port. Transactions are serialised by a promise
 * chain because better-sqlite3 is one connection: two interleaved async transactions would share it.
 */
export function createSqliteDatabase(file: string): SqlDatabase {
  const db = wrap('open', () => new Database(file));
  // WAL lets readers (API) run beside the writer (MQTT ingestion); NORMAL keeps per-report writes
  // cheap — a power cut may lose the last reported state, which the device re-sends (retained).
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let stmt = statements.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      if (statements.size > 500) statements.clear();
      statements.set(sql, stmt);
    }
    return stmt;
  };
  let txChain: Promise<unknown> = Promise.resolve();
  let inTransaction = false;

  const api: SqlDatabase = {
    dialect: 'sqlite',
    async exec(sql) {
      wrap('exec', () => db.exec(sql));
    },
    async run(sql, params: readonly SqlValue[] = []) {
      return wrap('run', () => ({ changes: prepare(sql).run(...params).changes }));
    },
    async all<T>(sql: string, params: readonly SqlValue[] = []) {
      return wrap('query', () => prepare(sql).all(...params) as T[]);
    },
    async get<T>(sql: string, params: readonly SqlValue[] = []) {
      return wrap('query', () => prepare(sql).get(...params) as T | undefined);
    },
    async transaction<T>(fn: (tx: SqlDatabase) => Promise<T>): Promise<T> {
      if (inTransaction) return await fn(api);
      const result = txChain.then(async () => {
        inTransaction = true;
        wrap('begin', () => db.exec('BEGIN IMMEDIATE'));
        try {
          const value = await fn(api);
          wrap('commit', () => db.exec('COMMIT'));
          return value;
        } catch (err) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw err;
        } finally {
          inTransaction = false;
        }
      });
      txChain = result.catch(() => undefined);
      return await result;
    },
    async close() {
      await txChain;
      if (db.open) db.close();
    },
  };
  return api;
}
