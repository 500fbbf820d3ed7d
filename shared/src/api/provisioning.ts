import { z } from 'zod';
import { deviceIdSchema } from '../contract/common.js';
import { deviceTagsSchema } from './devices.js';

/** `30d`, `12h`, `90m`, `3600s`: lifetimes of provisioning keys. */
export function parseDurationS(text: string): number {
  const m = /^(\d+)([smhd])$/.exec(text.trim());
  if (!m) throw new TypeError(`${JSON.stringify(text)} is not a duration like 30d, 12h, 90m or 3600s`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

export const createProvisioningKeyRequestSchema = z.object({
  /** Tags every device enrolled with this key gets. */
  tags: deviceTagsSchema.default({}),
  /** Devices this key may enrol; omitted = unlimited. */
  maxUses: z.number().int().positive().max(10_000_000).optional(),
  /** Lifetime in seconds from creation; omitted = until revoked. */
  expiresInS: z.number().int().positive().max(10 * 365 * 86_400).optional(),
  /** Devices wait in `pending` until an operator approves them. */
  requireApproval: z.boolean().default(false),
  /** Optional name for the key (a factory line, a batch). */
  name: z.string().max(128).optional(),
});
export type CreateProvisioningKeyRequest = z.input<typeof createProvisioningKeyRequestSchema>;

export const provisioningKeySchema = z.object({
  id: z.string(),
  name: z.string().optional(),
  tags: deviceTagsSchema,
  maxUses: z.number().int().optional(),
  uses: z.number().int(),
  expiresAt: z.string().optional(),
  requireApproval: z.boolean(),
  revokedAt: z.string().optional(),
  createdAt: z.string(),
  createdBy: z.string(),
  status: z.enum(['active', 'exhausted', 'expired', 'revoked']),
});
export type ProvisioningKey = z.infer<typeof provisioningKeySchema>;

/** The agent config an image carries: how to reach the control plane and enrol, no device identity. */
export const provisioningAgentConfigSchema = z.object({
  provisioning: z.object({ serverUrl: z.string(), key: z.string() }),
  fleetPublicKey: z.string(),
  broker: z.object({ caFile: z.string().optional() }).optional(),
});
export type ProvisioningAgentConfig = z.infer<typeof provisioningAgentConfigSchema>;

/** Shown exactly once: the control plane keeps only the key's hash. */
export const createdProvisioningKeySchema = z.object({
  key: z.string(),
  provisioningKey: provisioningKeySchema,
  agentConfig: provisioningAgentConfigSchema,
});
export type CreatedProvisioningKey = z.infer<typeof createdProvisioningKeySchema>;

export const provisioningKeyListSchema = z.object({ keys: z.array(provisioningKeySchema) });

/** POST /enrol: an agent with no identity proves possession of its own key. */
export const enrolRequestSchema = z
  .object({
    deviceId: deviceIdSchema,
    /** SPKI PEM of the device's Ed25519 key. */
    publicKey: z.string().min(1).max(1024),
    provisioningKey: z.string().min(1).max(256),
    at: z.iso.datetime(),
    nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'nonce: 16-64 base64url characters'),
    /** base64 Ed25519 signature of shared's enrolmentProofMessage. */
    proof: z.string().min(1).max(128),
    /** What the device says about itself, kept with a pending enrolment for the operator. */
    hostname: z.string().max(255).optional(),
  })
  .strict();
export type EnrolRequest = z.infer<typeof enrolRequestSchema>;

/** POST /devices/{id}/rotate-key: an enrolled device replaces its key, authorised by the registered one. */
export const rotateKeyRequestSchema = z
  .object({
    /** SPKI PEM of the new Ed25519 key. */
    newPublicKey: z.string().min(1).max(1024),
    at: z.iso.datetime(),
    nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'nonce: 16-64 base64url characters'),
    /** base64 Ed25519 signature of shared's keyRotationProofMessage by the registered key. */
    proof: z.string().min(1).max(128),
    /** The same message signed by the new key. */
    newKeyProof: z.string().min(1).max(128),
  })
  .strict();
export type RotateKeyRequest = z.infer<typeof rotateKeyRequestSchema>;

/** What a key change (rotation by the device, revocation by an operator) left registered. */
export const deviceKeyChangeSchema = z.object({
  deviceId: deviceIdSchema,
  /** Fingerprint of the key now registered; absent after a revocation (the device must enrol again). */
  fingerprint: z.string().optional(),
  previousFingerprint: z.string(),
});
export type DeviceKeyChange = z.infer<typeof deviceKeyChangeSchema>;

export const enrolReplySchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('enrolled'),
    deviceId: deviceIdSchema,
    /** The broker to connect to; the password is a token the device signs itself. */
    broker: z.object({ url: z.string(), username: z.string() }),
    /** Longest device-token lifetime the broker accepts, seconds. */
    tokenLifetimeS: z.number().int().positive(),
    tags: deviceTagsSchema,
  }),
  z.object({ status: z.literal('pending'), deviceId: deviceIdSchema, retryAfterS: z.number().int().positive() }),
]);
export type EnrolReply = z.infer<typeof enrolReplySchema>;

export const pendingEnrolmentSchema = z.object({
  deviceId: deviceIdSchema,
  keyFingerprint: z.string(),
  provisioningKeyId: z.string(),
  tags: deviceTagsSchema,
  requestedAt: z.string(),
  lastSeenAt: z.string(),
  source: z.string().optional(),
  hostname: z.string().optional(),
  status: z.enum(['pending', 'rejected']),
});
export type PendingEnrolment = z.infer<typeof pendingEnrolmentSchema>;
export const pendingEnrolmentListSchema = z.object({ enrolments: z.array(pendingEnrolmentSchema) });
