import { z } from 'zod';
import { apiTokenSchema, auditEntrySchema, auditQuerySchema, createTokenRequestSchema, createdTokenSchema, tokenListSchema } from '@edgefleet/shared';
import { defineRoute, type AnyRouteSpec } from '../route-registry.js';
import type { ApiServices } from './services.js';

export function tokenRoutes(s: ApiServices): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'GET', url: '/tokens', summary: 'List API tokens (never their secrets)', tags: ['tokens'], access: 'admin', response: tokenListSchema,
      handler: async () => ({ tokens: await s.tokens.list() }),
    }),
    defineRoute({
      method: 'POST', url: '/tokens', summary: 'Create an API token; the secret is in this reply only', tags: ['tokens'], access: 'admin', status: 201,
      body: createTokenRequestSchema, response: createdTokenSchema,
      handler: async ({ body, principal, request }) => {
        const created = await s.tokens.create({ ...body, createdBy: principal.actor });
        request.auditTarget = `token:${created.token.id}:${created.token.name}`;
        return created;
      },
    }),
    defineRoute({
      method: 'DELETE', url: '/tokens/:id', summary: 'Revoke an API token', tags: ['tokens'], access: 'admin',
      params: z.object({ id: z.string().min(1).max(64) }), response: apiTokenSchema, auditTarget: (p) => `token:${p.id}`,
      handler: async ({ params }) => await s.tokens.revoke(params.id),
    }),
    defineRoute({
      method: 'GET', url: '/audit', summary: 'The audit log, newest first', tags: ['audit'], access: 'admin',
      query: auditQuerySchema, response: z.object({ entries: z.array(auditEntrySchema) }),
      handler: async ({ query }) => ({ entries: await s.store.audit.list(query) }),
    }),
  ];
}
