/**
 * The fleet simulator speaks the contract: against a plain aedes broker, a driver publishes a
 * signed desired state and serves chunk requests from a real artifact; every simulated device must
 * fetch, verify and activate it, and every message it sends must parse with shared's schemas.
 */
import { createHash, randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allDevicesFilter,
  artifactChunkRequestSchema,
  deploymentEventSchema,
  desiredStateSchema,
  deviceTopic,
  encodeArtifactChunk,
  encodePayload,
  generateSigningKeyPair,
  parseDeviceTopic,
  parsePayload,
  reportedStateSchema,
  signManifest,
  telemetryBatchSchema,
} from '@edgefleet/shared';
import { startAedesBroker, type TestBroker } from '../helpers/aedes-broker.js';
import { createFleetSim } from '../helpers/fleet-sim.js';

const DEVICES = 50;

describe('fleet simulator against a plain broker', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startAedesBroker();
  });
  afterAll(async () => {
    await broker.close();
  });

  it('connects, fetches a signed artifact in chunks, activates it and reports telemetry', async () => {
    const keys = generateSigningKeyPair();
    const artifact = randomBytes(600 * 1024);
    const manifest = { name: 'det', version: '2.0.0', sha256: createHash('sha256').update(artifact).digest('hex'), size: artifact.length, createdAt: new Date().toISOString() };
    const signature = signManifest(manifest, keys.privateKeyPem);
    const seen = { events: 0, reported: 0, telemetry: 0, chunkRequests: 0, invalid: 0 };

    const driver = await mqtt.connectAsync(broker.url, { clientId: 'driver' });
    driver.on('message', (topic, payload) => {
      const parsed = parseDeviceTopic(topic);
      if (!parsed) return;
      try {
        if (parsed.channel === 'events') seen.events += parsePayload(deploymentEventSchema, payload) ? 1 : 0;
        if (parsed.channel === 'reported') seen.reported += parsePayload(reportedStateSchema, payload) ? 1 : 0;
        if (parsed.channel === 'telemetry') seen.telemetry += parsePayload(telemetryBatchSchema, payload) ? 1 : 0;
        if (parsed.channel === 'artifact-requests') {
          const req = parsePayload(artifactChunkRequestSchema, payload);
          seen.chunkRequests += 1;
          const frame = encodeArtifactChunk({ requestId: req.requestId, sha256: req.sha256, offset: req.offset, total: artifact.length }, artifact.subarray(req.offset, req.offset + req.length));
          void driver.publishAsync(deviceTopic(parsed.deviceId, 'artifact-chunks'), frame, { qos: 1 });
        }
      } catch {
        seen.invalid += 1;
      }
    });
    await driver.subscribeAsync(['events', 'reported', 'telemetry', 'artifact-requests'].map((c) => allDevicesFilter(c as 'events')), { qos: 1 });

    const ids = Array.from({ length: DEVICES }, (_, i) => `sim-${String(i).padStart(4, '0')}`);
    for (const id of ids) {
      const desired = { deviceId: id, generation: 1, issuedAt: new Date().toISOString(), models: [{ name: 'det', version: '2.0.0', artifact: { sha256: manifest.sha256, size: manifest.size, createdAt: manifest.createdAt, signature } }] };
      await driver.publishAsync(deviceTopic(id, 'desired'), encodePayload(desiredStateSchema, desired), { qos: 1, retain: true });
    }

    const fleet = createFleetSim({ brokerUrl: broker.url, devices: ids.map((deviceId) => ({ deviceId })), fleetPublicKey: keys.publicKeyPem, telemetryIntervalMs: 500, connectConcurrency: 20 });
    try {
      const storm = await fleet.connectAll();
      expect(storm).toMatchObject({ connected: DEVICES, failed: 0 });
      const done = await fleet.waitForActive('det', '2.0.0', { timeoutMs: 30_000 });
      expect(done.active).toBe(DEVICES);
      await new Promise((r) => setTimeout(r, 1200));
      expect(fleet.counters.verifyFailures).toBe(0);
      expect(fleet.counters.bytesReceived).toBe(DEVICES * artifact.length);
      expect(seen.invalid).toBe(0);
      expect(seen.chunkRequests).toBe(DEVICES * 3);
      // queued, downloading, verified, loading, active per device.
      expect(seen.events).toBe(DEVICES * 5);
      expect(seen.reported).toBeGreaterThanOrEqual(DEVICES * 2);
      expect(seen.telemetry).toBeGreaterThanOrEqual(DEVICES);
    } finally {
      await fleet.close();
      await driver.endAsync();
    }
  });

  it('refuses an artifact whose signature does not verify', async () => {
    const keys = generateSigningKeyPair();
    const other = generateSigningKeyPair();
    const artifact = randomBytes(1000);
    const manifest = { name: 'det', version: '3.0.0', sha256: createHash('sha256').update(artifact).digest('hex'), size: artifact.length, createdAt: new Date().toISOString() };
    const driver = await mqtt.connectAsync(broker.url, { clientId: 'driver-2' });
    driver.on('message', (topic, payload) => {
      const parsed = parseDeviceTopic(topic);
      const req = parsePayload(artifactChunkRequestSchema, payload);
      void driver.publishAsync(deviceTopic(parsed!.deviceId, 'artifact-chunks'), encodeArtifactChunk({ requestId: req.requestId, sha256: req.sha256, offset: req.offset, total: artifact.length }, artifact.subarray(req.offset, req.offset + req.length)));
    });
    await driver.subscribeAsync(allDevicesFilter('artifact-requests'), { qos: 1 });
    await driver.publishAsync(
      deviceTopic('bad-sig', 'desired'),
      encodePayload(desiredStateSchema, { deviceId: 'bad-sig', generation: 1, issuedAt: new Date().toISOString(), models: [{ name: 'det', version: '3.0.0', artifact: { ...manifest, signature: signManifest(manifest, other.privateKeyPem) } }] }),
      { qos: 1, retain: true },
    );
    const fleet = createFleetSim({ brokerUrl: broker.url, devices: [{ deviceId: 'bad-sig' }], fleetPublicKey: keys.publicKeyPem });
    try {
      await fleet.connectAll();
      const deadline = Date.now() + 10_000;
      while (fleet.counters.verifyFailures === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(fleet.counters.verifyFailures).toBe(1);
      expect(fleet.activeCount('det', '3.0.0')).toBe(0);
    } finally {
      await fleet.close();
      await driver.endAsync();
    }
  });
});
