import type { InferenceWindow } from '@edgefleet/shared';

/**
 * Collects the inference windows the agent's window hub fans out (every second) and hands them to
 * the collector once per cycle, merged per {model, version, ep}: one window per key per batch
 * instead of thirty keeps a batch small on metered links and loses nothing (counts and histogram
 * buckets add up exactly).
 */
export interface InferenceAccumulator {
  add(windows: readonly InferenceWindow[]): void;
  takeWindows(): InferenceWindow[];
}

export function mergeWindows(a: InferenceWindow, b: InferenceWindow): InferenceWindow {
  const failures: Record<string, number> = { ...a.failures };
  for (const [reason, n] of Object.entries(b.failures)) failures[reason] = (failures[reason] ?? 0) + n;
  return {
    model: a.model,
    version: a.version,
    ep: a.ep,
    from: Math.min(a.from, b.from),
    to: Math.max(a.to, b.to),
    requests: a.requests + b.requests,
    failures,
    latency: a.latency.map((n, i) => n + (b.latency[i] ?? 0)),
    latencySumMs: a.latencySumMs + b.latencySumMs,
    queueSumMs: a.queueSumMs + b.queueSumMs,
  };
}

export function createInferenceAccumulator(): InferenceAccumulator {
  let pending = new Map<string, InferenceWindow>();
  return {
    add(windows) {
      for (const w of windows) {
        const key = `${w.model}\u0000${w.version}\u0000${w.ep}`;
        const existing = pending.get(key);
        pending.set(key, existing ? mergeWindows(existing, w) : { ...w, failures: { ...w.failures }, latency: [...w.latency] });
      }
    },
    takeWindows() {
      const out = [...pending.values()];
      pending = new Map();
      return out;
    },
  };
}
