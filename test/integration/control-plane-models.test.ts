import { createHash, randomUUID } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import {
  artifactChunkRequestSchema,
  decodeArtifactChunk,
  deviceTopic,
  encodePayload,
  verifyManifest,
  type ArtifactChunk,
  type ModelVersionRecord,
} from '@edgefleet/shared';
import { addModel, notOnnxBytes, ocrModelPath, startControlPlane, type ProvisionedTestDevice, type TestControlPlane } from '../helpers/index.js';
import { connectDevice } from './control-plane-acl-matrix.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function upload(h: TestControlPlane, path: string, bytes: Uint8Array, token: string | undefined, query = ''): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${h.httpUrl}/api/v1${path}${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: bytes,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A device-side chunk fetcher speaking the contract (what the agent does). */
async function requestChunks(client: MqttClient, deviceId: string, requests: { sha256: string; offset: number; length: number }[]): Promise<ArtifactChunk[]> {
  const pending = new Map<string, (c: ArtifactChunk) => void>();
  const onMessage = (_t: string, payload: Buffer): void => {
    const chunk = decodeArtifactChunk(payload);
    pending.get(chunk.header.requestId)?.(chunk);
  };
  client.on('message', onMessage);
  try {
    return await Promise.all(
      requests.map(
        (r) =>
          new Promise<ArtifactChunk>((resolve, reject) => {
            const requestId = randomUUID().slice(0, 32);
            const timer = setTimeout(() => reject(new Error(`no chunk for ${r.offset}`)), 10_000);
            pending.set(requestId, (c) => {
              clearTimeout(timer);
              resolve(c);
            });
            client.publish(deviceTopic(deviceId, 'artifact-requests'), encodePayload(artifactChunkRequestSchema, { requestId, ...r }), { qos: 1 });
          }),
      ),
    );
  } finally {
    client.off('message', onMessage);
  }
}

