import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_MS, type InferenceWindow } from '@edgefleet/shared';
import { addWindow, createInferenceWindowHub, emptyTally, judgeProbation, p95FromBuckets } from './probation.js';

const window = (requests: number, failures: number, bucket: number): InferenceWindow => {
  const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latency[bucket] = requests;
  return { model: 'm', version: '1', ep: 'cpu', from: 0, to: 1, requests, failures: failures ? { INFERENCE_FAILED: failures } : {}, latency, latencySumMs: 0, queueSumMs: 0 };
};
const probation = { windowMs: 1000, maxFailureRate: 0.1, minRequests: 10 };

describe('probation verdicts', () => {
  it.each([
    ['too few requests: no verdict', [window(5, 5, 0)], probation, false],
    ['failure rate above the threshold', [window(20, 3, 0)], probation, true],
    ['failure rate at the threshold', [window(20, 2, 0)], probation, false],
    ['p95 latency above the limit', [window(20, 0, 6)], { ...probation, maxP95LatencyMs: 20 }, true],
    ['p95 latency within the limit', [window(20, 0, 3)], { ...probation, maxP95LatencyMs: 20 }, false],
    ['windows add up', [window(6, 1, 0), window(6, 1, 0)], probation, true],
  ])('%s', (_name, windows, spec, breached) => {
    const t = emptyTally();
    for (const w of windows) addWindow(t, w);
    const verdict = judgeProbation(t, spec);
    expect(verdict.breached).toBe(breached);
    expect(verdict.metrics.requests).toBe(windows.reduce((a, w) => a + w.requests, 0));
  });

  it('p95 is the upper bound of the bucket holding the 95th percentile', () => {
    const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
    latency[0] = 94;
    latency[5] = 6;
    expect(p95FromBuckets(latency)).toBe(LATENCY_BUCKETS_MS[5]);
    expect(p95FromBuckets(latency.map(() => 0))).toBeUndefined();
  });

  it('the window hub is the single taker and fans out to every subscriber', () => {
    let calls = 0;
    const hub = createInferenceWindowHub({ takeWindows: () => (calls++ === 0 ? [window(1, 0, 0)] : []) });
    const seen: number[] = [];
    hub.subscribe((w) => seen.push(w.length));
    hub.subscribe((w) => seen.push(w.length * 10));
    hub.poll();
    hub.poll();
    expect(seen).toEqual([1, 10]);
  });
});
