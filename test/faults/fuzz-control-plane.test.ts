/**
 * Fault cases against a real control plane (embedded broker, SQLite, REST API, rollout plugin):
 * - 10,000 fuzzed MQTT payloads (100,000 long) published by an authenticated device on its own
 *   device→cp channels, planting another device's id among other mutations;
 * - 10,000 fuzzed HTTP requests (100,000 long) at the REST API with an admin token (so they pass
 *   authentication and reach validation) and with bad credentials.
 * No crash, every HTTP reply a clear 4xx ({error, code}), the other device untouched, and the
 * control plane still works afterwards.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiErrorSchema, deviceTopic, encodePayload, reportedStateSchema, type ProvisionedDevice } from '@edgefleet/shared';
import { identityModel } from '../helpers/onnx-models.js';
import { startCpRig, type CpRig } from './lib/cp-rig.js';
import { classifyReply, httpFuzzRequests, sendRequest, type HttpRoute, type ReplyClass } from './lib/http-fuzz.js';
import { countMutations, mqttFuzzMessages } from './lib/mqtt-fuzz.js';
import { faultsLong, recordFaultCase } from './lib/results.js';

const COUNT = faultsLong() ? 100_000 : 10_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const within = <T>(p: Promise<T>, ms: number, fallback: T): Promise<T> => Promise.race([p.catch(() => fallback), sleep(ms).then(() => fallback)]);

/** Parameters name resources that do not exist, so no mutation can damage real ones. */
const ROUTES: HttpRoute[] = [
  { method: 'GET', path: '/api/v1/devices' },
  { method: 'POST', path: '/api/v1/devices', body: { id: 'fuzz-new-device', tags: { site: 'x' } } },
  { method: 'POST', path: '/api/v1/devices/bulk', body: { devices: [{ id: 'fuzz-bulk-1' }] } },
  { method: 'GET', path: '/api/v1/devices/:id', params: { id: 'no-such-device' } },
  { method: 'DELETE', path: '/api/v1/devices/:id', params: { id: 'no-such-device' } },
  { method: 'GET', path: '/api/v1/devices/:id/desired', params: { id: 'no-such-device' } },
  { method: 'PUT', path: '/api/v1/devices/:id/desired', params: { id: 'no-such-device' }, body: { models: [{ name: 'm', version: '1' }] } },
  { method: 'POST', path: '/api/v1/devices/:id/commands', params: { id: 'no-such-device' }, body: { type: 'ping' } },
  { method: 'GET', path: '/api/v1/models' },
  { method: 'GET', path: '/api/v1/models/:name', params: { name: 'no-such-model' } },
  { method: 'GET', path: '/api/v1/models/:name/versions/:version', params: { name: 'no-such-model', version: '1.0.0' } },
  { method: 'POST', path: '/api/v1/models/:name/versions/:version', params: { name: 'fuzz-model', version: '1.0.0' } },
  { method: 'POST', path: '/api/v1/blobs' },
  { method: 'GET', path: '/api/v1/tokens' },
  { method: 'POST', path: '/api/v1/tokens', body: { name: 'fuzz', role: 'viewer' } },
  { method: 'DELETE', path: '/api/v1/tokens/:id', params: { id: 'no-such-token' } },
  { method: 'GET', path: '/api/v1/audit' },
  { method: 'GET', path: '/api/v1/rollouts' },
  { method: 'POST', path: '/api/v1/rollouts', body: { model: 'no-such-model', version: '1.0.0', target: { kind: 'all' } } },
  { method: 'GET', path: '/api/v1/rollouts/:id', params: { id: 'no-such-rollout' } },
  { method: 'POST', path: '/api/v1/rollouts/:id/pause', params: { id: 'no-such-rollout' } },
  { method: 'POST', path: '/api/v1/rollouts/:id/abort', params: { id: 'no-such-rollout' }, body: { mode: 'keep' } },
  { method: 'GET', path: '/api/v1/artifacts/:sha256', params: { sha256: 'ab'.repeat(32) } },
];

let rig: CpRig;
let a: ProvisionedDevice;
let b: ProvisionedDevice;

beforeAll(async () => {
  rig = await startCpRig({ logLevel: 'warn' });
  [a, b] = (await rig.provision(['fuzz-cp-a', 'fuzz-cp-b'])) as [ProvisionedDevice, ProvisionedDevice];
  await rig.pushModel('real-model', '1.0.0', identityModel());
});

afterAll(async () => {
  await rig?.close();
});

async function health(): Promise<boolean> {
  const r = await sendRequest(rig.httpUrl, { method: 'GET', path: '/api/v1/devices', headers: { authorization: `Bearer ${rig.adminToken}` } });
  return r?.status === 200;
}

