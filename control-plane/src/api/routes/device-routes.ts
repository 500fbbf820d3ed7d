import { z } from 'zod';
import {
  commandRequestSchema,
  commandResultSchema,
  createDeviceRequestSchema,
  createDevicesBulkRequestSchema,
  desiredStateSchema,
  deviceDetailSchema,
  deviceIdSchema,
  deviceListQuerySchema,
  deviceListSchema,
  provisionedDeviceSchema,
  provisionedDevicesSchema,
  setDesiredModelsRequestSchema,
} from '@edgefleet/shared';
import { defineRoute, type AnyRouteSpec } from '../route-registry.js';
import type { ApiServices } from './services.js';

const idParams = z.object({ id: deviceIdSchema });
const commandBody = z.object({
  command: z.unknown(),
  timeoutMs: z.number().int().positive().max(300_000).default(30_000),
});

export function deviceRoutes(s: ApiServices): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'GET', url: '/devices', summary: 'List devices (filter by tag, status, model)', tags: ['devices'], access: 'viewer',
      query: deviceListQuerySchema, response: deviceListSchema,
      handler: async ({ query }) => ({ devices: await s.devices.list(query) }),
    }),
    defineRoute({
      method: 'POST', url: '/devices', summary: 'Provision a device; the secret is in this reply only', tags: ['devices'], access: 'operator', status: 201,
      body: createDeviceRequestSchema, response: provisionedDeviceSchema,
      handler: async ({ body, request }) => {
        request.auditTarget = `device:${body.id}`;
        return (await s.devices.add([body]))[0];
      },
    }),
    defineRoute({
      method: 'POST', url: '/devices/bulk', summary: 'Provision many devices at once (all or nothing)', tags: ['devices'], access: 'operator', status: 201,
      body: createDevicesBulkRequestSchema, response: provisionedDevicesSchema,
      handler: async ({ body, request }) => {
        request.auditTarget = `devices:${body.devices.length}`;
        return { devices: await s.devices.add(body.devices) };
      },
    }),
    defineRoute({
      method: 'GET', url: '/devices/:id', summary: 'A device with its reported and desired state', tags: ['devices'], access: 'viewer',
      params: idParams, response: deviceDetailSchema,
      handler: async ({ params }) => await s.devices.get(params.id),
    }),
    defineRoute({
      method: 'DELETE', url: '/devices/:id', summary: 'Remove a device (its credentials stop working at once)', tags: ['devices'], access: 'admin', status: 204,
      params: idParams, auditTarget: (p) => `device:${p.id}`,
      handler: async ({ params }) => {
        await s.devices.remove(params.id);
        return undefined;
      },
    }),
    defineRoute({
      method: 'POST', url: '/devices/:id/rotate', summary: 'Issue a secret-provisioned device a new secret (in this reply only); the old one stops working', tags: ['devices'], access: 'operator',
      params: idParams, response: provisionedDeviceSchema, auditTarget: (p) => `device:${p.id}`,
      handler: async ({ params }) => await s.devices.rotateSecret(params.id),
    }),
    defineRoute({
      method: 'GET', url: '/devices/:id/desired', summary: "A device's desired state", tags: ['devices'], access: 'viewer',
      params: idParams, response: desiredStateSchema,
      handler: async ({ params }) => {
        await s.devices.get(params.id);
        return (await s.desired.get(params.id)) ?? { deviceId: params.id, generation: 0, issuedAt: new Date(0).toISOString(), models: [] };
      },
    }),
    defineRoute({
      method: 'PUT', url: '/devices/:id/desired', summary: 'Pin registry versions on one device (publishes a new generation)', tags: ['devices'], access: 'operator',
      params: idParams, body: setDesiredModelsRequestSchema, response: desiredStateSchema, auditTarget: (p) => `device:${p.id}`,
      handler: async ({ params, body }) => {
        await s.devices.get(params.id);
        const models = await Promise.all(body.models.map((m) => s.models.desiredModel(m.name, m.version)));
        return await s.desired.setDeviceModels(params.id, models);
      },
    }),
    defineRoute({
      method: 'POST', url: '/devices/:id/commands', summary: 'Send a command and wait for its result', tags: ['devices'], access: 'operator',
      params: idParams, body: commandBody, response: commandResultSchema, auditTarget: (p) => `device:${p.id}`,
      handler: async ({ params, body }) => {
        const command = commandRequestSchema.parse({ id: 'placeholder', ...(body.command as object) });
        const { id: _placeholder, ...rest } = command;
        return await s.commands.send(params.id, rest, { timeoutMs: body.timeoutMs });
      },
    }),
  ];
}
