import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_MS } from '@edgefleet/shared';
import { histogramQuantile, LATENCY_BUCKET_COUNT, mergeHistograms } from './histogram.js';

function hist(entries: Record<number, number>): number[] {
  const h = new Array<number>(LATENCY_BUCKET_COUNT).fill(0);
  for (const [i, n] of Object.entries(entries)) h[Number(i)] = n;
  return h;
}

describe('latency histograms', () => {
  it('has one count per bound plus +Inf', () => {
    expect(LATENCY_BUCKET_COUNT).toBe(LATENCY_BUCKETS_MS.length + 1);
  });

  it.each([
    // [description, histogram, q, expected]
    ['all in (5,10]: p50 interpolates to the middle', hist({ 3: 100 }), 0.5, 7.5],
    ['all in (5,10]: p95', hist({ 3: 100 }), 0.95, 9.75],
    ['first bucket starts at 0', hist({ 0: 10 }), 0.5, 0.5],
    ['95 fast, 5 slow: p95 lands at the top of the fast bucket', hist({ 2: 95, 6: 5 }), 0.95, 5],
    ['90 fast, 10 in (50,100]: p95 is halfway through it', hist({ 2: 90, 6: 10 }), 0.95, 75],
    ['+Inf answers the highest finite bound', hist({ 12: 3 }), 0.95, 5000],
  ])('%s', (_d, h, q, expected) => {
    expect(histogramQuantile(q, h)).toBeCloseTo(expected, 6);
  });

  it('is undefined for an empty histogram', () => {
    expect(histogramQuantile(0.95, hist({}))).toBeUndefined();
  });

  it('merges device histograms bucket by bucket, so the cohort p95 reflects every device', () => {
    const fastDevice = hist({ 2: 900 });
    const slowDevice = hist({ 7: 100 });
    const merged = mergeHistograms([fastDevice, slowDevice]);
    expect(merged[2]).toBe(900);
    expect(merged[7]).toBe(100);
    // rank 950 of 1000: 50 into the slow device's (100,200] bucket of 100.
    expect(histogramQuantile(0.95, merged)).toBeCloseTo(150, 6);
  });
});
