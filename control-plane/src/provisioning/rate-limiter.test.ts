import { describe, expect, it } from 'vitest';
import { createRateLimiter } from './rate-limiter.js';

describe('rate limiter', () => {
  it('lets a burst of `capacity` through, then refills at the rate', () => {
    let t = 0;
    const limiter = createRateLimiter({ capacity: 3, perSecond: 0.5, now: () => t });
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBe(2);
    expect(limiter.take('b')).toBe(0);
    t = 1999;
    expect(limiter.take('a')).toBeGreaterThan(0);
    t = 4000;
    expect(limiter.take('a')).toBe(0);
  });

  it('forgets full buckets when it holds too many keys', () => {
    let t = 0;
    const limiter = createRateLimiter({ capacity: 1, perSecond: 1, now: () => t, maxKeys: 2 });
    limiter.take('a');
    limiter.take('b');
    t = 5000;
    expect(limiter.take('c')).toBe(0);
    expect(limiter.take('a')).toBe(0);
  });
});
