import { AsyncLocalStorage } from 'node:async_hooks';
import type { TransactionOutcome } from './sql-database.js';

/**
 * The one unit-of-work mechanism both drivers use (issue 16). A transaction is a scope in
 * AsyncLocalStorage: everything awaited inside `transaction(fn)` — repositories included, without
 * a handle threaded through every call — sees the scope and runs on its connection; everything
 * else sees none. A process-wide "in a transaction" flag, as before, let an unrelated caller's
 * writes land in whichever transaction happened to be open and commit or roll back with it.
 * The scope closes when the transaction ends, so work that outlives it (a timer started inside)
 * is outside again.
 */
export interface UnitOfWorkDriver<C> {
  /** Takes a connection and starts a transaction on it (SQLite: waits for the single connection). */
  begin(): Promise<C>;
  /** Commits (or rolls back) and gives the connection back; a failed commit rolls back and throws. */
  end(connection: C, outcome: TransactionOutcome): Promise<void>;
}

interface Scope<C> {
  readonly connection: C;
  open: boolean;
  readonly after: ((outcome: TransactionOutcome) => void)[];
}

export interface UnitOfWork<C> {
  /** The open transaction's connection when called from inside one, else undefined. */
  current(): C | undefined;
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  afterTransaction(fn: (outcome: TransactionOutcome) => void): void;
}

export function createUnitOfWork<C>(driver: UnitOfWorkDriver<C>): UnitOfWork<C> {
  const als = new AsyncLocalStorage<Scope<C>>();
  const active = (): Scope<C> | undefined => {
    const scope = als.getStore();
    return scope?.open ? scope : undefined;
  };
  return {
    current: () => active()?.connection,
    async transaction<T>(fn: () => Promise<T>): Promise<T> {
      if (active()) return await fn();
      const scope: Scope<C> = { connection: await driver.begin(), open: true, after: [] };
      let value: T;
      try {
        value = await als.run(scope, fn);
      } catch (err) {
        scope.open = false;
        await driver.end(scope.connection, 'rolled-back');
        for (const f of scope.after) f('rolled-back');
        throw err;
      }
      scope.open = false;
      try {
        await driver.end(scope.connection, 'committed');
      } catch (err) {
        for (const f of scope.after) f('rolled-back');
        throw err;
      }
      for (const f of scope.after) f('committed');
      return value;
    },
    afterTransaction(fn) {
      const scope = active();
      if (scope) scope.after.push(fn);
      else fn('committed');
    },
  };
}
