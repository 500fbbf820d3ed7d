import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentConfigSchema,
  commandRequestSchema,
  commandResultSchema,
  desiredStateSchema,
  deviceTopic,
  encodePayload,
  parsePayload,
  type AuditEntry,
  type ProvisionedDevice,
} from '@edgefleet/shared';
import { startControlPlane, tmpDataDir, type TestControlPlane } from '../helpers/index.js';
import { connectDevice } from './control-plane-acl-matrix.js';

describe('REST API: tokens, roles, audit, provisioning', () => {
  let h: TestControlPlane;
  let viewer: string;
  let operator: string;

  beforeAll(async () => {
    h = await startControlPlane();
    viewer = await h.token('viewer', 'dash');
    operator = await h.token('operator', 'ops');
  });
  afterAll(async () => h?.close());

  it('answers 401 without or with a bad token and 403 for a role that may not act', async () => {
    expect(await h.api('GET', '/devices', { token: null })).toMatchObject({ status: 401, body: { code: 'AUTH_REQUIRED' } });
    expect(await h.api('GET', '/devices', { token: 'eft_nope' })).toMatchObject({ status: 401, body: { code: 'AUTH_INVALID' } });
    expect((await h.api('GET', '/devices', { token: viewer })).status).toBe(200);
    expect(await h.api('POST', '/devices', { token: viewer, body: { id: 'v-1' } })).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect((await h.api('POST', '/tokens', { token: operator, body: { name: 'x', role: 'admin' } })).status).toBe(403);
    expect((await h.api('GET', '/audit', { token: operator })).status).toBe(403);
    expect((await h.api('DELETE', '/devices/any', { token: operator })).status).toBe(403);
  });

  it('provisions devices (one and bulk) with a secret shown once and a ready agent config', async () => {
    const one = await h.api<ProvisionedDevice>('POST', '/devices', { token: operator, body: { id: 'cam-01', tags: { site: 'berlin' } } });
    expect(one.status).toBe(201);
    const config = agentConfigSchema.parse(one.body.agentConfig);
    expect(config).toMatchObject({ deviceId: 'cam-01', broker: { url: h.mqttUrl, username: 'cam-01', password: one.body.secret }, fleetPublicKey: h.fleetPublicKeyPem });
    // The generated config really connects.
    await (await connectDevice(h.mqttUrl, { id: 'cam-01', secret: one.body.secret })).endAsync(true);
    const detail = await h.api<Record<string, unknown>>('GET', '/devices/cam-01', { token: viewer });
    expect(JSON.stringify(detail.body)).not.toContain(one.body.secret);

    const bulk = await h.api<{ devices: ProvisionedDevice[] }>('POST', '/devices/bulk', { token: operator, body: { devices: [{ id: 'cam-02' }, { id: 'cam-03', tags: { site: 'paris' } }] } });
    expect(bulk.status).toBe(201);
    expect(new Set(bulk.body.devices.map((d) => d.secret)).size).toBe(2);
    // All or nothing: one existing id refuses the whole batch.
    expect(await h.api('POST', '/devices/bulk', { token: operator, body: { devices: [{ id: 'cam-04' }, { id: 'cam-01' }] } })).toMatchObject({ status: 409, body: { code: 'DEVICE_EXISTS' } });
    expect((await h.api('GET', '/devices/cam-04')).status).toBe(404);
    expect(await h.api('POST', '/devices', { token: operator, body: { id: 'bad/id' } })).toMatchObject({ status: 400, body: { code: 'PAYLOAD_INVALID' } });
    const berlin = await h.api<{ devices: { id: string }[] }>('GET', '/devices?tag=site%3Dberlin', { token: viewer });
    expect(berlin.body.devices.map((d) => d.id)).toEqual(['cam-01']);
    const neverSeen = await h.api<{ devices: { id: string }[] }>('GET', '/devices?status=never-seen', { token: viewer });
    expect(neverSeen.body.devices.map((d) => d.id)).toEqual(['cam-01', 'cam-02', 'cam-03']);
  });

  it('records every mutating call in the audit log: who, what, when, result', async () => {
    const { body } = await h.api<{ entries: AuditEntry[] }>('GET', '/audit?limit=50');
    const entries = body.entries;
    expect(entries.find((e) => e.action === 'POST /api/v1/devices' && e.status === 201)).toMatchObject({ actor: expect.stringMatching(/^token:.*:ops$/), target: 'device:cam-01', outcome: 'ok' });
    expect(entries.find((e) => e.action === 'POST /api/v1/devices' && e.status === 403)).toMatchObject({ actor: expect.stringMatching(/:dash$/), outcome: 'refused' });
    expect(entries.find((e) => e.action === 'POST /api/v1/devices/bulk' && e.status === 409)).toMatchObject({ outcome: 'failed' });
    expect(entries.find((e) => e.action === 'DELETE /api/v1/devices/:id')).toMatchObject({ status: 403, target: 'device:any' });
    expect(entries.every((e) => !Number.isNaN(Date.parse(e.at)))).toBe(true);
    // Reads are not audited.
    expect(entries.some((e) => e.action.startsWith('GET'))).toBe(false);
  });

  it('creates, lists and revokes tokens; a revoked token stops working', async () => {
    const created = await h.api<{ token: { id: string }; secret: string }>('POST', '/tokens', { body: { name: 'temp', role: 'viewer' } });
    expect(created.status).toBe(201);
    expect((await h.api('GET', '/devices', { token: created.body.secret })).status).toBe(200);
    const list = await h.api<{ tokens: Record<string, unknown>[] }>('GET', '/tokens');
    expect(JSON.stringify(list.body)).not.toContain(created.body.secret);
    expect(list.body.tokens.map((t) => t.name)).toEqual(expect.arrayContaining(['bootstrap-admin', 'dash', 'ops', 'temp']));
    expect((await h.api('DELETE', `/tokens/${created.body.token.id}`)).status).toBe(200);
    expect((await h.api('GET', '/devices', { token: created.body.secret })).status).toBe(401);
    expect(await h.api('DELETE', '/tokens/nope')).toMatchObject({ status: 404, body: { code: 'TOKEN_NOT_FOUND' } });
  });

  it('serves OpenAPI, /healthz and /metrics (fastify inject)', async () => {
    const doc = (await h.cp.api.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
    expect(doc.openapi).toBe('3.0.3');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/devices', '/api/v1/devices/{id}/desired', '/api/v1/models/{name}/versions/{version}', '/api/v1/tokens', '/api/v1/audit', '/api/v1/artifacts/{sha256}']));
    expect(doc.paths['/api/v1/devices'].post.requestBody.content['application/json'].schema.properties.id).toBeDefined();
    const health = await h.cp.api.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    // SQLite: the one process always leads, with no fencing token.
    expect(health.json()).toMatchObject({ status: 'ok', broker: { mode: 'embedded', connected: true }, lease: { leader: true, token: null } });
    const metrics = (await h.cp.api.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/edgefleet_devices\{status="never-seen"\} 3/);
    expect(metrics).toContain('edgefleet_mqtt_connected_clients');
    expect(metrics).toMatch(/edgefleet_lease_leader\{replica="[^"]+"\} 1/);
    expect(metrics).toContain('edgefleet_cp_process_resident_memory_bytes');
  });

  it('sends a command and returns the correlated result; times out clearly', async () => {
    const dev = await h.provisionDevice('cmd-dev');
    const client = await connectDevice(h.mqttUrl, dev);
    await client.subscribeAsync(deviceTopic(dev.id, 'commands'), { qos: 1 });
    client.on('message', (_t, payload) => {
      const cmd = parsePayload(commandRequestSchema, payload);
      if (cmd.type === 'ping') {
        client.publish(deviceTopic(dev.id, 'command-results'), encodePayload(commandResultSchema, { id: cmd.id, deviceId: dev.id, type: 'ping', ok: true, at: new Date().toISOString(), result: { pong: true } }));
      }
    });
    expect(await h.cp.sendCommand(dev.id, { type: 'ping' })).toMatchObject({ ok: true, result: { pong: true } });
    const viaRest = await h.api('POST', `/devices/${dev.id}/commands`, { token: operator, body: { command: { type: 'ping' } } });
    expect(viaRest).toMatchObject({ status: 200, body: { ok: true } });
    await expect(h.cp.sendCommand(dev.id, { type: 'reload' }, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'COMMAND_TIMEOUT' });
    await expect(h.cp.sendCommand('nobody', { type: 'ping' })).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    await client.endAsync(true);
  });
});

describe('lifecycle: desired state survives a restart (real listen, same data dir)', () => {
  it('keeps generations monotonic, persisted and re-published retained after restart', async () => {
    const dir = await tmpDataDir('edgefleet-cp-restart-');
    try {
      const first = await startControlPlane({ dataDir: dir.path });
      const dev = await first.provisionDevice('keep-1');
      await first.pushModel({ name: 'm', version: '1', bytes: (await import('../helpers/index.js')).addModel() });
      await first.api('PUT', '/devices/keep-1/desired', { body: { models: [{ name: 'm', version: '1' }] } });
      const g2 = await first.cp.desired.setDeviceModels('keep-1', []);
      expect(g2.generation).toBe(2);
      const admin = first.adminToken;
      await first.close();
      expect(first.cp.state()).toBe('stopped');

      const second = await startControlPlane({ dataDir: dir.path });
      try {
        // Same admin token, same fleet key, same devices.
        expect(second.adminToken).toBe(admin);
        expect(second.fleetPublicKeyPem).toBe(first.fleetPublicKeyPem);
        const client = await connectDevice(second.mqttUrl, dev);
        const retained = new Promise<Buffer>((resolve) => client.on('message', (_t, p) => resolve(p)));
        await client.subscribeAsync(deviceTopic(dev.id, 'desired'), { qos: 1 });
        expect(parsePayload(desiredStateSchema, await retained).generation).toBe(2);
        await client.endAsync(true);
        const g3 = await second.cp.desired.setDeviceModels('keep-1', [await second.desiredModel('m', '1')]);
        expect(g3.generation).toBe(3);
        const res = await second.api<{ generation: number }>('GET', '/devices/keep-1/desired');
        expect(res.body.generation).toBe(3);
      } finally {
        await second.close();
      }
    } finally {
      await dir.cleanup();
    }
  });
});
