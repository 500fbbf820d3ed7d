import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from './backoff.js';

describe('reconnect backoff', () => {
  it.each([
    [0, 0, 250],
    [0, 1, 500],
    [3, 0, 2000],
    [3, 1, 4000],
    [20, 0, 15_000],
    [20, 1, 30_000],
  ])('attempt %i with random %f → %i ms (min 500, cap 30 s, half jittered)', (attempt, random, want) => {
    expect(backoffDelayMs(attempt, 500, 30_000, () => random)).toBe(want);
  });
});
