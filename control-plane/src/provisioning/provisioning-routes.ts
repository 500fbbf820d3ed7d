import { z } from 'zod';
import {
  EdgefleetError,
  createProvisioningKeyRequestSchema,
  createdProvisioningKeySchema,
  deviceIdSchema,
  deviceKeyChangeSchema,
  deviceSchema,
  enrolReplySchema,
  enrolRequestSchema,
  pendingEnrolmentListSchema,
  pendingEnrolmentSchema,
  provisioningKeyListSchema,
  provisioningKeySchema,
  rotateKeyRequestSchema,
  type ProvisioningAgentConfig,
} from '@edgefleet/shared';
import type { FastifyReply } from 'fastify';
import { defineRoute, type AnyRouteSpec } from '../api/route-registry.js';
import type { RateLimiter } from './rate-limiter.js';
import type { ProvisioningService } from './provisioning-service.js';

export interface ProvisioningRouteDeps {
  service: ProvisioningService;
  fleetPublicKeyPem: string;
  limits: { perSource: RateLimiter; perKey: RateLimiter };
}

const idParams = z.object({ id: deviceIdSchema });

function limited(reply: FastifyReply, limiter: RateLimiter, key: string, what: string): void {
  const wait = limiter.take(key);
  if (wait === 0) return;
  reply.header('retry-after', String(wait));
  throw new EdgefleetError('RATE_LIMITED', `too many enrolments ${what}; retry in ${wait} s`, { details: { retryAfterS: wait } });
}

export function provisioningRoutes(deps: ProvisioningRouteDeps): AnyRouteSpec[] {
  const { service } = deps;
  return [
    defineRoute({
      method: 'POST', url: '/provisioning-keys', summary: 'Create a provisioning key; the key is in this reply only', tags: ['provisioning'], access: 'admin', status: 201,
      body: createProvisioningKeyRequestSchema, response: createdProvisioningKeySchema,
      handler: async ({ body, principal, request }) => {
        const created = await service.createKey(body, principal.actor);
        request.auditTarget = `provisioning-key:${created.provisioningKey.id}`;
        // The URL the caller reached us by is the one an image should carry.
        const agentConfig: ProvisioningAgentConfig = { provisioning: { serverUrl: `${request.protocol}://${request.host}`, key: created.key }, fleetPublicKey: deps.fleetPublicKeyPem };
        return { ...created, agentConfig };
      },
    }),
    defineRoute({
      method: 'GET', url: '/provisioning-keys', summary: 'List provisioning keys (never the keys themselves)', tags: ['provisioning'], access: 'admin',
      response: provisioningKeyListSchema,
      handler: async () => ({ keys: await service.listKeys() }),
    }),
    defineRoute({
      method: 'DELETE', url: '/provisioning-keys/:id', summary: 'Revoke a provisioning key: no device enrols with it any more', tags: ['provisioning'], access: 'admin',
      params: z.object({ id: z.string().min(1).max(64) }), response: provisioningKeySchema, auditTarget: (p) => `provisioning-key:${p.id}`,
      handler: async ({ params }) => await service.revokeKey(params.id),
    }),
    defineRoute({
      method: 'POST', url: '/enrol', summary: 'A device with no identity enrols with a provisioning key and proof of its own key (201 enrolled, 202 pending)', tags: ['provisioning'], access: 'public',
      bodyLimitBytes: 16 * 1024, body: enrolRequestSchema, response: enrolReplySchema,
      handler: async ({ body, request, reply }) => {
        request.auditTarget = `device:${body.deviceId}`;
        limited(reply, deps.limits.perSource, request.ip, `from ${request.ip}`);
        const keyId = await service.keyIdOf(body.provisioningKey);
        if (keyId) limited(reply, deps.limits.perKey, keyId, `with provisioning key ${keyId}`);
        const result = await service.enrol(body, request.ip);
        reply.code(result.status === 'enrolled' ? 201 : 202);
        return result;
      },
    }),
    defineRoute({
      method: 'GET', url: '/enrolments', summary: 'Enrolments waiting for approval (and rejected ones)', tags: ['provisioning'], access: 'viewer',
      response: pendingEnrolmentListSchema,
      handler: async () => ({ enrolments: await service.pending() }),
    }),
    defineRoute({
      method: 'POST', url: '/devices/:id/approve', summary: 'Approve a pending enrolment: the device is created with its key', tags: ['provisioning'], access: 'operator',
      params: idParams, response: deviceSchema, auditTarget: (p) => `device:${p.id}`,
      handler: async ({ params }) => await service.approve(params.id),
    }),
    defineRoute({
      method: 'POST', url: '/devices/:id/reject', summary: 'Reject a pending enrolment: the device is told so and stays out', tags: ['provisioning'], access: 'operator',
      params: idParams, response: pendingEnrolmentSchema, auditTarget: (p) => `device:${p.id}`,
      handler: async ({ params }) => await service.reject(params.id),
    }),
    defineRoute({
      // Public: the proof signed by the registered key is the authentication, as at enrolment.
      method: 'POST', url: '/devices/:id/rotate-key', summary: 'An enrolled device replaces its key, signed by the registered key and the new one; tokens of the old key are refused after', tags: ['provisioning'], access: 'public',
      bodyLimitBytes: 16 * 1024, params: idParams, body: rotateKeyRequestSchema, response: deviceKeyChangeSchema, auditTarget: (p) => `device:${p.id}`,
      handler: async ({ params, body, request, reply }) => {
        limited(reply, deps.limits.perSource, request.ip, `from ${request.ip}`);
        return await service.rotateKey(params.id, body, request.ip);
      },
    }),
    defineRoute({
      method: 'POST', url: '/devices/:id/revoke-key', summary: "Revoke an enrolled device's key: its tokens are refused at once and it must enrol again with a provisioning key", tags: ['provisioning'], access: 'operator',
      params: idParams, response: deviceKeyChangeSchema, auditTarget: (p) => `device:${p.id}`,
      handler: async ({ params }) => await service.revokeDeviceKey(params.id),
    }),
  ];
}
