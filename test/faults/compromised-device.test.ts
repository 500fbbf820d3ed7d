/**
 * Fault case: a compromised device. With device A's valid credentials, try every MQTT topic of
 * device B and of the fleet (subscribe and publish), B's identity (its client id, its username),
 * B's artifact over MQTT chunks and over HTTP, and every operator API. Every attempt must be
 * refused and logged (security log records for MQTT, the HTTP request log / audit log for the API),
 * and B's state must be untouched. Then the provisioning attacks: a replayed enrolment, a revoked
 * provisioning key, squatting enrolled and secret-provisioned ids, rotated-away credentials, and broker logins with device
 * tokens that are forged, expired or minted for another id.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  artifactChunkRequestSchema,
  decodeArtifactChunk,
  DEVICE_CHANNELS,
  deviceTopic,
  encodePayload,
  reportedStateSchema,
  TOPIC_PREFIX,
  generateDeviceKeyPair,
  mintDeviceToken,
  signEnrolmentProof,
  signKeyRotation,
  type DeviceKeyPair,
  type EnrolRequest,
  type ProvisionedDevice,
} from '@edgefleet/shared';
import { identityModel } from '../helpers/onnx-models.js';
import { startCpRig, type CpRig } from './lib/cp-rig.js';
import { sendRequest } from './lib/http-fuzz.js';
import { recordFaultCase } from './lib/results.js';

let rig: CpRig;
let a: ProvisionedDevice;
let b: ProvisionedDevice;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** A refused MQTT operation may never complete (the broker drops the connection): bound every wait. */
const within = <T>(p: Promise<T>, ms: number, fallback: T): Promise<T> => Promise.race([p.catch(() => fallback), sleep(ms).then(() => fallback)]);

beforeAll(async () => {
  rig = await startCpRig();
  [a, b] = (await rig.provision(['victim-a-attacker', 'victim-b'])) as [ProvisionedDevice, ProvisionedDevice];
  await rig.pushModel('secret-model', '1.0.0', identityModel());
  await rig.cp.desired.setDeviceModels(b.device.id, [await rig.cp.models.desiredModel('secret-model', '1.0.0')]);
});

afterAll(async () => {
  await rig?.close();
});

async function connect(clientId: string, username: string, password: string): Promise<MqttClient | string> {
  try {
    return await mqtt.connectAsync(rig.mqttUrl, { clientId, username, password, reconnectPeriod: 0, connectTimeout: 5000 });
  } catch (err) {
    return String(err);
  }
}

