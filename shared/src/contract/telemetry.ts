import { z } from 'zod';
import { deviceIdSchema, executionProviderSchema, isoTimeSchema, modelNameSchema, modelVersionSchema } from './common.js';

/**
 * Latency histogram bucket upper bounds in milliseconds, shared by agent and control plane so
 * cohort p95s can be merged across devices. The last count is the +Inf bucket.
 */
export const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] as const;

/** One device sample. Short keys: a batch crosses metered links (cellular) every 30 s. */
export const deviceSampleSchema = z.object({
  /** Unix ms. */
  t: z.number().int().nonnegative(),
  /** CPU load 0-100 %. */
  cpu: z.number().min(0).max(100).optional(),
  memUsed: z.number().nonnegative().optional(),
  memTotal: z.number().nonnegative().optional(),
  diskFree: z.number().nonnegative().optional(),
  diskTotal: z.number().nonnegative().optional(),
  /** °C by zone/sensor name. */
  temps: z.record(z.string(), z.number()).optional(),
  uptimeS: z.number().nonnegative().optional(),
  netUp: z.boolean().optional(),
  /** GPU load 0-100 % (Jetson sysfs or nvidia-smi). */
  gpu: z.number().min(0).max(100).optional(),
  /** Power rails in mW by name. */
  power: z.record(z.string(), z.number()).optional(),
  agentRss: z.number().nonnegative().optional(),
  loopLagMs: z.number().nonnegative().optional(),
});
export type DeviceSample = z.infer<typeof deviceSampleSchema>;

/** Inference counters for one {model, version, ep} over [from, to). */
export const inferenceWindowSchema = z.object({
  model: modelNameSchema,
  version: modelVersionSchema,
  ep: executionProviderSchema,
  from: z.number().int().nonnegative(),
  to: z.number().int().nonnegative(),
  requests: z.number().int().nonnegative(),
  failures: z.record(z.string(), z.number().int().nonnegative()).default({}),
  /** Counts per LATENCY_BUCKETS_MS bucket plus +Inf (length = buckets + 1). */
  latency: z.array(z.number().int().nonnegative()).length(LATENCY_BUCKETS_MS.length + 1),
  latencySumMs: z.number().nonnegative(),
  queueSumMs: z.number().nonnegative().default(0),
});
export type InferenceWindow = z.infer<typeof inferenceWindowSchema>;

/** Device → control plane, QoS 1. `seq` lets the control plane drop redeliveries. */
export const telemetryBatchSchema = z.object({
  deviceId: deviceIdSchema,
  seq: z.number().int().nonnegative(),
  sentAt: isoTimeSchema,
  samples: z.array(deviceSampleSchema).max(10_000),
  inference: z.array(inferenceWindowSchema).max(10_000).default([]),
  /** Cumulative counts of low-priority data the outbox dropped at its cap, since the agent's data dir was created. */
  dropped: z.object({ batches: z.number().int().nonnegative(), samples: z.number().int().nonnegative() }).default({ batches: 0, samples: 0 }),
});
export type TelemetryBatch = z.infer<typeof telemetryBatchSchema>;
