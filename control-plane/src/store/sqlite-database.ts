import Database from 'better-sqlite3';
import { EdgefleetError } from '@edgefleet/shared';
import type { SqlDatabase, SqlValue } from './sql-database.js';
import { createUnitOfWork } from './unit-of-work.js';

function wrap<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    throw new EdgefleetError('STORE_FAILED', `sqlite ${what} failed: ${(cause as Error).message}`, { cause });
  }
}

/**
 * better-sqlite3 behind the async SqlDatabase port. It is one connection, so a transaction holds
 * it from BEGIN to COMMIT: other transactions queue behind it, and a plain statement from outside
 * the transaction's async context (unit-of-work.ts) waits for it too — run at once, it would be
 * part of the open transaction (and read its uncommitted rows, and vanish with its rollback).
 * With no transaction open or queued a statement runs immediately, as before.
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

  // The connection's owner: a queue of transactions (and outside statements waiting for them).
  let tail: Promise<void> = Promise.resolve();
  let holders = 0;
  const acquire = async (): Promise<() => void> => {
    holders++;
    let release!: () => void;
    const previous = tail;
    tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    return () => {
      holders--;
      release();
    };
  };

  // The "connection" a transaction holds is its place in the queue: releasing it lets the next run.
  const uow = createUnitOfWork<() => void>({
    async begin() {
      const release = await acquire();
      try {
        wrap('begin', () => db.exec('BEGIN IMMEDIATE'));
      } catch (err) {
        release();
        throw err;
      }
      return release;
    },
    async end(release, outcome) {
      try {
        if (outcome === 'committed') {
          try {
            wrap('commit', () => db.exec('COMMIT'));
          } catch (err) {
            if (db.inTransaction) db.exec('ROLLBACK');
            throw err;
          }
        } else if (db.inTransaction) {
          db.exec('ROLLBACK');
        }
      } finally {
        release();
      }
    },
  });
  /** Inside the caller's transaction, or with nothing open or queued: now. Otherwise after them. */
  const statement = async <T>(fn: () => T): Promise<T> => {
    if (uow.current() || holders === 0) return fn();
    const release = await acquire();
    try {
      return fn();
    } finally {
      release();
    }
  };

  const api: SqlDatabase = {
    dialect: 'sqlite',
    exec: (sql) => statement(() => wrap('exec', () => void db.exec(sql))),
    run: (sql, params: readonly SqlValue[] = []) => statement(() => wrap('run', () => ({ changes: prepare(sql).run(...params).changes }))),
    all: <T>(sql: string, params: readonly SqlValue[] = []) => statement(() => wrap('query', () => prepare(sql).all(...params) as T[])),
    get: <T>(sql: string, params: readonly SqlValue[] = []) => statement(() => wrap('query', () => prepare(sql).get(...params) as T | undefined)),
    transaction: (fn) => uow.transaction(() => fn(api)),
    inTransaction: () => uow.current() !== undefined,
    afterTransaction: (fn) => uow.afterTransaction(fn),
    async close() {
      await statement(() => {
        if (db.open) db.close();
      });
    },
  };
  return api;
}
