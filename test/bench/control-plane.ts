/**
 * `pnpm bench control-plane`: (1) devices connecting and reporting state into the embedded broker
 * and the registry (simulated devices in this process, real MQTT over loopback, real SQLite);
 * (2) the artifact service under 100 concurrent MQTT downloads of a 50 MB model: throughput and
 * peak RSS (the process holds the control plane and all 100 downloaders, which hash and discard).
 */
import { createHash, randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import {
  artifactChunkRequestSchema,
  decodeArtifactChunk,
  deviceTopic,
  encodePayload,
  reportedStateSchema,
  type ArtifactChunk,
} from '@edgefleet/shared';
import { ballastModel, startControlPlane, type TestControlPlane } from '../helpers/index.js';
import type { BenchResult } from './bench-result.js';

const CHUNK = 256 * 1024;
const WINDOW = 8;

/** Connects in waves of 25, like a fleet coming back with jittered reconnects. */
async function connectAll(h: TestControlPlane, devices: { id: string; secret: string }[]): Promise<MqttClient[]> {
  const clients: MqttClient[] = [];
  for (let i = 0; i < devices.length; i += 25) {
    const wave = devices.slice(i, i + 25);
    clients.push(...(await Promise.all(wave.map((d) => mqtt.connectAsync(h.mqttUrl, { username: d.id, password: d.secret, clientId: d.id, reconnectPeriod: 0, connectTimeout: 60_000 })))));
  }
  return clients;
}

async function reportingBench(h: TestControlPlane, deviceCount: number, reportsPerDevice: number): Promise<Record<string, number>> {
  const t0 = performance.now();
  const created = await h.cp.devices.add(Array.from({ length: deviceCount }, (_, i) => ({ id: `sim-${i}`, tags: { bench: 'reporting' } })));
  const provisionS = (performance.now() - t0) / 1000;
  const devices = created.map((c) => ({ id: c.device.id, secret: c.secret }));
  const t1 = performance.now();
  const clients = await connectAll(h, devices);
  const connectS = (performance.now() - t1) / 1000;
  // Reconnect storm: credentials are cached after the first check.
  await Promise.all(clients.map((c) => c.endAsync(true)));
  const t2 = performance.now();
  const again = await connectAll(h, devices);
  const reconnectS = (performance.now() - t2) / 1000;

  const t3 = performance.now();
  for (let round = 1; round <= reportsPerDevice; round++) {
    await Promise.all(
      again.map((c, i) =>
        c.publishAsync(
          deviceTopic(devices[i]!.id, 'reported'),
          encodePayload(reportedStateSchema, { deviceId: devices[i]!.id, observedGeneration: round, appliedGeneration: round, agentVersion: 'bench', reportedAt: new Date().toISOString(), models: [{ name: 'm', installed: ['1'], active: '1', state: 'active' }] }),
          { qos: 1, retain: true },
        ),
      ),
    );
  }
  // Done when every device's last report is in the registry.
  for (;;) {
    const rows = await h.cp.store.devices.list();
    if (rows.filter((r) => r.reported?.observedGeneration === reportsPerDevice).length === deviceCount) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const reportS = (performance.now() - t3) / 1000;
  await Promise.all(again.map((c) => c.endAsync(true)));
  return {
    devices: deviceCount,
    provisionPerS: deviceCount / provisionS,
    firstConnectsPerS: deviceCount / connectS,
    reconnectsPerS: deviceCount / reconnectS,
    reportsPerS: (deviceCount * reportsPerDevice) / reportS,
  };
}

/** One downloader: windows of WINDOW chunk requests, hashed in order and discarded. */
async function download(client: MqttClient, deviceId: string, sha256: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const pending = new Map<string, (c: ArtifactChunk) => void>();
  client.on('message', (_t, payload) => {
    const chunk = decodeArtifactChunk(payload);
    pending.get(chunk.header.requestId)?.(chunk);
  });
  await client.subscribeAsync(deviceTopic(deviceId, 'artifact-chunks'), { qos: 1 });
  for (let offset = 0; offset < size; offset += CHUNK * WINDOW) {
    const window: Promise<ArtifactChunk>[] = [];
    for (let o = offset; o < Math.min(size, offset + CHUNK * WINDOW); o += CHUNK) {
      const requestId = randomUUID().slice(0, 32);
      window.push(new Promise((resolve) => pending.set(requestId, resolve)));
      client.publish(deviceTopic(deviceId, 'artifact-requests'), encodePayload(artifactChunkRequestSchema, { requestId, sha256, offset: o, length: CHUNK }), { qos: 1 });
    }
    for (const chunk of await Promise.all(window)) {
      if (chunk.header.error) throw new Error(`${deviceId}: ${chunk.header.error.code}`);
      hash.update(chunk.data);
      pending.delete(chunk.header.requestId);
    }
  }
  return hash.digest('hex');
}

async function artifactBench(h: TestControlPlane, downloaders: number, modelBytes: number): Promise<Record<string, number>> {
  const bytes = ballastModel(modelBytes);
  const model = await h.pushModel({ name: 'big', version: '1', bytes });
  const desired = await h.desiredModel('big', '1');
  const created = await h.cp.devices.add(Array.from({ length: downloaders }, (_, i) => ({ id: `dl-${i}` })));
  for (const c of created) await h.cp.desired.setDeviceModels(c.device.id, [desired]);
  const clients = await connectAll(h, created.map((c) => ({ id: c.device.id, secret: c.secret })));
  global.gc?.();
  const baselineRss = process.memoryUsage().rss;
  let peakRss = baselineRss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const t0 = performance.now();
  const digests = await Promise.all(clients.map((c, i) => download(c, created[i]!.device.id, model.sha256, model.size)));
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  await Promise.all(clients.map((c) => c.endAsync(true)));
  if (digests.some((d) => d !== model.sha256)) throw new Error('a download ended with the wrong sha256');
  const total = model.size * downloaders;
  return {
    downloaders,
    modelMiB: model.size / 2 ** 20,
    seconds,
    throughputMiBPerS: total / 2 ** 20 / seconds,
    baselineRssMiB: baselineRss / 2 ** 20,
    peakRssMiB: peakRss / 2 ** 20,
    rssGrowthMiB: (peakRss - baselineRss) / 2 ** 20,
    modelToRssGrowthRatio: (peakRss - baselineRss) / model.size,
  };
}

export async function run(options: { long?: boolean } = {}): Promise<BenchResult> {
  const h = await startControlPlane({ config: { logLevel: 'error' } });
  try {
    const reporting = await reportingBench(h, options.long ? 1000 : 200, 10);
    const artifacts = await artifactBench(h, 100, 50 * 1024 * 1024);
    return {
      reporting,
      artifacts,
      summary: [
        { metric: 'devices connecting (first, credential check)', value: reporting.firstConnectsPerS!, unit: 'devices/s', note: `${reporting.devices} devices` },
        { metric: 'devices reconnecting (cached credentials)', value: reporting.reconnectsPerS!, unit: 'devices/s' },
        { metric: 'reported states into the registry', value: reporting.reportsPerS!, unit: 'reports/s', note: 'MQTT QoS 1 → parse → SQLite' },
        { metric: 'artifact service throughput, 100 concurrent downloads', value: artifacts.throughputMiBPerS!, unit: 'MiB/s', note: `${artifacts.modelMiB!.toFixed(0)} MiB model, 256 KiB chunks, window 8` },
        { metric: 'peak RSS during 100 downloads (control plane + downloaders)', value: artifacts.peakRssMiB!, unit: 'MiB', note: `growth ${artifacts.rssGrowthMiB!.toFixed(0)} MiB over baseline` },
      ],
    };
  } finally {
    await h.close();
  }
}
