import { LATENCY_BUCKETS_MS } from '@edgefleet/shared';

/** Bucket count including +Inf. */
export const LATENCY_BUCKET_COUNT = LATENCY_BUCKETS_MS.length + 1;

/** Adds histograms bucket by bucket (all on LATENCY_BUCKETS_MS, so merging across devices is exact). */
export function mergeHistograms(histograms: readonly (readonly number[])[]): number[] {
  const merged = new Array<number>(LATENCY_BUCKET_COUNT).fill(0);
  for (const h of histograms) for (let i = 0; i < LATENCY_BUCKET_COUNT; i++) merged[i]! += h[i] ?? 0;
  return merged;
}

/**
 * The q-quantile of a bucketed histogram, interpolating linearly inside the bucket as Prometheus'
 * histogram_quantile does. In the +Inf bucket the answer is the highest finite bound (a lower bound
 * of the truth). Undefined for an empty histogram.
 */
export function histogramQuantile(q: number, counts: readonly number[]): number | undefined {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i] ?? 0;
    if (cumulative + count >= rank && count > 0) {
      if (i >= LATENCY_BUCKETS_MS.length) return LATENCY_BUCKETS_MS.at(-1)!;
      const lower = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!;
      const upper = LATENCY_BUCKETS_MS[i]!;
      return lower + ((upper - lower) * (rank - cumulative)) / count;
    }
    cumulative += count;
  }
  return LATENCY_BUCKETS_MS.at(-1)!;
}
