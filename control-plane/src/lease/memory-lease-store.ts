import { EdgefleetError } from '@edgefleet/shared';
import type { AcquireResult, LeaseStore } from './lease-store.js';

/**
 * The lease row in memory with an injected store clock: the fake the state machine's unit tests
 * run against. It follows the PostgreSQL store's rules (test/integration/lease-postgres.test.ts
 * runs the same cases against the real one), except that fenced() does not hold a lock.
 */
export function createMemoryLeaseStore(now: () => number): LeaseStore & { row(): { holder: string; token: number; expiresAt: number } | undefined } {
  let row: { holder: string; token: number; expiresAt: number } | undefined;
  const current = (holder: string, token: number): boolean => row !== undefined && row.holder === holder && row.token === token && row.expiresAt > now();
  return {
    row: () => (row ? { ...row } : undefined),
    async acquire(holder, ttlMs): Promise<AcquireResult> {
      if (!row || row.expiresAt <= now() || row.holder === holder) {
        row = { holder, token: (row?.token ?? 0) + 1, expiresAt: now() + ttlMs };
        return { held: true, token: row.token };
      }
      return { held: false, holder: row.holder, token: row.token, remainingMs: row.expiresAt - now() };
    },
    async renew(holder, token, ttlMs) {
      if (!current(holder, token)) return false;
      row!.expiresAt = now() + ttlMs;
      return true;
    },
    async release(holder, token) {
      if (row && row.holder === holder && row.token === token) row.expiresAt = now();
    },
    async fenced(holder, token, fn) {
      if (!current(holder, token)) throw new EdgefleetError('LEASE_LOST', `lease term ${token} of ${holder} is over`);
      return await fn();
    },
  };
}
