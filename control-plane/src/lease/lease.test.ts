import { describe, expect, it } from 'vitest';
import { EdgefleetError } from '@edgefleet/shared';
import { createLease, isLeaseLost, type Lease } from './lease.js';
import { createMemoryLeaseStore } from './memory-lease-store.js';

const TTL = 3000;

/** Two replicas on one lease row; one clock stands for the store's and both monotonic clocks. */
function rig() {
  let t = 1_000_000;
  const store = createMemoryLeaseStore(() => t);
  const make = (id: string): Lease => createLease({ replicaId: id, ttlMs: TTL, store, monotonic: () => t });
  return { store, a: make('a'), b: make('b'), advance: (ms: number) => (t += ms) };
}

describe('lease state machine', () => {
  it.each([
    {
      name: 'acquire: the first replica takes term 1, the second stays a follower and waits for the expiry',
      run: async ({ a, b }: ReturnType<typeof rig>) => {
        expect(await a.step()).toBe(1000);
        const wait = await b.step();
        return { a: a.status(), b: b.status(), wait };
      },
      expected: { a: { replica: 'a', leader: true, token: 1 }, b: { replica: 'b', leader: false, token: 1 }, wait: 1000 },
    },
    {
      name: 'renew: renewing every TTL/3 keeps the term and its token far past one TTL',
      run: async ({ a, b, advance }: ReturnType<typeof rig>) => {
        await a.step();
        for (let i = 0; i < 10; i++) {
          advance(1000);
          await a.step();
          await b.step();
        }
        return { a: a.status(), b: b.status(), wait: 0 };
      },
      expected: { a: { replica: 'a', leader: true, token: 1 }, b: { replica: 'b', leader: false, token: 1 }, wait: 0 },
    },
    {
      name: 'expire: a holder that stops renewing loses leadership at its deadline, without any store call',
      run: async ({ a, advance }: ReturnType<typeof rig>) => {
        await a.step();
        advance(TTL - 1);
        const before = a.isLeader();
        advance(1);
        return { a: a.status(), b: { before }, wait: 0 };
      },
      expected: { a: { replica: 'a', leader: false, token: 1 }, b: { before: true }, wait: 0 },
    },
    {
      name: 'takeover: after the holder dies the follower takes term 2 once the store says it expired',
      run: async ({ a, b, advance }: ReturnType<typeof rig>) => {
        await a.step();
        advance(TTL - 500);
        const wait = await b.step();
        advance(wait);
        await b.step();
        return { a: a.status(), b: b.status(), wait };
      },
      expected: { a: { replica: 'a', leader: false, token: 1 }, b: { replica: 'b', leader: true, token: 2 }, wait: 510 },
    },
  ])('$name', async ({ run, expected }) => {
    expect(await run(rig())).toEqual(expected);
  });

  it('lapse on wake: a holder frozen past its TTL stands down before it renews or acts, and cannot renew the old term', async () => {
    const { a, b, advance } = rig();
    await a.step();
    const changes: boolean[] = [];
    a.onChange((s) => changes.push(s.leader));
    // Frozen (SIGSTOP) for twice the TTL while b takes over.
    advance(TTL);
    await b.step();
    for (let i = 0; i < 3; i++) {
      advance(TTL / 3);
      await b.step();
    }
    let ran = false;
    await expect(a.fenced(async () => (ran = true))).rejects.toMatchObject({ code: 'LEASE_LOST' });
    expect(ran).toBe(false);
    expect(changes).toEqual([false]);
    expect(() => a.assertHeld()).toThrow(EdgefleetError);
    // Its next attempt is an acquire, which b's live term refuses.
    await a.step();
    expect([a.status().leader, b.status()]).toEqual([false, { replica: 'b', leader: true, token: 2 }]);
  });

  it('lapse on wake with nobody else around: the old term ends and a new term gets a new token', async () => {
    const { a, advance } = rig();
    await a.step();
    advance(TTL + 1);
    expect(a.isLeader()).toBe(false);
    await a.step();
    expect(a.status()).toEqual({ replica: 'a', leader: true, token: 2 });
  });

  it('fencing refusal: the store refuses a term that moved on even when the local deadline has not passed', async () => {
    const { a, store, advance } = rig();
    await a.step();
    // Another process took the row over behind a's back (its clock ran fast, say): token 2 is not a's.
    advance(TTL);
    await store.acquire('intruder', TTL);
    advance(-TTL + 10);
    expect(a.isLeader()).toBe(true);
    const err = await a.fenced(async () => 'written').catch((e: unknown) => e);
    expect(isLeaseLost(err)).toBe(true);
    expect(a.status()).toEqual({ replica: 'a', leader: false, token: 1 });
  });

  it('fencing: a current term runs the work and stamps decisions with replica and token', async () => {
    const { a } = rig();
    await a.step();
    expect(await a.fenced(async () => 'written')).toBe('written');
    expect(a.stamp()).toEqual({ replica: 'a', token: 1 });
  });

  it('a renewal that fails in the store ends the term; one that throws keeps it until the deadline', async () => {
    const { a, store, advance } = rig();
    await a.step();
    const renew = store.renew.bind(store);
    store.renew = async () => {
      throw new Error('connection reset');
    };
    advance(1000);
    expect(await a.step()).toBeLessThan(1000);
    expect(a.isLeader()).toBe(true);
    advance(TTL);
    expect(a.isLeader()).toBe(false);
    store.renew = renew;
  });

  it('stop releases the term so the follower takes over at its next attempt', async () => {
    const { a, b } = rig();
    await a.step();
    await a.stop();
    await b.step();
    expect(b.status()).toEqual({ replica: 'b', leader: true, token: 2 });
  });
});
