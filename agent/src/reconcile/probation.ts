import { LATENCY_BUCKETS_MS, type InferenceWindow, type Probation } from '@edgefleet/shared';
import type { InferenceRuntime } from '../inference/runtime-port.js';

/**
 * `runtime.takeWindows()` drains counters, so exactly one owner may call it: this hub polls it and
 * fans the windows out to every subscriber (probation here, telemetry through `subscribe`).
 */
export interface InferenceWindowHub {
  subscribe(listener: (windows: InferenceWindow[]) => void): () => void;
  /** Polls now (probation calls it before a verdict). */
  poll(): void;
  start(intervalMs: number): void;
  stop(): void;
}

export function createInferenceWindowHub(runtime: Pick<InferenceRuntime, 'takeWindows'>): InferenceWindowHub {
  const listeners = new Set<(w: InferenceWindow[]) => void>();
  let timer: NodeJS.Timeout | undefined;
  const poll = (): void => {
    const windows = runtime.takeWindows();
    if (windows.length) for (const l of listeners) l(windows);
  };
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    poll,
    start(intervalMs) {
      timer ??= setInterval(poll, intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

export interface ProbationTally {
  requests: number;
  failures: number;
  latency: number[];
}

export function emptyTally(): ProbationTally {
  return { requests: 0, failures: 0, latency: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0) };
}

export function addWindow(t: ProbationTally, w: InferenceWindow): void {
  t.requests += w.requests;
  t.failures += Object.values(w.failures).reduce((a, b) => a + b, 0);
  w.latency.forEach((n, i) => (t.latency[i] = (t.latency[i] ?? 0) + n));
}

/** p95 from histogram buckets: the upper bound of the bucket holding the 95th percentile. */
export function p95FromBuckets(latency: number[]): number | undefined {
  const total = latency.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = Math.ceil(total * 0.95);
  let seen = 0;
  for (const [i, n] of latency.entries()) {
    seen += n;
    if (seen >= rank) return LATENCY_BUCKETS_MS[i] ?? Infinity;
  }
  return undefined;
}

export interface ProbationVerdict {
  breached: boolean;
  reason?: string;
  metrics: { requests: number; failures: number; failureRate?: number; p95LatencyMs?: number; thresholds: Record<string, number> };
}

/** Pure verdict over what the window collected; no verdict (not breached) below minRequests. */
export function judgeProbation(t: ProbationTally, p: Probation): ProbationVerdict {
  const thresholds: Record<string, number> = { maxFailureRate: p.maxFailureRate, minRequests: p.minRequests, ...(p.maxP95LatencyMs !== undefined ? { maxP95LatencyMs: p.maxP95LatencyMs } : {}) };
  const failureRate = t.requests ? t.failures / t.requests : undefined;
  const p95 = p95FromBuckets(t.latency);
  const metrics = {
    requests: t.requests,
    failures: t.failures,
    ...(failureRate !== undefined ? { failureRate } : {}),
    ...(p95 !== undefined && Number.isFinite(p95) ? { p95LatencyMs: p95 } : {}),
    thresholds,
  };
  if (t.requests < p.minRequests) return { breached: false, metrics };
  if (failureRate !== undefined && failureRate > p.maxFailureRate) return { breached: true, reason: `failure rate ${failureRate.toFixed(3)} > ${p.maxFailureRate}`, metrics };
  if (p.maxP95LatencyMs !== undefined && p95 !== undefined && p95 > p.maxP95LatencyMs) return { breached: true, reason: `p95 latency ${p95} ms > ${p.maxP95LatencyMs} ms`, metrics };
  return { breached: false, metrics };
}
