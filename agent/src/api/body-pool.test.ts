import { describe, expect, it } from 'vitest';
import { createBodyPool } from './body-pool.js';

describe('body pool', () => {
  it('hands a returned buffer to the next request of that size, and a new one otherwise', () => {
    const pool = createBodyPool({ minBytes: 16 });
    const a = pool.acquire(64);
    pool.release(a);
    expect(pool.acquire(64)).toBe(a);
    expect(pool.acquire(64)).not.toBe(a);
    pool.release(a);
    expect(pool.acquire(32)).not.toBe(a);
    expect(pool.stats()).toMatchObject({ reused: 1, allocated: 3, buffers: 1, bytes: 64 });
  });

  it('ignores small, detached and repeated buffers', () => {
    const pool = createBodyPool({ minBytes: 16 });
    pool.release(new ArrayBuffer(8));
    const moved = new ArrayBuffer(64);
    structuredClone(moved, { transfer: [moved] });
    pool.release(moved);
    const a = new ArrayBuffer(64);
    pool.release(a);
    pool.release(a);
    expect(pool.stats()).toMatchObject({ buffers: 1, bytes: 64 });
  });

  it('holds at most maxBuffers and maxBytes, dropping the oldest', () => {
    const pool = createBodyPool({ minBytes: 1, maxBuffers: 2, maxBytes: 100 });
    const [a, b, c] = [new ArrayBuffer(40), new ArrayBuffer(40), new ArrayBuffer(40)];
    pool.release(a);
    pool.release(b);
    pool.release(c);
    expect(pool.stats()).toMatchObject({ buffers: 2, bytes: 80 });
    expect(pool.acquire(40)).toBe(c);
    expect(pool.acquire(40)).toBe(b);
    pool.release(new ArrayBuffer(60));
    pool.release(new ArrayBuffer(60));
    expect(pool.stats()).toMatchObject({ buffers: 1, bytes: 60 });
    // Larger than the whole pool: not kept at all.
    pool.release(new ArrayBuffer(101));
    expect(pool.stats()).toMatchObject({ buffers: 1, bytes: 60 });
  });
});
