import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_MS, type InferenceWindow } from '@edgefleet/shared';
import { createInferenceAccumulator } from './inference-accumulator.js';

function w(version: string, from: number, requests: number, bucket: number, failures: Record<string, number> = {}): InferenceWindow {
  const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latency[bucket] = requests;
  return { model: 'det', version, ep: 'cpu', from, to: from + 1000, requests, failures, latency, latencySumMs: requests * 3, queueSumMs: requests };
}

describe('inference accumulator', () => {
  it('merges the hub\'s one-second windows per {model, version, ep} without losing a count', () => {
    const acc = createInferenceAccumulator();
    acc.add([w('1', 0, 5, 2), w('2', 0, 1, 4, { INFERENCE_FAILED: 1 })]);
    acc.add([w('1', 1000, 7, 3, { INFERENCE_TIMEOUT: 2 })]);
    acc.add([w('2', 2000, 3, 4, { INFERENCE_FAILED: 2 })]);
    const out = acc.takeWindows();
    expect(out).toHaveLength(2);
    const v1 = out.find((x) => x.version === '1')!;
    expect(v1).toMatchObject({ from: 0, to: 2000, requests: 12, failures: { INFERENCE_TIMEOUT: 2 }, latencySumMs: 36, queueSumMs: 12 });
    expect(v1.latency[2]).toBe(5);
    expect(v1.latency[3]).toBe(7);
    expect(out.find((x) => x.version === '2')).toMatchObject({ from: 0, to: 3000, requests: 4, failures: { INFERENCE_FAILED: 3 } });
    expect(acc.takeWindows()).toEqual([]);
  });

  it('does not alias the windows it was given', () => {
    const acc = createInferenceAccumulator();
    const first = w('1', 0, 1, 0);
    acc.add([first]);
    acc.add([w('1', 1000, 1, 0)]);
    expect(first.latency[0]).toBe(1);
    expect(acc.takeWindows()[0]!.latency[0]).toBe(2);
  });
});
