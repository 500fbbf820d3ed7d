import type { DeviceSample, InferenceWindow } from '@edgefleet/shared';

/** Histogram bucket upper bounds in ms; mirrors LATENCY_BUCKETS_MS in the shared contract (the last count is +Inf). */
const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

export interface DeviceSeries {
  /** Sample times, Unix ms. */
  sampleTimes: number[];
  cpu: (number | null)[];
  memoryPercent: (number | null)[];
  /** Hottest sensor per sample, °C. */
  temperature: (number | null)[];
  /** Inference window end times, Unix ms (windows of every model/version/EP merged per end time). */
  windowTimes: number[];
  requestsPerS: (number | null)[];
  failuresPerMin: (number | null)[];
  p50Ms: (number | null)[];
  p95Ms: (number | null)[];
}

/**
 * Quantile from a bucketed histogram with linear interpolation inside the bucket, as Prometheus'
 * histogram_quantile does; the +Inf bucket answers with the last finite bound.
 */
export function histogramQuantile(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] ?? 0;
    if (seen + c >= rank && c > 0) {
      const upper = LATENCY_BUCKETS_MS[i];
      if (upper === undefined) return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1] ?? null;
      const lower = i === 0 ? 0 : (LATENCY_BUCKETS_MS[i - 1] ?? 0);
      return lower + (upper - lower) * ((rank - seen) / c);
    }
    seen += c;
  }
  return null;
}

/** Turns raw device samples and inference windows into chart-ready, time-sorted series. */
export function toDeviceSeries(samples: readonly DeviceSample[], windows: readonly InferenceWindow[]): DeviceSeries {
  const sorted = [...samples].sort((a, b) => a.t - b.t);
  const merged = new Map<number, { from: number; to: number; requests: number; failures: number; latency: number[] }>();
  for (const w of windows) {
    const slot = merged.get(w.to) ?? { from: w.from, to: w.to, requests: 0, failures: 0, latency: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0) };
    slot.from = Math.min(slot.from, w.from);
    slot.requests += w.requests;
    slot.failures += Object.values(w.failures).reduce((a, b) => a + b, 0);
    w.latency.forEach((c, i) => (slot.latency[i] = (slot.latency[i] ?? 0) + c));
    merged.set(w.to, slot);
  }
  const slots = [...merged.values()].sort((a, b) => a.to - b.to);
  return {
    sampleTimes: sorted.map((s) => s.t),
    cpu: sorted.map((s) => s.cpu ?? null),
    memoryPercent: sorted.map((s) => (s.memUsed !== undefined && s.memTotal ? (100 * s.memUsed) / s.memTotal : null)),
    temperature: sorted.map((s) => {
      const temps = Object.values(s.temps ?? {});
      return temps.length ? Math.max(...temps) : null;
    }),
    windowTimes: slots.map((s) => s.to),
    requestsPerS: slots.map((s) => (s.to > s.from ? s.requests / ((s.to - s.from) / 1000) : null)),
    failuresPerMin: slots.map((s) => (s.to > s.from ? s.failures / ((s.to - s.from) / 60_000) : null)),
    p50Ms: slots.map((s) => histogramQuantile(s.latency, 0.5)),
    p95Ms: slots.map((s) => histogramQuantile(s.latency, 0.95)),
  };
}
