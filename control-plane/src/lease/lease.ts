/**
 * The singleton lease (issue 16): of all control-plane replicas on one PostgreSQL, only the one
 * holding the lease runs the singleton work (rollout engine passes, schedules, retention, the
 * desired-state republish after a broker reconnect). Every term has a fencing token; singleton
 * writes go through fenced(), which refuses them once the term is over.
 *
 * A holder trusts its term only until sentAt + ttl of its last successful renewal, measured on the
 * monotonic clock (the store's expiry is later than that, since the store computed it after the
 * request left). A process frozen past that point (SIGSTOP, a VM pause) finds its term lapsed on
 * wake, before it can act: isLeader(), assertHeld() and fenced() all check it synchronously.
 *
 * @example
 *   const lease = createLease({ replicaId: 'cp-1', ttlMs: 10_000, store: createPostgresLeaseStore(sql, { name: 'singleton', stalledTransactionTimeoutMs: 10_000 }) });
 *   lease.onChange(({ leader }) => log(leader ? 'leading' : 'standing by'));
 *   await lease.start();
 *   await lease.fenced(() => engine.pass());  // LEASE_LOST once another replica took over
 *   await lease.stop();                        // releases the term: the next replica takes over at once
 */
import { EdgefleetError } from '@edgefleet/shared';
import type { LeaseStore } from './lease-store.js';

export interface LeaseStatus {
  replica: string;
  leader: boolean;
  /** The current term's fencing token while leading; the last one seen otherwise (null: none yet). */
  token: number | null;
}

/** What singleton work needs from the lease (the engine, retention and republish take this much). */
export interface SingletonGate {
  /** False on every replica but the leader; a lapsed term is noticed here, synchronously. */
  isLeader(): boolean;
  /** Throws LEASE_LOST unless this replica leads now. */
  assertHeld(): void;
  /** Runs `fn` only while this term is current, checked by the store under a lock (LEASE_LOST otherwise). */
  fenced<T>(fn: () => Promise<T>): Promise<T>;
  /** Which replica and term took a decision, for the event log; undefined when one process always leads. */
  stamp(): { replica: string; token: number } | undefined;
}

export interface Lease extends SingletonGate {
  readonly replicaId: string;
  /** False for the single-process lease (SQLite, embedded): nothing to contend for. */
  readonly clustered: boolean;
  status(): LeaseStatus;
  onChange(listener: (status: LeaseStatus) => void): () => void;
  /** Makes the first attempt (so a lone replica leads before its plugins start), then keeps renewing or retrying. */
  start(): Promise<void>;
  /** One acquire-or-renew attempt; resolves with the delay until the next one (the loop, and tests, call it). */
  step(): Promise<number>;
  /** Stops the loop and releases a held term. */
  stop(): Promise<void>;
}

export interface LeaseOptions {
  replicaId: string;
  ttlMs: number;
  store: LeaseStore;
  /** Monotonic milliseconds. @default performance.now */
  monotonic?: () => number;
  /** @default ttlMs / 3 */
  renewIntervalMs?: number;
  onError?: (err: unknown) => void;
}

const leaseLost = (why: string): EdgefleetError => new EdgefleetError('LEASE_LOST', why);

export function isLeaseLost(err: unknown): boolean {
  return err instanceof EdgefleetError && err.code === 'LEASE_LOST';
}

