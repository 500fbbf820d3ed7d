import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_MS, type InferenceWindow } from '@edgefleet/shared';
import { checkIntervalMs, observeProbation, startWatch, type ProbationInput } from './probation-watcher.js';

const window = (version: string, requests: number, failures: number, bucket = 0): InferenceWindow => {
  const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latency[bucket] = requests;
  return { model: 'm', version, ep: 'cpu', from: 0, to: 1, requests, failures: failures ? { INFERENCE_FAILED: failures } : {}, latency, latencySumMs: 0, queueSumMs: 0 };
};
const spec = { windowMs: 1000, maxFailureRate: 0.1, minRequests: 10 };
const windows = (...w: InferenceWindow[]): ProbationInput => ({ type: 'windows', windows: w });
const tick: ProbationInput = { type: 'tick' };

describe('probation watcher', () => {
  it.each<[string, ProbationInput[], number, 'pending' | 'passed' | 'failed']>([
    ['no traffic, window open', [tick], 500, 'pending'],
    ['no traffic, window over: passes (below minRequests there is no verdict to fail)', [tick], 1000, 'passed'],
    ['healthy traffic, window over', [windows(window('2', 20, 1)), tick], 1000, 'passed'],
    ['a breach fails at once, inside the window', [windows(window('2', 20, 5)), tick], 10, 'failed'],
    ['a breach still fails once the window is over', [windows(window('2', 20, 5)), tick], 5000, 'failed'],
    ['windows add up across polls', [windows(window('2', 6, 1)), windows(window('2', 6, 1)), tick], 10, 'failed'],
    ['another version’s failures do not count', [windows(window('1', 20, 20)), tick], 10, 'pending'],
    ['windows alone give no verdict', [windows(window('2', 20, 20))], 5000, 'pending'],
    ['p95 above the limit', [windows(window('2', 20, 0, 6)), tick], 10, 'failed'],
  ])('%s', (_name, inputs, now, verdict) => {
    let watch = startWatch('m', '2', 3, { ...spec, ...(_name.startsWith('p95') ? { maxP95LatencyMs: 20 } : {}) }, 0);
    let last: ReturnType<typeof observeProbation> | undefined;
    for (const input of inputs) {
      last = observeProbation(watch, input, now);
      if (last.verdict === 'pending') watch = last.watch;
    }
    expect(last?.verdict).toBe(verdict);
  });

  it('is pure: observing returns a new watch and leaves the old one as it was', () => {
    const watch = startWatch('m', '2', 3, spec, 0);
    const next = observeProbation(watch, windows(window('2', 5, 1)), 0);
    expect(next.verdict === 'pending' && next.watch.tally.requests).toBe(5);
    expect(watch.tally.requests).toBe(0);
  });

  it('fills the defaults of the spec and closes the window windowMs after it starts', () => {
    const watch = startWatch('m', '2', 3, { windowMs: 2000 } as never, 100);
    expect(watch).toMatchObject({ until: 2100, generation: 3, spec: { windowMs: 2000, maxFailureRate: 0.05, minRequests: 20 } });
  });

  it.each([
    [500, 100],
    [5000, 500],
    [60_000, 1000],
  ])('checks a %i ms window every %i ms', (windowMs, every) => {
    expect(checkIntervalMs({ ...spec, windowMs })).toBe(every);
  });
});
