/**
 * Token buckets by key (a source address, a provisioning key): `capacity` requests at once, refilled
 * at `perSecond`. In memory, per replica: enrolment is a burst at first boot, and a limit that is
 * per replica still caps what one source can make every replica do.
 */
export interface RateLimiter {
  /** 0 when the request may go ahead (and it is counted), else the seconds until it may. */
  take(key: string): number;
}

export function createRateLimiter(options: { capacity: number; perSecond: number; now?: () => number; maxKeys?: number }): RateLimiter {
  const now = options.now ?? (() => performance.now());
  const maxKeys = options.maxKeys ?? 100_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key) {
      const t = now();
      let bucket = buckets.get(key);
      if (!bucket) {
        // Bounded: a flood of distinct sources must not grow this without limit; full buckets carry no information.
        if (buckets.size >= maxKeys) for (const [k, b] of buckets) if (b.tokens + ((t - b.at) / 1000) * options.perSecond >= options.capacity) buckets.delete(k);
        bucket = { tokens: options.capacity, at: t };
        buckets.set(key, bucket);
      }
      bucket.tokens = Math.min(options.capacity, bucket.tokens + ((t - bucket.at) / 1000) * options.perSecond);
      bucket.at = t;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / options.perSecond));
    },
  };
}
