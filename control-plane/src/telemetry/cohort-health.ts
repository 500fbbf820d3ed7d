/**
 * Cohort health: what the rollout engine gates a wave on (issue 6). One call answers for one cohort —
 * a set of devices running one model version over one time range — with the sample counts behind every
 * number, so the caller can refuse a verdict on too little data (compare AWS IoT Jobs' "minimum number
 * of executed devices").
 *
 * The rollout engine forms cohorts itself (wave × hardware class × version): it knows the waves and
 * reads hardware classes from the device registry, then asks once per cohort, e.g.
 *
 * @example
 *   const canary = await health.cohortHealth({ model: 'det', version: '2.0.0', deviceIds: wave1, from, to });
 *   const baseline = await health.cohortHealth({ model: 'det', version: '1.9.0', deviceIds: stillOnOld, from, to });
 *   if (canary.requests >= 200 && canary.failureRate! > baseline.failureRate! + 0.02) pause();
 */

export interface CohortHealthQuery {
  model: string;
  version: string;
  /** The cohort. An empty list answers with zero counts (never "all devices"). */
  deviceIds: readonly string[];
  /** Unix ms, inclusive. */
  from: number;
  /** Unix ms, exclusive. */
  to: number;
}

export interface CohortHealth {
  model: string;
  version: string;
  from: number;
  to: number;
  /** Inference requests the cohort reported for this model version in [from, to). */
  requests: number;
  /** Failed requests, all reasons together. */
  failures: number;
  /** failures / requests; undefined when requests is 0. */
  failureRate: number | undefined;
  /** Failures by reason (e.g. INFERENCE_FAILED, INFERENCE_TIMEOUT). */
  failuresByReason: Record<string, number>;
  /**
   * p95 latency in ms from the cohort's merged histograms (LATENCY_BUCKETS_MS, linear interpolation
   * inside a bucket as Prometheus' histogram_quantile does); undefined when requests is 0.
   */
  p95LatencyMs: number | undefined;
  /** Mean latency in ms; undefined when requests is 0. */
  meanLatencyMs: number | undefined;
  /** Requests behind the latency numbers (equals `requests`). */
  latencySamples: number;
  /** Inference windows the numbers were merged from. */
  samples: number;
  /** Cohort devices with at least one inference window for this version in range. */
  devicesReporting: number;
  /** Cohort size as asked. */
  devices: number;
  /**
   * Share of (device × minute) slots in [from, to) in which the cohort's devices sent telemetry at all
   * (0..1); undefined for an empty cohort or range. A crashed or offline agent lowers it.
   */
  availability: number | undefined;
  /** The (device × minute) slots behind `availability`: seen / expected. */
  availabilitySlots: { seen: number; expected: number };
}

/** The port the rollout engine codes against; the telemetry service implements it. */
export interface CohortHealthSource {
  cohortHealth(query: CohortHealthQuery): Promise<CohortHealth>;
}