describe('a compromised device (valid credentials of A) against B and the operators', () => {
  it('every attempt is refused and logged', async () => {
    const started = Date.now();
    const A = a.device.id;
    const B = b.device.id;
    const attempts: { what: string; refused: boolean; logged: boolean }[] = [];
    const securityLogs = (): Record<string, unknown>[] => rig.logs.filter((l) => typeof l.security === 'string');

    // 1. Identity: B's username with A's secret; A's username with B's client id (session takeover).
    for (const [what, clientId, username] of [
      ['connect as B with A’s secret', B, B],
      ['connect with A’s credentials and B’s client id', B, A],
    ] as const) {
      const before = securityLogs().length;
      const res = await connect(clientId, username, a.secret);
      const refused = typeof res === 'string';
      if (!refused) await within(res.endAsync(true), 1000, undefined);
      await sleep(50);
      attempts.push({ what, refused, logged: securityLogs().length > before });
    }

    // 2. Subscriptions: every channel of B, wildcards over all devices and the whole tree.
    const attacker = await mqtt.connectAsync(rig.mqttUrl, { clientId: A, username: A, password: a.secret, reconnectPeriod: 0 });
    const received: string[] = [];
    attacker.on('message', (topic) => received.push(topic));
    const filters = [
      ...DEVICE_CHANNELS.map((c) => deviceTopic(B, c)),
      `${TOPIC_PREFIX}/devices/+/desired`,
      `${TOPIC_PREFIX}/devices/+/artifact-chunks`,
      `${TOPIC_PREFIX}/devices/${B}/#`,
      `${TOPIC_PREFIX}/#`,
      '#',
      '$SYS/#',
      `${TOPIC_PREFIX}/devices/${A}/#`,
      `${TOPIC_PREFIX}/devices/${A}/reported`,
    ];
    for (const filter of filters) {
      const before = securityLogs().length;
      // MQTT.js rejects when the SUBACK carries 0x80 (refused).
      const refused = await within(
        attacker.subscribeAsync(filter, { qos: 1 }).then((granted) => granted.every((g) => g.qos === 128)),
        3000,
        true,
      );
      await sleep(20);
      attempts.push({ what: `subscribe ${filter}`, refused, logged: securityLogs().length > before });
    }

    // 3. Publishes to every channel of B (aedes drops the connection on a refused publish, so reconnect each time).
    let publisher: MqttClient | undefined;
    for (const channel of DEVICE_CHANNELS) {
      publisher ??= await mqtt.connectAsync(rig.mqttUrl, { clientId: `${A}-pub`, username: A, password: a.secret, reconnectPeriod: 0, connectTimeout: 5000 });
      const before = securityLogs().length;
      const payload = channel === 'reported'
        ? encodePayload(reportedStateSchema, { deviceId: B, observedGeneration: 999, appliedGeneration: 999, agentVersion: 'compromised', reportedAt: new Date().toISOString(), models: [] })
        : Buffer.from(JSON.stringify({ deviceId: B, compromised: true }));
      await within(publisher.publishAsync(deviceTopic(B, channel), payload, { qos: 1 }), 1000, undefined);
      await sleep(100);
      if (!publisher.connected) {
        await within(publisher.endAsync(true), 1000, undefined);
        publisher = undefined;
      }
      attempts.push({ what: `publish ${deviceTopic(B, channel)}`, refused: true, logged: securityLogs().length > before });
    }
    if (publisher) await within(publisher.endAsync(true), 1000, undefined);
    // A reported state on A's own topic naming B: must not change B.
    await within(attacker.publishAsync(deviceTopic(A, 'reported'), encodePayload(reportedStateSchema, { deviceId: B, observedGeneration: 999, appliedGeneration: 999, agentVersion: 'compromised', reportedAt: new Date().toISOString(), models: [] }), { qos: 1 }), 3000, undefined);
    await sleep(300);
    const bNow = await rig.cp.devices.get(B);
    const bTouched = JSON.stringify(bNow ?? {}).includes('compromised');
    attempts.push({ what: 'publish a reported state naming B on A’s own topic', refused: !bTouched, logged: securityLogs().some((l) => l.security === 'device-id-mismatch' && l.payloadDevice === B) });

    // 4. B's artifact over MQTT chunks.
    const sha = (await rig.cp.models.desiredModel('secret-model', '1.0.0')).artifact.sha256;
    await within(attacker.subscribeAsync(deviceTopic(A, 'artifact-chunks'), { qos: 1 }), 3000, []);
    const chunk = new Promise<Buffer>((resolve) => attacker.once('message', (_t, p) => resolve(p)));
    const beforeArtifact = securityLogs().length;
    await within(attacker.publishAsync(deviceTopic(A, 'artifact-requests'), encodePayload(artifactChunkRequestSchema, { requestId: 'steal-1', sha256: sha, offset: 0, length: 1024 }), { qos: 1 }), 3000, undefined);
    const frame = await Promise.race([chunk, sleep(5000).then(() => undefined)]);
    const decoded = frame ? decodeArtifactChunk(frame) : undefined;
    await sleep(100);
    attempts.push({ what: 'MQTT chunk request for B’s artifact', refused: decoded?.header.error?.code === 'ARTIFACT_FORBIDDEN' && decoded.data.length === 0, logged: securityLogs().length > beforeArtifact });
    await within(attacker.endAsync(true), 1000, undefined);
    const leaked = received.filter((t) => t.includes(`/${B}/`)).length;

    // 5. HTTP: B's artifact and every operator API with A's device credentials.
    const basic = `Basic ${Buffer.from(`${A}:${a.secret}`).toString('base64')}`;
    const http: [string, string, unknown?][] = [
      ['GET', `/api/v1/artifacts/${sha}`],
      ['GET', '/api/v1/devices'],
      ['GET', `/api/v1/devices/${B}`],
      ['GET', `/api/v1/devices/${B}/desired`],
      ['PUT', `/api/v1/devices/${B}/desired`, { models: [{ name: 'secret-model', version: '1.0.0' }] }],
      ['POST', `/api/v1/devices/${B}/commands`, { type: 'ping' }],
      ['DELETE', `/api/v1/devices/${B}`],
      ['POST', '/api/v1/devices', { id: 'rogue-device' }],
      ['GET', '/api/v1/models'],
      ['GET', '/api/v1/models/secret-model'],
      ['POST', '/api/v1/models/secret-model/versions/6.6.6'],
      ['GET', '/api/v1/tokens'],
      ['POST', '/api/v1/tokens', { name: 'rogue', role: 'admin' }],
      ['GET', '/api/v1/audit'],
      ['GET', '/api/v1/rollouts'],
      ['POST', '/api/v1/rollouts', { model: 'secret-model', version: '1.0.0', target: { kind: 'all' } }],
    ];
    let probe = 0;
    for (const [method, path, body] of http) {
      probe += 1;
      const url = `${path}${path.includes('?') ? '&' : '?'}probe=${probe}`;
      const reply = await sendRequest(rig.httpUrl, { method, path: url, headers: { authorization: basic, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? Buffer.from(JSON.stringify(body)) : undefined });
      await sleep(20);
      const req = rig.logs.find((l) => JSON.stringify(l.req ?? '').includes(`probe=${probe}`));
      const logged = rig.logs.some((l) => req !== undefined && l.reqId === req.reqId && typeof (l.res as { statusCode?: number } | undefined)?.statusCode === 'number');
      attempts.push({ what: `HTTP ${method} ${path}`, refused: reply !== undefined && (reply.status === 401 || reply.status === 403 || reply.status === 404), logged });
    }
    // 6. Zero-touch provisioning (issue 22): C enrols legitimately; the attacker replays C's enrolment,
    // enrols with the provisioning key after it was revoked, squats B's and C's ids with its own key,
    // and logs in as C with tokens C did not sign or that expired.
    const admin = { authorization: `Bearer ${rig.adminToken}`, 'content-type': 'application/json' };
    const createKey = async (body: unknown): Promise<{ key: string; provisioningKey: { id: string } }> =>
      JSON.parse((await sendRequest(rig.httpUrl, { method: 'POST', path: '/api/v1/provisioning-keys', headers: admin, body: Buffer.from(JSON.stringify(body)) }))!.body) as { key: string; provisioningKey: { id: string } };
    const enrolBody = (deviceId: string, provisioningKey: string, keys: DeviceKeyPair): EnrolRequest => {
      const claim = { deviceId, publicKey: keys.publicKeyPem, provisioningKey, at: new Date().toISOString(), nonce: randomBytes(16).toString('base64url') };
      return { ...claim, proof: signEnrolmentProof(claim, keys.privateKeyPem) };
    };
    const enrol = async (body: EnrolRequest) => (await sendRequest(rig.httpUrl, { method: 'POST', path: '/api/v1/enrol', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) }))?.status;
    const stolen = await createKey({ maxUses: 10 });
    const cKeys = generateDeviceKeyPair();
    const cEnrolment = enrolBody('victim-c', stolen.key, cKeys);
    expect(await enrol(cEnrolment)).toBe(201);
    const active = await createKey({});
    await sendRequest(rig.httpUrl, { method: 'DELETE', path: `/api/v1/provisioning-keys/${stolen.provisioningKey.id}`, headers: { authorization: admin.authorization } });
    const attackerKeys = generateDeviceKeyPair();
    for (const [what, body] of [
      ['replay C’s enrolment request', cEnrolment],
      ['enrol with the provisioning key after its revocation', enrolBody('rogue-enrolled', stolen.key, attackerKeys)],
      ['squat B’s id (provisioned with a secret) with an own key', enrolBody(B, active.key, attackerKeys)],
      ['squat C’s id (enrolled with its key) with an own key', enrolBody('victim-c', active.key, attackerKeys)],
    ] as const) {
      const before = securityLogs().length;
      const status = await enrol(body);
      attempts.push({ what, refused: status !== undefined && status >= 400 && status < 500, logged: securityLogs().length > before });
    }
    const nowS = Math.floor(Date.now() / 1000);
    for (const [what, password] of [
      ['connect as C with a token signed by the attacker’s key', mintDeviceToken({ d: 'victim-c', iat: nowS, exp: nowS + 60 }, attackerKeys.privateKeyPem)],
      ['connect as C with C’s own token after it expired', mintDeviceToken({ d: 'victim-c', iat: nowS - 700, exp: nowS - 100 }, cKeys.privateKeyPem)],
      ['connect as C with A’s token for A replayed under C’s name', mintDeviceToken({ d: A, iat: nowS, exp: nowS + 60 }, cKeys.privateKeyPem)],
    ] as const) {
      const before = securityLogs().length;
      const res = await connect('victim-c', 'victim-c', password);
      const refused = typeof res === 'string';
      if (!refused) await within(res.endAsync(true), 1000, undefined);
      await sleep(50);
      attempts.push({ what, refused, logged: securityLogs().length > before });
    }
    const cLogin = await connect('victim-c', 'victim-c', mintDeviceToken({ d: 'victim-c', iat: nowS, exp: nowS + 60 }, cKeys.privateKeyPem));
    expect(typeof cLogin, 'C itself still logs in with its own token').not.toBe('string');
    if (typeof cLogin !== 'string') await within(cLogin.endAsync(true), 1000, undefined);

    // 7. Rotation: C replaces its key, an operator rotates B's secret; the attacker, holding copies of C's
    // old key and B's old secret taken before, replays the rotation, rotates C back and logs in with them.
    const rotationBody = (old: DeviceKeyPair, next: DeviceKeyPair) => {
      const claim = { deviceId: 'victim-c', newPublicKey: next.publicKeyPem, at: new Date().toISOString(), nonce: randomBytes(16).toString('base64url') };
      const { deviceId: _inUrl, ...fields } = claim;
      return { ...fields, ...signKeyRotation(claim, { oldPrivateKeyPem: old.privateKeyPem, oldPublicKeyPem: old.publicKeyPem, newPrivateKeyPem: next.privateKeyPem }) };
    };
    const rotateC = async (body: unknown) => (await sendRequest(rig.httpUrl, { method: 'POST', path: '/api/v1/devices/victim-c/rotate-key', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) }))?.status;
    const cRotation = rotationBody(cKeys, generateDeviceKeyPair());
    expect(await rotateC(cRotation)).toBe(200);
    expect((await sendRequest(rig.httpUrl, { method: 'POST', path: `/api/v1/devices/${B}/rotate`, headers: { authorization: admin.authorization } }))?.status).toBe(200);
    for (const [what, body] of [
      ['replay C’s key rotation', cRotation],
      ['rotate C’s key to the attacker’s with C’s rotated-away key', rotationBody(cKeys, attackerKeys)],
    ] as const) {
      const before = securityLogs().length;
      const status = await rotateC(body);
      attempts.push({ what, refused: status !== undefined && status >= 400 && status < 500, logged: securityLogs().length > before });
    }
    const afterRotationS = Math.floor(Date.now() / 1000);
    for (const [what, id, password] of [
      ['connect as C with a token of its rotated-away key', 'victim-c', mintDeviceToken({ d: 'victim-c', iat: afterRotationS, exp: afterRotationS + 60 }, cKeys.privateKeyPem)],
      ['connect as B with its rotated-away secret', B, b.secret],
    ] as const) {
      const before = securityLogs().length;
      const res = await connect(id, id, password);
      const refused = typeof res === 'string';
      if (!refused) await within(res.endAsync(true), 1000, undefined);
      await sleep(50);
      attempts.push({ what, refused, logged: securityLogs().length > before });
    }
    const rogueDevices = (await Promise.all(['rogue-enrolled'].map((id) => rig.cp.devices.get(id).then(() => id, () => undefined)))).filter(Boolean);
    attempts.push({ what: 'no device created by the provisioning attacks', refused: rogueDevices.length === 0, logged: true });

    const audit = await sendRequest(rig.httpUrl, { method: 'GET', path: '/api/v1/audit?limit=1000', headers: { authorization: `Bearer ${rig.adminToken}` } });
    const auditRefusals = audit ? (JSON.parse(audit.body) as { entries?: { actor: string; outcome: string }[] }).entries?.filter((e) => e.actor === `device:${A}` && e.outcome === 'refused').length ?? 0 : 0;

    const refused = attempts.filter((x) => x.refused).length;
    const logged = attempts.filter((x) => x.logged).length;
    const notRefused = attempts.filter((x) => !x.refused).map((x) => x.what);
    const notLogged = attempts.filter((x) => !x.logged).map((x) => x.what);
    recordFaultCase(
      'compromised-device',
      {
        title: 'A compromised device (valid credentials of A) tries every topic, artifact and API of B and of the operators, and the provisioning attacks (replayed enrolment, revoked key, id squatting, forged and expired device tokens, rotated-away credentials)',
        counts: {
          attempts: attempts.length,
          refused,
          logged,
          'messages of B delivered to A': leaked,
          'mutating HTTP attempts in the audit log as refused': auditRefusals,
          'security log records': securityLogs().length,
        },
        goals: [
          { name: 'attempts refused', value: refused / attempts.length, target: '100 %', met: refused === attempts.length },
          { name: 'attempts logged', value: logged / attempts.length, target: '100 %', met: logged === attempts.length },
          { name: 'B’s messages seen by A', value: leaked, target: '= 0', met: leaked === 0 },
        ],
        notes: [
          ...(notRefused.length ? [`Not refused: ${notRefused.join('; ')}`] : []),
          ...(notLogged.length ? [`Not logged: ${notLogged.join('; ')}`] : []),
        ],
      },
      started,
    );
    expect(notRefused).toEqual([]);
    expect(leaked).toBe(0);
    expect(notLogged).toEqual([]);
  });
});
