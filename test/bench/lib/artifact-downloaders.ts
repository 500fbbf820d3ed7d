/**
 * Lightweight artifact downloaders for the delivery benchmark, run in a child process of their own
 * (`fork`) so that on a 2-core machine they do not share an event loop with the control plane they
 * measure. Each speaks the real protocol with its own device credentials and hashes the bytes in
 * order (sha256, as the agent verifies), then discards them:
 * - MQTT: chunk requests by offset on `artifact-requests`, at most `window` in flight, binary replies
 *   on `artifact-chunks` (what the agent's mqtt-chunk-fetcher and the fleet simulator do);
 * - HTTP: `GET /api/v1/artifacts/:sha256` with `Range: bytes=0-` and Basic device auth (what the
 *   agent's http-fetcher does against the control plane).
 * The simulator in test/helpers/sim-device.ts is not used here: it keeps the whole artifact in
 * memory until it verifies, which for 100 × 50 MB would measure this machine's allocator.
 *
 * Protocol with the parent: it sends a DownloadJob; the child connects every device and answers
 * `{ type: 'ready' }`; the parent sends `{ type: 'go' }`; the child answers with a DownloadReport.
 */
import { createHash, randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { artifactChunkRequestSchema, decodeArtifactChunk, deviceTopic, encodePayload, type ArtifactChunk } from '@edgefleet/shared';

export interface DownloadJob {
  type: 'job';
  transport: 'mqtt' | 'http';
  brokerUrl: string;
  httpUrl: string;
  devices: { id: string; secret: string }[];
  sha256: string;
  size: number;
  chunkBytes: number;
  window: number;
}

export interface DownloadReport {
  type: 'done';
  /** Per device, from `go` to its last byte hashed. */
  deviceMs: number[];
  /** From `go` to the last device done. */
  wallMs: number;
  badDigests: number;
  chunkRequests: number;
}

const CONNECT_CONCURRENCY = 25;

async function connectMqtt(job: DownloadJob): Promise<MqttClient[]> {
  const clients: MqttClient[] = [];
  for (let i = 0; i < job.devices.length; i += CONNECT_CONCURRENCY) {
    const wave = job.devices.slice(i, i + CONNECT_CONCURRENCY);
    clients.push(
      ...(await Promise.all(
        wave.map(async (d) => {
          const c = await mqtt.connectAsync(job.brokerUrl, { clientId: d.id, username: d.id, password: d.secret, reconnectPeriod: 0, connectTimeout: 60_000, clean: true });
          // As the agent's session does: Nagle would hold each chunk request for the broker's delayed ACK.
          (c.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
          await c.subscribeAsync(deviceTopic(d.id, 'artifact-chunks'), { qos: 1 });
          return c;
        }),
      )),
    );
  }
  return clients;
}

/** Sliding window of chunk requests; chunks are hashed in offset order, at most 2 × window held. */
async function downloadMqtt(client: MqttClient, deviceId: string, job: DownloadJob, counters: { requests: number }): Promise<string> {
  const { sha256, size, chunkBytes, window } = job;
  const hash = createHash('sha256');
  const pending = new Map<string, { resolve: (c: ArtifactChunk) => void; reject: (e: Error) => void }>();
  client.on('message', (_t, payload) => {
    const chunk = decodeArtifactChunk(payload);
    const p = pending.get(chunk.header.requestId);
    if (!p) return;
    pending.delete(chunk.header.requestId);
    if (chunk.header.error) p.reject(new Error(`${deviceId}: ${chunk.header.error.code} ${chunk.header.error.message}`));
    else p.resolve(chunk);
  });
  const count = Math.ceil(size / chunkBytes);
  const ready = new Map<number, Buffer>();
  let hashed = 0;
  let next = 0;
  let waiting: (() => void)[] = [];
  const worker = async (): Promise<void> => {
    while (next < count) {
      while (next >= hashed + 2 * window) await new Promise<void>((r) => waiting.push(r));
      const idx = next++;
      const offset = idx * chunkBytes;
      const requestId = randomUUID();
      const reply = new Promise<ArtifactChunk>((resolve, reject) => pending.set(requestId, { resolve, reject }));
      counters.requests++;
      client.publish(deviceTopic(deviceId, 'artifact-requests'), encodePayload(artifactChunkRequestSchema, { requestId, sha256, offset, length: Math.min(chunkBytes, size - offset) }), { qos: 1 });
      ready.set(idx, (await reply).data);
      for (let b = ready.get(hashed); b; b = ready.get(hashed)) {
        hash.update(b);
        ready.delete(hashed++);
      }
      const wake = waiting;
      waiting = [];
      for (const w of wake) w();
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
  return hash.digest('hex');
}

async function downloadHttp(device: { id: string; secret: string }, job: DownloadJob): Promise<string> {
  const res = await fetch(`${job.httpUrl}/api/v1/artifacts/${job.sha256}`, {
    headers: { range: 'bytes=0-', authorization: `Basic ${Buffer.from(`${device.id}:${device.secret}`).toString('base64')}` },
  });
  if (res.status !== 206 || !res.body) throw new Error(`${device.id}: HTTP ${res.status}`);
  const hash = createHash('sha256');
  for await (const chunk of res.body) hash.update(chunk);
  return hash.digest('hex');
}

async function main(): Promise<void> {
  const job = await new Promise<DownloadJob>((resolve) => process.once('message', (m) => resolve(m as DownloadJob)));
  const clients = job.transport === 'mqtt' ? await connectMqtt(job) : [];
  const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
  process.send!({ type: 'ready' });
  await go;
  const counters = { requests: 0 };
  const t0 = performance.now();
  const deviceMs: number[] = [];
  const digests = await Promise.all(
    job.devices.map(async (d, i) => {
      const digest = job.transport === 'mqtt' ? await downloadMqtt(clients[i]!, d.id, job, counters) : await downloadHttp(d, job);
      deviceMs.push(performance.now() - t0);
      return digest;
    }),
  );
  const wallMs = performance.now() - t0;
  await Promise.all(clients.map((c) => c.endAsync(true)));
  const report: DownloadReport = { type: 'done', deviceMs, wallMs, badDigests: digests.filter((d) => d !== job.sha256).length, chunkRequests: counters.requests };
  process.send!(report);
  process.disconnect();
}

await main();
