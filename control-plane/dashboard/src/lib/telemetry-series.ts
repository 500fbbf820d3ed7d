import type { InferencePoint, SamplePoint, TelemetryResolution } from '@edgefleet/shared';

export interface DeviceSeries {
  /** Sample times, Unix ms. */
  sampleTimes: number[];
  cpu: (number | null)[];
  memoryPercent: (number | null)[];
  /** Hottest sensor per point, °C. */
  temperature: (number | null)[];
  /** Inference bucket start times, Unix ms (every model/version/EP merged per time). */
  windowTimes: number[];
  requestsPerS: (number | null)[];
  failuresPerMin: (number | null)[];
  /** p50 where the server reports it (InferencePoint has no p50 yet), otherwise null. */
  p50Ms: (number | null)[];
  meanMs: (number | null)[];
  p95Ms: (number | null)[];
}

const BUCKET_MS: Record<Exclude<TelemetryResolution, 'auto'>, number | undefined> = { raw: undefined, '1m': 60_000, '1h': 3_600_000 };

/**
 * Raw inference points are keyed by window start and carry no width, so a point's width is the
 * gap to the next point (the last one reuses the median gap); rolled-up points have the bucket's width.
 */
function widths(times: number[], resolution: string): number[] {
  const fixed = BUCKET_MS[resolution as keyof typeof BUCKET_MS];
  if (fixed) return times.map(() => fixed);
  const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t)).filter((g) => g > 0);
  const median = [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)];
  return times.map((t, i) => {
    const next = times[i + 1];
    return next !== undefined && next > t ? next - t : (median ?? 0);
  });
}

/** Turns the telemetry API's sample and inference points for one device into chart-ready, time-sorted series. */
export function toDeviceSeries(samples: readonly SamplePoint[], inference: readonly (InferencePoint & { p50LatencyMs?: number })[], resolution: string): DeviceSeries {
  const sorted = [...samples].sort((a, b) => a.t - b.t);
  const merged = new Map<number, { requests: number; failures: number; latencyWeighted: number; p95: number | null; p50: number | null }>();
  for (const p of inference) {
    const slot = merged.get(p.t) ?? { requests: 0, failures: 0, latencyWeighted: 0, p95: null, p50: null };
    slot.requests += p.requests;
    slot.failures += p.failures;
    slot.latencyWeighted += (p.meanLatencyMs ?? 0) * p.requests;
    // Across models the worst p95 is the honest single number (percentiles do not add).
    if (p.p95LatencyMs !== undefined) slot.p95 = Math.max(slot.p95 ?? 0, p.p95LatencyMs);
    if (p.p50LatencyMs !== undefined) slot.p50 = Math.max(slot.p50 ?? 0, p.p50LatencyMs);
    merged.set(p.t, slot);
  }
  const windowTimes = [...merged.keys()].sort((a, b) => a - b);
  const width = widths(windowTimes, resolution);
  const slots = windowTimes.map((t) => merged.get(t)!);
  return {
    sampleTimes: sorted.map((s) => s.t),
    cpu: sorted.map((s) => s.cpu ?? null),
    memoryPercent: sorted.map((s) => (s.memUsed !== undefined && s.memTotal ? (100 * s.memUsed) / s.memTotal : null)),
    temperature: sorted.map((s) => s.tempMax ?? null),
    windowTimes,
    requestsPerS: slots.map((s, i) => ((width[i] ?? 0) > 0 ? s.requests / ((width[i] ?? 1) / 1000) : null)),
    failuresPerMin: slots.map((s, i) => ((width[i] ?? 0) > 0 ? s.failures / ((width[i] ?? 1) / 60_000) : null)),
    p50Ms: slots.map((s) => s.p50),
    meanMs: slots.map((s) => (s.requests > 0 ? s.latencyWeighted / s.requests : null)),
    p95Ms: slots.map((s) => s.p95),
  };
}
