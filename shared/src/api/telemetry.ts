import { z } from 'zod';
import { deviceIdSchema, executionProviderSchema, modelNameSchema, modelVersionSchema } from '../contract/common.js';

/**
 * Telemetry REST queries (GET /api/v1/telemetry/...), used by the dashboard and the CLI. Query
 * strings arrive as text, so numbers are coerced. Times are Unix ms or ISO strings.
 */

const timeSchema = z.union([z.coerce.number().int().nonnegative(), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]);

/** `raw`, `1m`, `1h`, or `auto` (the finest resolution still retained for `from`). */
export const telemetryResolutionSchema = z.enum(['auto', 'raw', '1m', '1h']);
export type TelemetryResolution = z.infer<typeof telemetryResolutionSchema>;

/** Which devices: explicit ids (comma-separated), a tag selector (`site=berlin,class=jetson-orin`), or a rollout cohort. */
const deviceSelection = {
  deviceIds: z
    .string()
    .optional()
    .transform((s) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean)))
    .pipe(z.array(deviceIdSchema).max(20_000).optional()),
  selector: z.string().max(1024).optional(),
  rolloutId: z.string().max(128).optional(),
  /** Wave index (0-based) inside the rollout; all waves when absent. */
  wave: z.coerce.number().int().nonnegative().optional(),
};

const range = {
  from: timeSchema,
  to: timeSchema.optional(),
};

export const telemetrySamplesQuerySchema = z.object({ ...deviceSelection, ...range, resolution: telemetryResolutionSchema.default('auto') });
export type TelemetrySamplesQuery = z.output<typeof telemetrySamplesQuerySchema>;

export const telemetryInferenceQuerySchema = z.object({
  ...deviceSelection,
  ...range,
  resolution: telemetryResolutionSchema.default('auto'),
  model: modelNameSchema.optional(),
  version: modelVersionSchema.optional(),
  /** One series per device instead of the selection's sum. */
  perDevice: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});
export type TelemetryInferenceQuery = z.output<typeof telemetryInferenceQuerySchema>;

export const cohortHealthQuerySchema = z.object({ ...deviceSelection, ...range, model: modelNameSchema, version: modelVersionSchema });
export type CohortHealthRequest = z.output<typeof cohortHealthQuerySchema>;

/** One point of a device's resource series: means over the bucket (the sample itself at raw), maxima beside them. */
export const samplePointSchema = z.object({
  t: z.number(),
  /** Samples merged into this point. */
  n: z.number().int(),
  cpu: z.number().optional(),
  memUsed: z.number().optional(),
  memTotal: z.number().optional(),
  diskFree: z.number().optional(),
  diskTotal: z.number().optional(),
  gpu: z.number().optional(),
  tempMax: z.number().optional(),
  powerMw: z.number().optional(),
  agentRss: z.number().optional(),
  loopLagMs: z.number().optional(),
  max: z.record(z.string(), z.number()).default({}),
});
export type SamplePoint = z.infer<typeof samplePointSchema>;

export const telemetrySamplesResponseSchema = z.object({
  resolution: z.enum(['raw', '1m', '1h']),
  from: z.number(),
  to: z.number(),
  series: z.array(z.object({ deviceId: deviceIdSchema, points: z.array(samplePointSchema) })),
});
export type TelemetrySamplesResponse = z.infer<typeof telemetrySamplesResponseSchema>;

export const inferencePointSchema = z.object({
  t: z.number(),
  model: modelNameSchema,
  version: modelVersionSchema,
  ep: executionProviderSchema,
  deviceId: deviceIdSchema.optional(),
  requests: z.number().int(),
  failures: z.number().int(),
  failureRate: z.number().optional(),
  p95LatencyMs: z.number().optional(),
  meanLatencyMs: z.number().optional(),
  meanQueueMs: z.number().optional(),
});
export type InferencePoint = z.infer<typeof inferencePointSchema>;

export const telemetryInferenceResponseSchema = z.object({
  resolution: z.enum(['raw', '1m', '1h']),
  from: z.number(),
  to: z.number(),
  points: z.array(inferencePointSchema),
});
export type TelemetryInferenceResponse = z.infer<typeof telemetryInferenceResponseSchema>;

export const cohortHealthResponseSchema = z.object({
  model: modelNameSchema,
  version: modelVersionSchema,
  from: z.number(),
  to: z.number(),
  requests: z.number().int(),
  failures: z.number().int(),
  failureRate: z.number().optional(),
  failuresByReason: z.record(z.string(), z.number()),
  p95LatencyMs: z.number().optional(),
  meanLatencyMs: z.number().optional(),
  latencySamples: z.number().int(),
  samples: z.number().int(),
  devicesReporting: z.number().int(),
  devices: z.number().int(),
  availability: z.number().optional(),
  availabilitySlots: z.object({ seen: z.number().int(), expected: z.number().int() }),
});
export type CohortHealthResponse = z.infer<typeof cohortHealthResponseSchema>;

/** What the control plane knows about each device's telemetry stream. */
export const telemetryDeviceStatusSchema = z.object({
  deviceId: deviceIdSchema,
  firstSeen: z.number(),
  lastSeen: z.number(),
  lastSampleT: z.number().optional(),
  batches: z.number().int(),
  /** Cumulative low-priority data the device's outbox dropped at its cap (device-reported). */
  dropped: z.object({ batches: z.number().int(), samples: z.number().int() }),
});
export type TelemetryDeviceStatus = z.infer<typeof telemetryDeviceStatusSchema>;
export const telemetryDevicesResponseSchema = z.object({ devices: z.array(telemetryDeviceStatusSchema) });
