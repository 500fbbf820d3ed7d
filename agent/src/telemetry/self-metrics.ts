import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/**
 * The agent's own footprint: RSS and event-loop lag. A blocked loop is the first sign of an inference
 * running on the main thread (reference.md §2: session.run() stalls it) or of a leak (balena's 321 MB).
 */
export interface SelfMetrics {
  start(): void;
  /** RSS bytes now, and the p99 loop delay (ms) since the previous read. */
  read(): { agentRss: number; loopLagMs?: number };
  stop(): void;
}

export function createSelfMetrics(resolutionMs = 20): SelfMetrics {
  let histogram: IntervalHistogram | undefined;
  return {
    start() {
      histogram ??= monitorEventLoopDelay({ resolution: resolutionMs });
      histogram.enable();
    },
    read() {
      const agentRss = process.memoryUsage.rss();
      if (!histogram || histogram.count === 0) return { agentRss };
      // The histogram counts the timer's own resolution as delay; subtract it to report lag.
      const loopLagMs = Math.max(0, histogram.percentile(99) / 1e6 - resolutionMs);
      histogram.reset();
      return { agentRss, loopLagMs: Math.round(loopLagMs * 100) / 100 };
    },
    stop() {
      histogram?.disable();
    },
  };
}
