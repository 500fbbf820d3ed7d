import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLease, createMemoryLeaseStore, createPostgresLeaseStore, createStore, LEASE_MIGRATIONS, type LeaseStore, type Store } from '@edgefleet/control-plane';
import { describeNeeding } from '../setup/gate.js';
import { POSTGRES_URL } from '../helpers/index.js';

/**
 * The singleton lease on real PostgreSQL (issue 16): the store contract (also run on the in-memory
 * fake), two replicas contending for one row, the
 * database's clock deciding expiry, fencing refusing a term that moved on, a takeover waiting for
 * the holder's fenced transaction, and a holder frozen inside one not blocking the takeover for ever.
 */
const TTL = 1000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The rules every LeaseStore keeps, run against the in-memory fake (which the state machine's unit
 * tests use) and against PostgreSQL, so the fake cannot drift from the real store.
 */
function leaseStoreContract(pair: () => Promise<{ a: LeaseStore; b: LeaseStore }>): void {
  const ttl = 300;
  it('contract: terms, renewals, expiry, takeover, fencing and release', async () => {
    const { a, b } = await pair();
    expect(await a.acquire('a', ttl)).toEqual({ held: true, token: 1 });
    const refused = await b.acquire('b', ttl);
    expect(refused).toMatchObject({ held: false, holder: 'a', token: 1 });
    expect(refused.held === false && refused.remainingMs > 0 && refused.remainingMs <= ttl).toBe(true);
    expect(await a.renew('a', 1, ttl)).toBe(true);
    expect(await a.renew('a', 2, ttl)).toBe(false);
    expect(await b.renew('b', 1, ttl)).toBe(false);
    expect(await a.fenced('a', 1, async () => 'ok')).toBe('ok');
    await sleep(ttl + 50);
    // Expired: the holder can neither renew nor write; the other takes the next term.
    expect(await a.renew('a', 1, ttl)).toBe(false);
    await expect(a.fenced('a', 1, async () => 'late')).rejects.toMatchObject({ code: 'LEASE_LOST' });
    expect(await b.acquire('b', ttl)).toEqual({ held: true, token: 2 });
    await expect(a.fenced('a', 1, async () => 'stale')).rejects.toMatchObject({ code: 'LEASE_LOST' });
    // A holder acquiring again (a restart) starts a new term; a release hands over at once.
    expect(await b.acquire('b', ttl)).toEqual({ held: true, token: 3 });
    await b.release('b', 3);
    expect(await a.acquire('a', ttl)).toEqual({ held: true, token: 4 });
  });
}

describe('lease store contract: in memory', () => {
  leaseStoreContract(async () => {
    const store = createMemoryLeaseStore(() => Date.now());
    return { a: store, b: store };
  });
});

describeNeeding(['postgres'], 'lease on PostgreSQL', () => {
  const schema = `lease_it_${process.pid}_${Date.now()}`;
  let admin: Store;
  let stores: Store[] = [];
  let name = 0;

  /** A replica's own pool (as two processes would have), on this run's schema. */
  async function replicaStore(): Promise<Store> {
    const store = await createStore({ driver: 'postgres', url: `${POSTGRES_URL}?options=-c%20search_path%3D${schema}`, dataDir: '/nonexistent' });
    await store.migrate('lease', LEASE_MIGRATIONS);
    stores.push(store);
    return store;
  }
  async function pair(): Promise<{ a: LeaseStore; b: LeaseStore; name: string }> {
    const leaseName = `l${++name}`;
    const options = { name: leaseName, stalledTransactionTimeoutMs: TTL };
    return { a: createPostgresLeaseStore((await replicaStore()).sql, options), b: createPostgresLeaseStore((await replicaStore()).sql, options), name: leaseName };
  }

  beforeAll(async () => {
    admin = await createStore({ driver: 'postgres', url: POSTGRES_URL, dataDir: '/nonexistent' });
    await admin.sql.exec(`CREATE SCHEMA ${schema}`);
  });

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    stores = [];
    await admin?.sql.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.close();
  });

  leaseStoreContract(() => pair());

  it('two replicas racing for a free lease: exactly one leads, with token 1', async () => {
    const { a, b } = await pair();
    const results = await Promise.all([a.acquire('a', TTL), b.acquire('b', TTL), a.acquire('a2', TTL), b.acquire('b2', TTL)]);
    const held = results.filter((r) => r.held);
    expect(held).toEqual([{ held: true, token: 1 }]);
    for (const r of results.filter((x) => !x.held)) expect(r).toMatchObject({ held: false, token: 1, remainingMs: expect.any(Number) });
  });

  it('the follower takes over within the TTL of the holder’s last renewal, and the old term is fenced', async () => {
    const { a: storeA, b: storeB } = await pair();
    // a's monotonic clock is frozen: it believes it still leads, so only the database can refuse it.
    let aNow = 0;
    const a = createLease({ replicaId: 'a', ttlMs: TTL, store: storeA, monotonic: () => aNow });
    const b = createLease({ replicaId: 'b', ttlMs: TTL, store: storeB });
    await a.step();
    expect(a.status()).toMatchObject({ leader: true, token: 1 });
    const lastRenew = performance.now();
    await b.step();
    expect(b.isLeader()).toBe(false);
    while (!b.isLeader()) await sleep(await b.step());
    const failoverMs = performance.now() - lastRenew;
    expect(b.status()).toMatchObject({ leader: true, token: 2 });
    expect(failoverMs).toBeGreaterThanOrEqual(TTL - 50);
    expect(failoverMs).toBeLessThan(TTL + 500);
    aNow = 1;
    expect(a.isLeader()).toBe(true);
    let wrote = false;
    await expect(a.fenced(async () => (wrote = true))).rejects.toMatchObject({ code: 'LEASE_LOST' });
    expect(wrote).toBe(false);
    expect(a.isLeader()).toBe(false);
    expect(await storeA.renew('a', 1, TTL)).toBe(false);
    expect(await b.fenced(async () => 'b writes')).toBe('b writes');
    await b.stop();
  });

  it('a takeover waits for the holder’s fenced transaction to commit', async () => {
    const { a, b } = await pair();
    expect(await a.acquire('a', 300)).toEqual({ held: true, token: 1 });
    const order: string[] = [];
    const fencedWork = a.fenced('a', 1, async () => {
      order.push('fenced start');
      await sleep(700);
      order.push('fenced end');
    });
    await sleep(400);
    // Expired by now in the database's clock, but the row is locked until a's transaction ends.
    const takeover = b.acquire('b', TTL).then((r) => {
      order.push('takeover');
      return r;
    });
    await fencedWork;
    expect(await takeover).toEqual({ held: true, token: 2 });
    expect(order).toEqual(['fenced start', 'fenced end', 'takeover']);
  });

  it('a holder frozen inside a fenced transaction loses it after the stalled-transaction timeout, and its commit fails', async () => {
    const { a, b } = await pair();
    expect(await a.acquire('a', 300)).toEqual({ held: true, token: 1 });
    const frozen = a.fenced('a', 1, async () => {
      // No statement for longer than the timeout: what a SIGSTOPped process looks like to the server.
      await sleep(TTL + 800);
    });
    const outcome = frozen.then(() => 'committed', (err: unknown) => (err as { code?: string }).code ?? String(err));
    await sleep(400);
    const started = performance.now();
    expect(await b.acquire('b', TTL)).toEqual({ held: true, token: 2 });
    expect(performance.now() - started).toBeLessThan(TTL + 500);
    expect(await outcome).toBe('STORE_FAILED');
  });
});
