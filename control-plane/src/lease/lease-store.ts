/**
 * The persistence port of the singleton lease (issue 16). One row per lease name: the holder's
 * replica id, a fencing token that grows by one with every new term, and an expiry judged by the
 * store's own clock, so replicas whose clocks disagree still agree on who holds it.
 */
export type AcquireResult =
  | { held: true; token: number }
  /** Someone else holds an unexpired term; it ends in `remainingMs` unless renewed. */
  | { held: false; holder: string; token: number; remainingMs: number };

export interface LeaseStore {
  /** Starts a new term (token + 1) when the lease is free, expired, or was this holder's (a restarted replica). */
  acquire(holder: string, ttlMs: number): Promise<AcquireResult>;
  /** Extends the current term; false when it is over (expired or taken over). */
  renew(holder: string, token: number, ttlMs: number): Promise<boolean>;
  /** Ends the term now so another replica takes over without waiting for the TTL (graceful stop). */
  release(holder: string, token: number): Promise<void>;
  /**
   * Runs `fn` in a store transaction that first locks the lease row and checks that `token` is
   * still the current, unexpired term of `holder`; throws EdgefleetError('LEASE_LOST') otherwise.
   * A takeover waits on the lock, so no new term starts while `fn` runs.
   */
  fenced<T>(holder: string, token: number, fn: () => Promise<T>): Promise<T>;
}
