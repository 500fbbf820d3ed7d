/**
 * Capped exponential backoff with "equal jitter": half the delay fixed, half random, so a fleet
 * reconnecting after a broker restart spreads out instead of stampeding.
 */
export function backoffDelayMs(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + (exp / 2) * random());
}
