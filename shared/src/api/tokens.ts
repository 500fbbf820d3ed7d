import { z } from 'zod';
import { apiRoleSchema } from './common.js';

export const createTokenRequestSchema = z.object({
  name: z.string().min(1).max(128),
  role: apiRoleSchema,
});
export type CreateTokenRequest = z.infer<typeof createTokenRequestSchema>;

export const apiTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: apiRoleSchema,
  createdAt: z.string(),
  createdBy: z.string(),
  revokedAt: z.string().optional(),
  lastUsedAt: z.string().optional(),
});
export type ApiToken = z.infer<typeof apiTokenSchema>;

/** The secret appears once, in the create reply; only its sha256 is stored. */
export const createdTokenSchema = z.object({ token: apiTokenSchema, secret: z.string() });
export type CreatedToken = z.infer<typeof createdTokenSchema>;

export const tokenListSchema = z.object({ tokens: z.array(apiTokenSchema) });
