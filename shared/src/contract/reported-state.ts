import { z } from 'zod';
import { deviceIdSchema, errorInfoSchema, executionProviderSchema, generationSchema, isoTimeSchema, modelNameSchema, modelVersionSchema } from './common.js';
import { epCandidateSchema, hardwareProfileSchema } from './hardware.js';

export const modelStateSchema = z.enum([
  'pending',
  'downloading',
  'verifying',
  'loading',
  'smoke-testing',
  'probation',
  'active',
  'failed',
  'rolled-back',
  'removed',
]);
export type ModelState = z.infer<typeof modelStateSchema>;

export const reportedModelSchema = z.object({
  name: modelNameSchema,
  /** Versions present in the on-disk repository. */
  installed: z.array(modelVersionSchema),
  active: modelVersionSchema.optional(),
  previous: modelVersionSchema.optional(),
  /** The version the agent is working towards, when it differs from `active`. */
  target: modelVersionSchema.optional(),
  state: modelStateSchema,
  ep: executionProviderSchema.optional(),
  epCandidates: z.array(epCandidateSchema).optional(),
  progress: z.object({ bytes: z.number().nonnegative(), total: z.number().nonnegative() }).optional(),
  lastError: errorInfoSchema.optional(),
  rolloutId: z.string().optional(),
});
export type ReportedModel = z.infer<typeof reportedModelSchema>;

/** Device → control plane, retained: what the device is and runs right now. */
export const reportedStateSchema = z.object({
  deviceId: deviceIdSchema,
  /** The newest desired generation the agent has seen. */
  observedGeneration: generationSchema,
  /** The newest desired generation fully applied (every model converged or failed terminally). */
  appliedGeneration: generationSchema,
  agentVersion: z.string(),
  reportedAt: isoTimeSchema,
  hardware: hardwareProfileSchema.optional(),
  executionProviders: z.array(executionProviderSchema).default([]),
  models: z.array(reportedModelSchema),
  freeDiskBytes: z.number().nonnegative().optional(),
});
export type ReportedState = z.infer<typeof reportedStateSchema>;

/** Retained; the agent's last will publishes `offline` for it. */
export const presenceSchema = z.object({
  deviceId: deviceIdSchema,
  status: z.enum(['online', 'offline']),
  at: isoTimeSchema.optional(),
  agentVersion: z.string().optional(),
});
export type Presence = z.infer<typeof presenceSchema>;