describe('fuzzing the control plane', () => {
  it(`${COUNT.toLocaleString('en-US')} fuzzed MQTT payloads from an authenticated device`, async () => {
    const started = Date.now();
    const A = a.device.id;
    const B = b.device.id;
    const bBefore = JSON.stringify(await rig.cp.devices.get(B));
    const client = await mqtt.connectAsync(rig.mqttUrl, { clientId: A, username: A, password: a.secret, reconnectPeriod: 200 });
    let disconnects = 0;
    client.on('close', () => (disconnects += 1));
    const messages = [...mqttFuzzMessages({ seed: 777, count: COUNT, target: 'control-plane', deviceId: A, otherDeviceId: B })];
    let timedOut = 0;
    for (let i = 0; i < messages.length; i += 100) {
      const acks = await Promise.all(messages.slice(i, i + 100).map((m) => within(client.publishAsync(deviceTopic(A, m.channel), m.payload, { qos: 1 }).then(() => true), 10_000, false)));
      timedOut += acks.filter((x) => !x).length;
    }
    await sleep(1000);
    // The control plane still takes a valid reported state from A, and B is untouched.
    await client.publishAsync(deviceTopic(A, 'reported'), encodePayload(reportedStateSchema, { deviceId: A, observedGeneration: 0, appliedGeneration: 0, agentVersion: 'post-fuzz', reportedAt: new Date().toISOString(), models: [] }), { qos: 1, retain: true });
    let aUpdated = false;
    for (let i = 0; i < 50 && !aUpdated; i += 1) {
      aUpdated = JSON.stringify(await rig.cp.devices.get(A)).includes('post-fuzz');
      if (!aUpdated) await sleep(100);
    }
    await client.endAsync(true);
    const bAfter = JSON.stringify(await rig.cp.devices.get(B));
    const running = rig.cp.state() === 'running' && (await health());
    const dropped = rig.logs.filter((l) => (l.level as number) >= 40).length;
    recordFaultCase(
      'mqtt-fuzz-control-plane',
      {
        title: `${COUNT.toLocaleString('en-US')} fuzzed MQTT payloads at the control plane from an authenticated device`,
        counts: {
          payloads: messages.length,
          'publishes not acknowledged within 10 s (connection dropped by the broker)': timedOut,
          'client disconnects': disconnects,
          'payloads dropped with a warning': dropped,
          ...Object.fromEntries(Object.entries(countMutations(messages)).map(([k, v]) => [`mutation ${k}`, v])),
        },
        goals: [
          { name: 'control plane crashes', value: running ? 0 : 1, target: '= 0', met: running },
          { name: 'other device’s record changed', value: bAfter === bBefore ? 0 : 1, target: '= 0', met: bAfter === bBefore },
          { name: 'valid report accepted after the fuzz', value: aUpdated ? 1 : 0, target: '= 1', met: aUpdated },
        ],
      },
      started,
    );
    expect(running).toBe(true);
    expect(bAfter).toBe(bBefore);
    expect(aUpdated).toBe(true);
  });

  it(`${COUNT.toLocaleString('en-US')} fuzzed HTTP requests at the REST API: every reply a clear 4xx`, async () => {
    const started = Date.now();
    const classes: Record<ReplyClass, number> = { 'clear-4xx': 0, 'bare-4xx': 0, '2xx': 0, '3xx': 0, '5xx': 0, 'no-reply': 0 };
    const statuses: Record<string, number> = {};
    let withCode = 0;
    const offenders: string[] = [];
    const requests = [...httpFuzzRequests({ seed: 31337, count: COUNT, routes: ROUTES, authorization: `Bearer ${rig.adminToken}`, oversizeBytes: 1024 * 1024 + 1024, queryRoute: '/api/v1/audit' })];
    for (let i = 0; i < requests.length; i += 8) {
      await Promise.all(
        requests.slice(i, i + 8).map(async (req) => {
          const reply = await sendRequest(rig.httpUrl, req);
          const cls = classifyReply(reply);
          classes[cls] += 1;
          if (reply) statuses[String(reply.status)] = (statuses[String(reply.status)] ?? 0) + 1;
          if (cls === 'clear-4xx' && reply && apiErrorSchema.safeParse(JSON.parse(reply.body)).success) withCode += 1;
          if (cls !== 'clear-4xx' && offenders.length < 10) offenders.push(`#${req.index} ${req.mutation} ${req.method} ${req.path.slice(0, 100)} → ${reply?.status ?? 'no reply'} ${reply?.body.slice(0, 160) ?? ''}`);
        }),
      );
    }
    const running = rig.cp.state() === 'running' && (await health());
    recordFaultCase(
      'http-fuzz-control-plane',
      {
        title: `${COUNT.toLocaleString('en-US')} fuzzed HTTP requests at the control plane's REST API`,
        counts: {
          requests: requests.length,
          'replies matching apiErrorSchema {error, code}': withCode,
          ...Object.fromEntries(Object.entries(classes).map(([k, v]) => [`reply ${k}`, v])),
          ...Object.fromEntries(Object.entries(statuses).map(([k, v]) => [`status ${k}`, v])),
        },
        goals: [
          { name: 'clear 4xx replies', value: classes['clear-4xx'] / requests.length, target: '100 %', met: classes['clear-4xx'] === requests.length },
          { name: '5xx replies', value: classes['5xx'], target: '= 0', met: classes['5xx'] === 0 },
          { name: 'control plane crashes', value: running ? 0 : 1, target: '= 0', met: running },
        ],
        notes: offenders.length ? [`Replies that were not a clear 4xx (first 10): ${offenders.join(' | ')}`] : [],
      },
      started,
    );
    expect(offenders).toEqual([]);
    expect(running).toBe(true);
  });
});
