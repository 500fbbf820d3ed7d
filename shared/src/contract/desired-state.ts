import { z } from 'zod';
import { deviceIdSchema, executionProviderSchema, generationSchema, isoTimeSchema, modelNameSchema, modelVersionSchema, sha256Schema } from './common.js';

/** Everything a device needs to fetch and verify an artifact (the signed manifest plus where to get it). */
export const artifactRefSchema = z.object({
  sha256: sha256Schema,
  size: z.number().int().positive(),
  /** ISO time the manifest was signed; part of the signed bytes. */
  createdAt: z.string(),
  /** Ed25519 signature (base64) over the canonical manifest {name, version, sha256, size, createdAt}. */
  signature: z.string().min(1).max(512),
  /** Optional HTTP(S) location; without it the artifact comes over MQTT in chunks. */
  url: z.string().url().optional(),
});
export type ArtifactRef = z.infer<typeof artifactRefSchema>;

/** Thresholds the agent applies itself after activation; a breach rolls back locally. */
export const probationSchema = z.object({
  windowMs: z.number().int().positive().default(60_000),
  /** Inference failures / requests over the window. */
  maxFailureRate: z.number().min(0).max(1).default(0.05),
  maxP95LatencyMs: z.number().positive().optional(),
  /** No verdict on fewer requests than this. */
  minRequests: z.number().int().nonnegative().default(20),
});
export type Probation = z.infer<typeof probationSchema>;

export const epPolicySchema = z.object({
  /** Use exactly this EP (fail if it does not start). */
  pin: executionProviderSchema.optional(),
  forbid: z.array(executionProviderSchema).default([]),
});
export type EpPolicy = z.infer<typeof epPolicySchema>;

export const desiredModelSchema = z.object({
  name: modelNameSchema,
  version: modelVersionSchema,
  artifact: artifactRefSchema,
  /** Golden input (a KServe v2 infer request body as JSON) for the smoke test. */
  golden: z.object({ sha256: sha256Schema, size: z.number().int().positive().max(16 * 1024 * 1024) }).optional(),
  rolloutId: z.string().optional(),
  probation: probationSchema.optional(),
  ep: epPolicySchema.optional(),
});
export type DesiredModel = z.infer<typeof desiredModelSchema>;

/**
 * Control plane → device, retained. `generation` increases monotonically per device; an agent
 * ignores a generation lower than the one it already holds (retained replays, QoS 1 duplicates).
 */
export const desiredStateSchema = z.object({
  deviceId: deviceIdSchema,
  generation: generationSchema,
  issuedAt: isoTimeSchema,
  models: z.array(desiredModelSchema).max(32).refine((models) => new Set(models.map((m) => m.name)).size === models.length, {
    message: 'each model name may appear once',
  }),
});
export type DesiredState = z.infer<typeof desiredStateSchema>;
