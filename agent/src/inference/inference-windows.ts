import { LATENCY_BUCKETS_MS, type ExecutionProvider, type InferenceWindow } from '@edgefleet/shared';

interface Key {
  model: string;
  version: string;
  ep: ExecutionProvider;
}

/** Per {model, version, ep} request counters since the last take(), in the telemetry contract's shape. */
export function createInferenceWindows(now: () => number = Date.now): {
  record(key: Key, outcome: { ok: boolean; reason?: string; latencyMs: number; queueMs: number }): void;
  take(): InferenceWindow[];
} {
  let from = now();
  let windows = new Map<string, InferenceWindow>();
  return {
    record(key, outcome) {
      const id = `${key.model}\0${key.version}\0${key.ep}`;
      let w = windows.get(id);
      if (!w) {
        w = { ...key, from, to: from, requests: 0, failures: {}, latency: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0), latencySumMs: 0, queueSumMs: 0 };
        windows.set(id, w);
      }
      w.requests++;
      if (!outcome.ok) {
        const reason = outcome.reason ?? 'INFERENCE_FAILED';
        w.failures[reason] = (w.failures[reason] ?? 0) + 1;
        return;
      }
      const bucket = LATENCY_BUCKETS_MS.findIndex((b) => outcome.latencyMs <= b);
      const index = bucket === -1 ? LATENCY_BUCKETS_MS.length : bucket;
      w.latency[index] = (w.latency[index] ?? 0) + 1;
      w.latencySumMs += outcome.latencyMs;
      w.queueSumMs += outcome.queueMs;
    },
    take() {
      const to = now();
      const out = [...windows.values()].map((w) => ({ ...w, from, to: Math.max(to, from) }));
      windows = new Map();
      from = to;
      return out;
    },
  };
}
