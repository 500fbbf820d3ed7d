import { z } from 'zod';
import { errorCodes } from '../errors/codes.js';

/** API token roles, weakest first: viewer reads, operator changes the fleet, admin manages tokens and the audit log. */
export const API_ROLES = ['viewer', 'operator', 'admin'] as const;
export const apiRoleSchema = z.enum(API_ROLES);
export type ApiRole = z.infer<typeof apiRoleSchema>;

/** True when `role` is at least `required`. */
export function roleAllows(role: ApiRole, required: ApiRole): boolean {
  return API_ROLES.indexOf(role) >= API_ROLES.indexOf(required);
}

/** Every REST error reply (docs/errors.md). */
export const apiErrorSchema = z.object({
  error: z.string(),
  code: z.enum(errorCodes as [string, ...string[]]),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ApiError = z.infer<typeof apiErrorSchema>;

export const auditEntrySchema = z.object({
  id: z.string(),
  at: z.string(),
  /** `token:<id>:<name>`, `device:<id>`, `cli`, or `anonymous`. */
  actor: z.string(),
  /** e.g. `POST /api/v1/devices`. */
  action: z.string(),
  target: z.string().optional(),
  status: z.number().int(),
  outcome: z.enum(['ok', 'refused', 'failed']),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

export const auditQuerySchema = z.object({
  limit: z.coerce.number().int().positive().max(1000).default(100),
  actor: z.string().optional(),
  /** ISO time; entries strictly older than it (paging backwards). */
  before: z.string().optional(),
});
export type AuditQuery = z.infer<typeof auditQuerySchema>;

export const healthSchema = z.object({
  status: z.enum(['ok', 'starting', 'draining']),
  version: z.string(),
  broker: z.object({ mode: z.enum(['embedded', 'external']), connected: z.boolean() }),
  uptimeS: z.number(),
  /** Which replica answered and whether it holds the singleton lease (several replicas on PostgreSQL). */
  lease: z.object({ replica: z.string(), leader: z.boolean(), token: z.number().int().nullable() }).optional(),
});
export type Health = z.infer<typeof healthSchema>;