describe('model registry and artifact service', () => {
  let h: TestControlPlane;
  let operator: string;
  let viewer: string;
  let cls: Buffer;
  let pushed: ModelVersionRecord;
  let a: ProvisionedTestDevice;
  let b: ProvisionedTestDevice;

  beforeAll(async () => {
    h = await startControlPlane();
    operator = await h.token('operator', 'ci-pipeline');
    viewer = await h.token('viewer');
    cls = await readFile(ocrModelPath('cls'));
    a = await h.provisionDevice('dev-a');
    b = await h.provisionDevice('dev-b');
  });
  afterAll(async () => h?.close());

  it('keeps the fleet signing key private (0600)', async () => {
    expect((await stat(join(h.dataDir, 'fleet-signing.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(h.dataDir, 'admin.token'))).mode & 0o777).toBe(0o600);
  });

  it('stores a streamed upload by sha256, inspects it, signs it and records lineage', async () => {
    const res = await upload(h, '/models/text-cls/versions/1.0.0', cls, operator, '?source=mlflow%3Aruns%2F42&notes=first&label=stable');
    expect(res.status).toBe(201);
    pushed = res.body as unknown as ModelVersionRecord;
    expect(pushed.sha256).toBe(sha(cls));
    expect(pushed.size).toBe(cls.length);
    expect(pushed.inspection.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, 3, -1, -1] }]);
    expect(pushed.inspection.outputs[0]).toMatchObject({ datatype: 'FP32', shape: [-1, 2] });
    expect(pushed.inspection.opsets).toEqual([{ domain: 'ai.onnx', version: 9 }]);
    expect(pushed.inspection.opTypes).toContain('Conv');
    expect(pushed).toMatchObject({ source: 'mlflow:runs/42', notes: 'first', labels: ['stable'] });
    expect(pushed.pushedBy).toMatch(/^token:.*:ci-pipeline$/);
    const manifest = { name: 'text-cls', version: '1.0.0', sha256: pushed.sha256, size: pushed.size, createdAt: pushed.createdAt };
    expect(verifyManifest(manifest, pushed.signature, h.fleetPublicKeyPem)).toBe(true);
    expect(await readFile(join(h.dataDir, 'artifacts', pushed.sha256.slice(0, 2), pushed.sha256))).toEqual(cls);
  });

  it('refuses a duplicate name@version, an invalid file and a viewer, and keeps nothing of them', async () => {
    const dup = await upload(h, '/models/text-cls/versions/1.0.0', addModel(), operator);
    expect(dup).toMatchObject({ status: 409, body: { code: 'MODEL_VERSION_EXISTS' } });
    const same = await upload(h, '/models/text-cls/versions/1.0.0', cls, operator);
    expect(same).toMatchObject({ status: 200, body: { name: 'text-cls', version: '1.0.0', alreadyPresent: true } });
    const bad = await upload(h, '/models/junk/versions/1', notOnnxBytes(4096), operator);
    expect(bad).toMatchObject({ status: 422, body: { code: 'MODEL_INVALID' } });
    const empty = await upload(h, '/models/junk/versions/2', new Uint8Array(0), operator);
    expect(empty.status).toBe(422);
    const forbidden = await upload(h, '/models/junk/versions/3', addModel(), viewer);
    expect(forbidden).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    const badName = await upload(h, '/models/Bad%20Name/versions/1', addModel(), operator);
    expect(badName).toMatchObject({ status: 400, body: { code: 'PAYLOAD_INVALID' } });
    const stored = (await readdir(join(h.dataDir, 'artifacts'), { recursive: true })).filter((f) => /[a-f0-9]{64}$/.test(f));
    expect(stored).toHaveLength(1);
    expect((await h.api('GET', '/models/junk')).body).toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('moves a label to the newest version and resolves it; lists versions (fastify inject)', async () => {
    const golden = { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] };
    const v2 = await h.pushModel({ name: 'text-cls', version: '1.1.0', bytes: cls.subarray(0), labels: ['stable'], golden });
    expect(v2.sha256).toBe(pushed.sha256);
    expect(v2.golden?.size).toBe(JSON.stringify(golden).length);
    const res = await h.cp.api.app.inject({ method: 'GET', url: '/api/v1/models/text-cls/versions/stable', headers: { authorization: `Bearer ${viewer}` } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ version: '1.1.0', labels: ['stable'] });
    const list = await h.cp.api.app.inject({ method: 'GET', url: '/api/v1/models/text-cls', headers: { authorization: `Bearer ${viewer}` } });
    expect(list.json().versions.map((v: ModelVersionRecord) => [v.version, v.labels])).toEqual([['1.0.0', []], ['1.1.0', ['stable']]]);
    const bad = await upload(h, '/blobs', Buffer.from('not json'), operator);
    expect(bad).toMatchObject({ status: 400, body: { code: 'PAYLOAD_INVALID' } });
  });

  it('sends chunks over MQTT only to a device whose desired state holds the artifact', async () => {
    const state = await h.cp.desired.setDeviceModels(a.id, [await h.desiredModel('text-cls', '1.1.0')]);
    expect(state.generation).toBe(1);
    const clientA = await connectDevice(h.mqttUrl, a);
    const clientB = await connectDevice(h.mqttUrl, b);
    try {
      await clientA.subscribeAsync(deviceTopic(a.id, 'artifact-chunks'), { qos: 1 });
      await clientB.subscribeAsync(deviceTopic(b.id, 'artifact-chunks'), { qos: 1 });
      // The embedded broker gets chunks in process, past its publish ACL: only the requester's topic may carry them.
      let seenByB = 0;
      clientB.on('message', () => seenByB++);
      const size = 64 * 1024;
      const requests = Array.from({ length: Math.ceil(cls.length / size) }, (_, i) => ({ sha256: pushed.sha256, offset: i * size, length: size }));
      const chunks = await requestChunks(clientA, a.id, requests);
      expect(chunks.every((c) => c.header.error === undefined && c.header.total === cls.length)).toBe(true);
      const whole = Buffer.concat(chunks.sort((x, y) => x.header.offset - y.header.offset).map((c) => c.data));
      expect(sha(whole)).toBe(pushed.sha256);
      // The golden input travels the same way.
      const [golden] = await requestChunks(clientA, a.id, [{ sha256: state.models[0]!.golden!.sha256, offset: 0, length: 4096 }]);
      expect(JSON.parse(golden!.data.toString())).toHaveProperty('inputs');
      expect(seenByB).toBe(0);

      const [refused] = await requestChunks(clientB, b.id, [{ sha256: pushed.sha256, offset: 0, length: size }]);
      expect(refused!.header.error?.code).toBe('ARTIFACT_FORBIDDEN');
      expect(refused!.data.length).toBe(0);
      const [past] = await requestChunks(clientA, a.id, [{ sha256: pushed.sha256, offset: cls.length + 10, length: size }]);
      expect(past!.header.error?.code).toBe('ARTIFACT_RANGE_INVALID');
    } finally {
      await clientA.endAsync(true);
      await clientB.endAsync(true);
    }
  });

  it('serves HTTP Range downloads with the same authorisation', async () => {
    const url = `${h.httpUrl}/api/v1/artifacts/${pushed.sha256}`;
    const basic = (d: ProvisionedTestDevice, secret = d.secret): string => `Basic ${Buffer.from(`${d.id}:${secret}`).toString('base64')}`;
    const part = await fetch(url, { headers: { authorization: basic(a), range: 'bytes=100-1099' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-1099/${cls.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(cls.subarray(100, 1100));
    const full = await fetch(url, { headers: { authorization: basic(a) } });
    expect(sha(Buffer.from(await full.arrayBuffer()))).toBe(pushed.sha256);
    const other = await fetch(url, { headers: { authorization: basic(b) } });
    expect(other.status).toBe(403);
    expect(((await other.json()) as { code: string }).code).toBe('ARTIFACT_FORBIDDEN');
    expect((await fetch(url, { headers: { authorization: basic(a, 'wrong') } })).status).toBe(401);
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: basic(a), range: `bytes=${cls.length}-` } })).status).toBe(416);
  });

  it('stops serving once the desired state no longer holds the artifact', async () => {
    await h.cp.desired.setDeviceModels(a.id, []);
    const client = await connectDevice(h.mqttUrl, a);
    await client.subscribeAsync(deviceTopic(a.id, 'artifact-chunks'), { qos: 1 });
    const [chunk] = await requestChunks(client, a.id, [{ sha256: pushed.sha256, offset: 0, length: 1024 }]);
    expect(chunk!.header.error?.code).toBe('ARTIFACT_FORBIDDEN');
    await client.endAsync(true);
  });
});
