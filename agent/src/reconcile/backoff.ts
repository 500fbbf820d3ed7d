import { backoffDelayMs } from '../mqtt/backoff.js';

/** Transient step failures per model: retried after 1 s, doubling up to a minute (with jitter). */
export const STEP_BACKOFF = { minMs: 1000, maxMs: 60_000 } as const;
/** A reconcile pass that threw (SQLITE_FULL from a store read, say): retried after 1 s up to 30 s. */
export const PASS_BACKOFF = { minMs: 1000, maxMs: 30_000 } as const;

export interface Backoff {
  attempt: number;
  /** Monotonic ms (performance.now()) before which the model's steps wait. */
  nextAt: number;
}

export type BackoffTable = Readonly<Record<string, Backoff>>;

/** The next entry after one more failure at `now`. */
export function bump(entry: Backoff | undefined, now: number, limits: { minMs: number; maxMs: number }, random: () => number = Math.random): Backoff {
  const attempt = (entry?.attempt ?? 0) + 1;
  return { attempt, nextAt: now + backoffDelayMs(attempt, limits.minMs, limits.maxMs, random) };
}

export function withoutModel(table: BackoffTable, model: string): BackoffTable {
  if (!(model in table)) return table;
  const { [model]: _gone, ...rest } = table;
  return rest;
}

/** Whether a model's steps may run at `now`. */
export function isReady(table: BackoffTable, model: string, now: number): boolean {
  return (table[model]?.nextAt ?? 0) <= now;
}

/** The earliest moment a waiting entry becomes ready, or undefined when nothing waits. */
export function earliestRetry(table: BackoffTable): number | undefined {
  const times = Object.values(table).map((b) => b.nextAt);
  return times.length ? Math.min(...times) : undefined;
}
