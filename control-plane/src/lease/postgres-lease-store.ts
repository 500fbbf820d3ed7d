import { EdgefleetError } from '@edgefleet/shared';
import type { SqlDatabase } from '../store/sql-database.js';
import type { AcquireResult, LeaseStore } from './lease-store.js';

/** The `lease` namespace's tables (PostgreSQL only: on SQLite one process always leads). */
export const LEASE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE leases (
     name TEXT PRIMARY KEY,
     holder TEXT NOT NULL,
     token BIGINT NOT NULL,
     expires_at TIMESTAMPTZ NOT NULL
   )`,
];

// Every expiry is computed and compared with the database's now(), never a replica's clock.
const EXPIRY = `now() + ?::float8 * interval '1 millisecond'`;

/**
 * The lease row in PostgreSQL. Acquire is one INSERT … ON CONFLICT DO UPDATE … WHERE expired OR
 * mine, so two replicas racing for a free lease serialise on the row and exactly one gets the new
 * token. fenced() locks the row FOR SHARE: fenced work of the same holder runs side by side, and a
 * takeover (an UPDATE) waits for it to commit.
 */
export interface PostgresLeaseStoreOptions {
  name: string;
  /**
   * A fenced transaction left open this long without a statement is ended by the server
   * (idle_in_transaction_session_timeout): a holder frozen inside one (SIGSTOP, a VM pause) would
   * otherwise keep its row lock, and every takeover waiting on it, for as long as it is frozen.
   * Use the lease TTL.
   */
  stalledTransactionTimeoutMs: number;
}

export function createPostgresLeaseStore(sql: SqlDatabase, options: PostgresLeaseStoreOptions): LeaseStore {
  const { name } = options;
  const stalledMs = Math.max(1, Math.round(options.stalledTransactionTimeoutMs));
  if (sql.dialect !== 'postgres') throw new EdgefleetError('CONFIG_INVALID', 'the PostgreSQL lease needs the postgres store driver');
  return {
    async acquire(holder, ttlMs): Promise<AcquireResult> {
      const taken = await sql.get<{ token: string | number }>(
        `INSERT INTO leases (name, holder, token, expires_at) VALUES (?, ?, 1, ${EXPIRY})
         ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, token = leases.token + 1, expires_at = EXCLUDED.expires_at
         WHERE leases.expires_at <= now() OR leases.holder = EXCLUDED.holder
         RETURNING token`,
        [name, holder, ttlMs],
      );
      if (taken) return { held: true, token: Number(taken.token) };
      const row = await sql.get<{ holder: string; token: string | number; remaining_ms: string | number }>(
        'SELECT holder, token, GREATEST(0, EXTRACT(EPOCH FROM (expires_at - now())) * 1000)::float8 AS remaining_ms FROM leases WHERE name = ?',
        [name],
      );
      // Deleted between the two statements (only by hand): the next attempt inserts it.
      if (!row) return { held: false, holder: '', token: 0, remainingMs: 0 };
      return { held: false, holder: row.holder, token: Number(row.token), remainingMs: Number(row.remaining_ms) };
    },
    async renew(holder, token, ttlMs) {
      const { changes } = await sql.run(`UPDATE leases SET expires_at = ${EXPIRY} WHERE name = ? AND holder = ? AND token = ? AND expires_at > now()`, [ttlMs, name, holder, token]);
      return changes === 1;
    },
    async release(holder, token) {
      await sql.run('UPDATE leases SET expires_at = now() WHERE name = ? AND holder = ? AND token = ?', [name, holder, token]);
    },
    async fenced(holder, token, fn) {
      return await sql.transaction(async (tx) => {
        // The stalled-holder timeout is set in the same round trip as the check (set_config(…, true) is SET LOCAL).
        const row = await tx.get(
          "SELECT token, set_config('idle_in_transaction_session_timeout', ?, true) FROM leases WHERE name = ? AND holder = ? AND token = ? AND expires_at > now() FOR SHARE",
          [String(stalledMs), name, holder, token],
        );
        if (!row) throw new EdgefleetError('LEASE_LOST', `lease ${name}: term ${token} of ${holder} is over (expired or taken over)`);
        return await fn();
      });
    },
  };
}
