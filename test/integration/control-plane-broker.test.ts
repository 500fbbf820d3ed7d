import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { deviceTopic, encodePayload, presenceSchema, reportedStateSchema } from '@edgefleet/shared';
import { TOKEN_USERNAME } from '@edgefleet/control-plane';
import { startControlPlane, type TestControlPlane } from '../helpers/index.js';
import { EXPECTED_MATRIX, connect, connectDevice, connectRefused, runAclMatrix, type Creds } from './control-plane-acl-matrix.js';

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('embedded broker: device authentication and topic ACLs', () => {
  let h: TestControlPlane;
  let a: Creds;
  let b: Creds;
  let observer: MqttClient;

  beforeAll(async () => {
    h = await startControlPlane();
    a = await h.provisionDevice('dev-a');
    b = await h.provisionDevice('dev-b');
    // Operators reach the broker with an admin API token as the password.
    observer = await connect(h.mqttUrl, { username: TOKEN_USERNAME, password: h.adminToken, clientId: 'observer' });
  });
  afterAll(async () => {
    await observer?.endAsync(true);
    await h?.close();
  });

  it('enforces the device ACL matrix', async () => {
    expect(await runAclMatrix(h.mqttUrl, a, b, observer)).toEqual(EXPECTED_MATRIX);
  });

  it('refuses a device that borrows another device id as its MQTT client id', async () => {
    expect(await connectRefused(h.mqttUrl, { username: a.id, password: a.secret, clientId: b.id })).toBeDefined();
    const ok = await connectDevice(h.mqttUrl, a, `${a.id}-agent`);
    await ok.endAsync(true);
  });

  it('refuses a viewer token publishing and a revoked token connecting', async () => {
    const viewer = await h.token('viewer');
    const client = await connect(h.mqttUrl, { username: TOKEN_USERNAME, password: viewer, clientId: 'viewer-1' });
    const seen: string[] = [];
    observer.on('message', (t) => seen.push(t));
    await observer.subscribeAsync(deviceTopic(a.id, 'desired'));
    await client.publishAsync(deviceTopic(a.id, 'desired'), 'x').catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).not.toContain(deviceTopic(a.id, 'desired'));
    await client.endAsync(true);
    const created = await h.cp.tokens.create({ name: 'gone', role: 'admin', createdBy: 'test' });
    await h.cp.tokens.revoke(created.token.id);
    expect(await connectRefused(h.mqttUrl, { username: TOKEN_USERNAME, password: created.secret, clientId: 'revoked' })).toBeDefined();
  });

  it('refuses a removed device at once', async () => {
    const gone = await h.provisionDevice('dev-gone');
    (await connectDevice(h.mqttUrl, gone)).end(true);
    await h.cp.devices.remove('dev-gone');
    expect(await connectRefused(h.mqttUrl, { username: gone.id, password: gone.secret, clientId: gone.id })).toBeDefined();
  });

  it('tracks presence from the retained status and the last will, and stores reported state', async () => {
    const c = await h.provisionDevice('dev-p');
    const offline = encodePayload(presenceSchema, { deviceId: c.id, status: 'offline' });
    const client = await connectDevice(h.mqttUrl, c);
    // A will only fires on an unclean end; reconnect with one configured.
    await client.endAsync(true);
    const withWill = await (await import('mqtt')).default.connectAsync(h.mqttUrl, {
      username: c.id, password: c.secret, clientId: c.id, reconnectPeriod: 0,
      will: { topic: deviceTopic(c.id, 'presence'), payload: offline, qos: 1, retain: true },
    });
    await withWill.publishAsync(deviceTopic(c.id, 'presence'), encodePayload(presenceSchema, { deviceId: c.id, status: 'online', agentVersion: '9.9.9' }), { qos: 1, retain: true });
    await withWill.publishAsync(
      deviceTopic(c.id, 'reported'),
      encodePayload(reportedStateSchema, { deviceId: c.id, observedGeneration: 0, appliedGeneration: 0, agentVersion: '9.9.9', reportedAt: new Date().toISOString(), models: [{ name: 'm', installed: ['1'], active: '1', state: 'active' }] }),
      { qos: 1, retain: true },
    );
    await until(async () => {
      const d = await h.cp.devices.get(c.id);
      return d.status === 'online' && d.models.m !== undefined;
    });
    const online = await h.cp.devices.get(c.id);
    expect(online.agentVersion).toBe('9.9.9');
    expect(online.lastSeen).toBeDefined();
    expect(online.models).toEqual({ m: '1' });
    expect((await h.cp.devices.list({ model: 'm@1' })).map((d) => d.id)).toEqual([c.id]);
    // Kill the socket: the broker publishes the will.
    withWill.stream.destroy();
    await until(async () => (await h.cp.devices.get(c.id)).status === 'offline');
  });

  it('drops a message whose payload names another device', async () => {
    await connectDevice(h.mqttUrl, a).then(async (client) => {
      await client.publishAsync(deviceTopic(a.id, 'presence'), encodePayload(presenceSchema, { deviceId: b.id, status: 'online' }), { qos: 1 });
      await client.endAsync();
    });
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.cp.devices.get(b.id)).status).not.toBe('online');
  });
});
