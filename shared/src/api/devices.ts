import { z } from 'zod';
import { deviceIdSchema, generationSchema, modelNameSchema, modelVersionSchema } from '../contract/common.js';
import { desiredStateSchema } from '../contract/desired-state.js';
import { reportedStateSchema } from '../contract/reported-state.js';

/** Device tags: `site=berlin`, `class=jetson-orin`; keys and values are short plain strings. */
export const deviceTagsSchema = z.record(
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/, 'tag key: 1-64 of A-Z a-z 0-9 . _ / -'),
  z.string().max(256),
);
export type DeviceTags = z.infer<typeof deviceTagsSchema>;

/** Parses `k=v,k2=v2` (the CLI form of tags and of the list filter). */
export function parseTagList(text: string): DeviceTags {
  const tags: Record<string, string> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new TypeError(`tag ${JSON.stringify(part)} is not key=value`);
    tags[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return deviceTagsSchema.parse(tags);
}

export const devicePresenceStatusSchema = z.enum(['online', 'offline', 'never-seen']);
export type DevicePresenceStatus = z.infer<typeof devicePresenceStatusSchema>;

export const createDeviceRequestSchema = z.object({
  id: deviceIdSchema,
  tags: deviceTagsSchema.default({}),
});
export type CreateDeviceRequest = z.input<typeof createDeviceRequestSchema>;

/** Bulk provisioning: all or nothing (one bad or existing id refuses the whole batch). */
export const createDevicesBulkRequestSchema = z.object({
  devices: z.array(createDeviceRequestSchema).min(1).max(1000),
});
export type CreateDevicesBulkRequest = z.input<typeof createDevicesBulkRequestSchema>;

/** One row of the device list. */
export const deviceSchema = z.object({
  id: deviceIdSchema,
  tags: deviceTagsSchema,
  createdAt: z.string(),
  status: devicePresenceStatusSchema,
  lastSeen: z.string().optional(),
  agentVersion: z.string().optional(),
  /** Active version per model, from the reported state. */
  models: z.record(z.string(), z.string()).default({}),
  desiredGeneration: generationSchema.optional(),
  appliedGeneration: generationSchema.optional(),
});
export type Device = z.infer<typeof deviceSchema>;

export const deviceDetailSchema = deviceSchema.extend({
  reported: reportedStateSchema.optional(),
  desired: desiredStateSchema.optional(),
});
export type DeviceDetail = z.infer<typeof deviceDetailSchema>;

/** The part of an agent config the control plane writes; agentConfigSchema fills in the rest. */
export const provisionedAgentConfigSchema = z.object({
  deviceId: deviceIdSchema,
  broker: z.object({ url: z.string(), username: z.string(), password: z.string(), caFile: z.string().optional() }),
  fleetPublicKey: z.string(),
});
export type ProvisionedAgentConfig = z.infer<typeof provisionedAgentConfigSchema>;

/** Shown exactly once, at creation: the secret is stored only as a salted hash. */
export const provisionedDeviceSchema = z.object({
  device: deviceSchema,
  secret: z.string(),
  /** A ready agent config: the minimal agentConfigSchema input (broker URL, credentials, fleet public key). */
  agentConfig: provisionedAgentConfigSchema,
});
export type ProvisionedDevice = z.infer<typeof provisionedDeviceSchema>;

export const provisionedDevicesSchema = z.object({ devices: z.array(provisionedDeviceSchema) });

export const deviceListQuerySchema = z.object({
  /** `k=v[,k2=v2]`: every tag must match. */
  tag: z.string().optional(),
  status: devicePresenceStatusSchema.optional(),
  /** `name` (runs any version) or `name@version` (that version active). */
  model: z.string().optional(),
});
export type DeviceListQuery = z.infer<typeof deviceListQuerySchema>;

export const deviceListSchema = z.object({ devices: z.array(deviceSchema) });

/** PUT /devices/:id/desired — pin exact registry versions; the server resolves artifacts and signatures. */
export const setDesiredModelsRequestSchema = z.object({
  models: z.array(z.object({ name: modelNameSchema, version: modelVersionSchema })).max(32),
});
export type SetDesiredModelsRequest = z.infer<typeof setDesiredModelsRequestSchema>;
