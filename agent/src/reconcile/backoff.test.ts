import { describe, expect, it } from 'vitest';
import { PASS_BACKOFF, STEP_BACKOFF, bump, earliestRetry, isReady, withoutModel } from './backoff.js';

// random() = 1 is the top of the jitter range, 0 its bottom: the delay lies in [exp/2, exp].
describe('backoff', () => {
  it.each([
    ['first failure', undefined, 0, 1, 1000, 2000],
    ['second failure doubles', { attempt: 1, nextAt: 0 }, 0, 2, 2000, 4000],
    ['capped at a minute', { attempt: 9, nextAt: 0 }, 0, 10, 30_000, 60_000],
    ['counted from now', undefined, 5000, 1, 6000, 7000],
  ])('%s', (_name, entry, now, attempt, low, high) => {
    expect(bump(entry, now, STEP_BACKOFF, () => 0)).toEqual({ attempt, nextAt: low });
    expect(bump(entry, now, STEP_BACKOFF, () => 1)).toEqual({ attempt, nextAt: high });
  });

  it('a failing pass is capped at 30 s', () => {
    expect(bump({ attempt: 20, nextAt: 0 }, 0, PASS_BACKOFF, () => 1).nextAt).toBe(30_000);
  });

  it.each([
    ['no entry: ready', {}, 'm', 0, true],
    ['waiting', { m: { attempt: 1, nextAt: 100 } }, 'm', 99, false],
    ['due', { m: { attempt: 1, nextAt: 100 } }, 'm', 100, true],
    ['another model waits', { n: { attempt: 1, nextAt: 100 } }, 'm', 0, true],
  ])('isReady: %s', (_name, table, model, now, ready) => {
    expect(isReady(table, model, now)).toBe(ready);
  });

  it.each([
    ['nothing waits', {}, undefined],
    ['the earliest entry', { a: { attempt: 1, nextAt: 300 }, b: { attempt: 1, nextAt: 200 } }, 200],
  ])('earliestRetry: %s', (_name, table, at) => {
    expect(earliestRetry(table)).toBe(at);
  });

  it('withoutModel leaves the others and the same table when absent', () => {
    const table = { a: { attempt: 1, nextAt: 1 }, b: { attempt: 2, nextAt: 2 } };
    expect(withoutModel(table, 'a')).toEqual({ b: { attempt: 2, nextAt: 2 } });
    expect(withoutModel(table, 'c')).toBe(table);
  });
});
