import { z } from 'zod';
import { deviceIdSchema, errorInfoSchema, executionProviderSchema, generationSchema, isoTimeSchema, modelNameSchema, modelVersionSchema } from './common.js';
import { epCandidateSchema } from './hardware.js';

const eventBase = {
  deviceId: deviceIdSchema,
  /** Unique per event (the control plane de-duplicates QoS 1 redeliveries by it). */
  eventId: z.string().min(1).max(64),
  /** Per-device, monotonically increasing across restarts (from the agent's durable outbox). */
  seq: z.number().int().nonnegative(),
  at: isoTimeSchema,
  generation: generationSchema,
  model: modelNameSchema,
  version: modelVersionSchema,
  rolloutId: z.string().optional(),
};

/** Measured values behind a probation or smoke-test verdict. */
export const verdictMetricsSchema = z.object({
  requests: z.number().int().nonnegative(),
  failures: z.number().int().nonnegative(),
  failureRate: z.number().min(0).max(1).optional(),
  p95LatencyMs: z.number().nonnegative().optional(),
  thresholds: z.record(z.string(), z.number()).optional(),
});

export const deploymentEventSchema = z.discriminatedUnion('type', [
  z.object({ ...eventBase, type: z.literal('queued') }),
  z.object({ ...eventBase, type: z.literal('downloading'), bytes: z.number().nonnegative(), total: z.number().nonnegative() }),
  z.object({ ...eventBase, type: z.literal('verified') }),
  z.object({ ...eventBase, type: z.literal('loading') }),
  z.object({ ...eventBase, type: z.literal('smoke-testing') }),
  z.object({
    ...eventBase,
    type: z.literal('active'),
    ep: executionProviderSchema.optional(),
    epCandidates: z.array(epCandidateSchema).optional(),
    previous: modelVersionSchema.optional(),
  }),
  z.object({ ...eventBase, type: z.literal('failed'), error: errorInfoSchema }),
  z.object({
    ...eventBase,
    type: z.literal('rolled-back'),
    /** The version now active again. */
    to: modelVersionSchema.optional(),
    reason: errorInfoSchema,
    metrics: verdictMetricsSchema.optional(),
  }),
]);
export type DeploymentEvent = z.infer<typeof deploymentEventSchema>;
export type DeploymentEventType = DeploymentEvent['type'];
