import { createHash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import mqtt, { type MqttClient } from 'mqtt';
import {
  MAX_CHUNK_BYTES,
  allDevicesFilter,
  artifactChunkRequestSchema,
  deviceTopic,
  encodeArtifactChunk,
  parseDeviceTopic,
  signManifest,
  type ArtifactRef,
  type DesiredModel,
} from '@edgefleet/shared';

/**
 * A test-side peer that answers the agent's chunk requests per the contract, from files or
 * buffers, so agent tests run without the control plane (engineer C builds the real artifact
 * service). It records every request so tests can prove "no finished chunk fetched twice".
 *
 * @example
 *   const responder = await startArtifactResponder(broker.url);
 *   const ref = await responder.addBuffer(bytes);          // serves it by sha256
 *   ... responder.requests.filter((r) => r.sha256 === ref.sha256)
 */
export interface RecordedRequest {
  deviceId: string;
  requestId: string;
  sha256: string;
  offset: number;
  length: number;
  at: number;
}

export interface ArtifactResponder {
  /** Serves a file by its sha256 (read per request, so large files stay on disk). */
  addFile(path: string): Promise<{ sha256: string; size: number }>;
  /** Serves bytes under their sha256, or under `as` (to serve corrupted bytes for a good digest). */
  addBuffer(bytes: Buffer, options?: { as?: string }): { sha256: string; size: number };
  readonly requests: RecordedRequest[];
  /** Requests that were not valid per the contract. */
  readonly invalid: number;
  /** Hold replies (simulates a slow link); undefined = answer at once. */
  delayMs: number;
  /** Stop answering (requests are still recorded). */
  paused: boolean;
  close(): Promise<void>;
}

/**
 * `devices` limits the responder to those devices' request topics: on a shared broker (Mosquitto)
 * a responder for every device would answer other tests' agents.
 */
export async function startArtifactResponder(brokerUrl: string, options: { clientId?: string; devices?: string[] } = {}): Promise<ArtifactResponder> {
  const files = new Map<string, { path?: string; bytes?: Buffer; size: number }>();
  const requests: RecordedRequest[] = [];
  const client: MqttClient = await mqtt.connectAsync(brokerUrl, {
    clientId: options.clientId ?? `artifact-responder-${process.pid}-${Math.random().toString(16).slice(2)}`,
    clean: true,
    reconnectPeriod: 200,
  });
  const filters = options.devices ? options.devices.map((d) => deviceTopic(d, 'artifact-requests')) : [allDevicesFilter('artifact-requests')];
  await client.subscribeAsync(filters, { qos: 1 });
  let invalid = 0;
  const state = { delayMs: 0, paused: false };

  async function answer(deviceId: string, payload: Buffer): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(payload.toString('utf8'));
    } catch {
      invalid++;
      return;
    }
    const parsed = artifactChunkRequestSchema.safeParse(raw);
    if (!parsed.success) {
      invalid++;
      return;
    }
    const req = parsed.data;
    requests.push({ deviceId, ...req, at: Date.now() });
    if (state.paused) return;
    if (state.delayMs) await new Promise((r) => setTimeout(r, state.delayMs));
    const file = files.get(req.sha256);
    const topic = deviceTopic(deviceId, 'artifact-chunks');
    if (!file) {
      const frame = encodeArtifactChunk({ requestId: req.requestId, sha256: req.sha256, offset: req.offset, total: 0, error: { code: 'ARTIFACT_NOT_FOUND', message: `no artifact ${req.sha256}` } });
      client.publish(topic, frame, { qos: 1 });
      return;
    }
    if (req.offset >= file.size) {
      const frame = encodeArtifactChunk({ requestId: req.requestId, sha256: req.sha256, offset: req.offset, total: file.size, error: { code: 'ARTIFACT_RANGE_INVALID', message: `offset ${req.offset} beyond ${file.size}` } });
      client.publish(topic, frame, { qos: 1 });
      return;
    }
    const length = Math.min(req.length, MAX_CHUNK_BYTES, file.size - req.offset);
    let data: Buffer;
    if (file.bytes) data = file.bytes.subarray(req.offset, req.offset + length);
    else {
      const fh = await open(file.path as string, 'r');
      try {
        data = Buffer.alloc(length);
        await fh.read(data, 0, length, req.offset);
      } finally {
        await fh.close();
      }
    }
    client.publish(topic, encodeArtifactChunk({ requestId: req.requestId, sha256: req.sha256, offset: req.offset, total: file.size }, data), { qos: 1 });
  }

  client.on('message', (topic, payload) => {
    const parsed = parseDeviceTopic(topic);
    if (!parsed) return;
    answer(parsed.deviceId, payload).catch(() => {
      invalid++;
    });
  });

  return {
    async addFile(path) {
      const hash = createHash('sha256').update(await readFile(path)).digest('hex');
      const { size } = await stat(path);
      files.set(hash, { path, size });
      return { sha256: hash, size };
    },
    addBuffer(bytes, opts = {}) {
      const hash = opts.as ?? createHash('sha256').update(bytes).digest('hex');
      files.set(hash, { bytes, size: bytes.length });
      return { sha256: hash, size: bytes.length };
    },
    requests,
    get invalid() {
      return invalid;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(v) {
      state.delayMs = v;
    },
    get paused() {
      return state.paused;
    },
    set paused(v) {
      state.paused = v;
    },
    close: () => client.endAsync(true),
  };
}

/** A signed artifact reference, as the control plane would put it in a desired state. */
export function signedArtifact(
  name: string,
  version: string,
  file: { sha256: string; size: number },
  privateKeyPem: string,
  extra: { url?: string; createdAt?: string } = {},
): ArtifactRef {
  const createdAt = extra.createdAt ?? new Date().toISOString();
  const signature = signManifest({ name, version, sha256: file.sha256, size: file.size, createdAt }, privateKeyPem);
  return { sha256: file.sha256, size: file.size, createdAt, signature, ...(extra.url ? { url: extra.url } : {}) };
}

export function desiredModel(name: string, version: string, artifact: ArtifactRef, extra: Partial<DesiredModel> = {}): DesiredModel {
  return { name, version, artifact, ...extra };
}