export function createLease(options: LeaseOptions): Lease {
  const { replicaId, ttlMs, store } = options;
  const monotonic = options.monotonic ?? (() => performance.now());
  const renewEvery = options.renewIntervalMs ?? Math.floor(ttlMs / 3);
  const listeners = new Set<(status: LeaseStatus) => void>();
  let term: { token: number; deadline: number } | undefined;
  let lastToken: number | null = null;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let inFlight: Promise<number> | undefined;

  const status = (): LeaseStatus => ({ replica: replicaId, leader: term !== undefined, token: term?.token ?? lastToken });
  const notify = (): void => {
    const s = status();
    for (const l of listeners) l(s);
  };

  function standDown(): void {
    if (!term) return;
    term = undefined;
    clearTimeout(watchdog);
    notify();
  }

  /** The lapse check every read of leadership goes through: a term past its deadline ends here. */
  function leading(): boolean {
    if (term && monotonic() >= term.deadline) standDown();
    return term !== undefined;
  }

  function armWatchdog(): void {
    clearTimeout(watchdog);
    if (!term || !running) return;
    // Listeners (the engine) hear of a lapse at the deadline even when no renewal attempt runs then.
    watchdog = setTimeout(leading, Math.max(0, term.deadline - monotonic()));
    watchdog.unref();
  }

  async function attempt(): Promise<number> {
    if (leading()) {
      const { token } = term!;
      const sentAt = monotonic();
      let renewed: boolean;
      try {
        renewed = await store.renew(replicaId, token, ttlMs);
      } catch (err) {
        options.onError?.(err);
        // Keep the term until its deadline; retry sooner than usual while it lasts.
        return Math.min(renewEvery, Math.max(10, Math.floor(renewEvery / 3)));
      }
      // Stood down meanwhile (lapsed or fenced): that term is over even if the store still has it.
      if (term?.token !== token) return 0;
      if (!renewed) {
        standDown();
        return 0;
      }
      term.deadline = sentAt + ttlMs;
      armWatchdog();
      return renewEvery;
    }
    const sentAt = monotonic();
    let result: Awaited<ReturnType<LeaseStore['acquire']>>;
    try {
      result = await store.acquire(replicaId, ttlMs);
    } catch (err) {
      options.onError?.(err);
      return renewEvery;
    }
    lastToken = result.token || lastToken;
    if (!result.held) {
      // Try again just after the holder's term would end, not a whole interval later: a takeover
      // then lands within the TTL of the holder's last renewal.
      return Math.min(renewEvery, Math.max(10, Math.ceil(result.remainingMs) + 10));
    }
    if (sentAt + ttlMs <= monotonic()) {
      // The answer came back after the term it granted had already lapsed here (a frozen process).
      return 0;
    }
    term = { token: result.token, deadline: sentAt + ttlMs };
    lastToken = result.token;
    armWatchdog();
    notify();
    return renewEvery;
  }

  function step(): Promise<number> {
    // One attempt at a time: the loop and a test calling step() never overlap.
    inFlight ??= attempt().finally(() => (inFlight = undefined));
    return inFlight;
  }

  function schedule(delayMs: number): void {
    if (!running) return;
    timer = setTimeout(() => {
      step().then(schedule, (err: unknown) => {
        options.onError?.(err);
        schedule(renewEvery);
      });
    }, delayMs);
    timer.unref();
  }

  return {
    replicaId,
    clustered: true,
    status() {
      leading();
      return status();
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    isLeader: leading,
    assertHeld() {
      if (!leading()) throw leaseLost(`replica ${replicaId} does not hold the lease`);
    },
    async fenced(fn) {
      if (!leading()) throw leaseLost(`replica ${replicaId} does not hold the lease`);
      const { token } = term!;
      try {
        return await store.fenced(replicaId, token, async () => {
          // The store's check passed, but this process may have been frozen while it ran.
          if (!leading()) throw leaseLost(`replica ${replicaId}: term ${token} lapsed`);
          return await fn();
        });
      } catch (err) {
        if (isLeaseLost(err) && term?.token === token) standDown();
        throw err;
      }
    },
    stamp: () => (leading() ? { replica: replicaId, token: term!.token } : undefined),
    step,
    async start() {
      if (running) return;
      running = true;
      schedule(await step());
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      clearTimeout(watchdog);
      await inFlight?.catch(() => undefined);
      const held = term;
      standDown();
      if (held) await store.release(replicaId, held.token).catch((err: unknown) => options.onError?.(err));
    },
  };
}

/** SQLite or an embedded broker: one process, which always leads; nothing is fenced. */
export function createSoloLease(replicaId: string): Lease {
  const status: LeaseStatus = { replica: replicaId, leader: true, token: null };
  return {
    replicaId,
    clustered: false,
    status: () => status,
    onChange: () => () => undefined,
    isLeader: () => true,
    assertHeld: () => undefined,
    fenced: (fn) => fn(),
    stamp: () => undefined,
    step: async () => 0,
    start: async () => undefined,
    stop: async () => undefined,
  };
}
