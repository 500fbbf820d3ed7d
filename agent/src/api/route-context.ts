import { toEdgefleetError } from '@edgefleet/shared';
import type { InferenceRuntime } from '../inference/runtime-port.js';
import type { BodyPool } from './body-pool.js';
import type { InferenceMetrics } from './metrics.js';
import type { ModelStats } from './model-stats.js';

/**
 * What every protocol front end of the local API shares (HTTP routes and the gRPC services): one
 * runtime, one metrics registry, one statistics table, one readiness flag. The API server makes it;
 * the gRPC listener is handed the same one, so both count into the same numbers.
 */
export interface ServingContext {
  runtime: InferenceRuntime;
  metrics: InferenceMetrics;
  /** Triton's per-model statistics (`/v2/models/stats`, ModelStatistics). */
  stats: ModelStats;
  /** Binary request bodies, handed back by the runtime after their run. */
  bodyPool: BodyPool;
  isReady(): boolean;
  version: string;
  /** Largest request body or message. */
  maxBodyBytes: number;
}

/** The name the HTTP route modules use for it. */
export type RouteContext = ServingContext;

/** Codes the runtime already counted as a failure of a version (so the API does not count them twice). */
const COUNTED_BY_RUNTIME = new Set(['INFERENCE_QUEUE_FULL', 'INFERENCE_TIMEOUT', 'INFERENCE_FAILED', 'DRAIN_TIMEOUT']);

/** Counts a request that failed before or around the runtime in the Prometheus failure counter. */
export function countFailure(context: ServingContext, model: string, error: unknown): void {
  const code = toEdgefleetError(error).code;
  if (!COUNTED_BY_RUNTIME.has(code)) context.metrics.rejected(model, code);
}

/** Counts a failed request, then rethrows it for the error handler. */
export function countRejection(context: ServingContext, model: string, error: unknown): never {
  countFailure(context, model, error);
  throw error;
}
