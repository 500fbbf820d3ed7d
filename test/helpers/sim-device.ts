/**
 * One simulated device speaking the real edgefleet/v1 contract (for test/helpers/fleet-sim.ts):
 * it connects with device credentials, subscribes to its desired/commands/artifact-chunks topics,
 * fetches each desired artifact over chunk requests, verifies size, sha256 and signature, emits the
 * deployment events and reported state an agent would, and simulates inference by reporting
 * telemetry windows. Only onnxruntime is simulated; every byte on the wire is contract-checked.
 */
import { createHash } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import {
  artifactChunkRequestSchema,
  commandRequestSchema,
  commandResultSchema,
  decodeArtifactChunk,
  deploymentEventSchema,
  desiredStateSchema,
  deviceTopic,
  encodePayload,
  LATENCY_BUCKETS_MS,
  parsePayload,
  presenceSchema,
  reportedStateSchema,
  telemetryBatchSchema,
  verifyManifest,
  type DeploymentEvent,
  type DesiredModel,
  type DesiredState,
  type ReportedModel,
} from '@edgefleet/shared';

export interface SimDeviceCredentials {
  deviceId: string;
  /** @default deviceId */
  username?: string;
  password?: string;
}

export interface SimDeviceOptions {
  brokerUrl: string;
  credentials: SimDeviceCredentials;
  /** When given, every artifact's signature is verified as the real agent does. */
  fleetPublicKey?: string;
  chunkBytes: number;
  window: number;
  chunkTimeoutMs: number;
  /** 0 = no periodic telemetry. */
  telemetryIntervalMs: number;
  counters: SimCounters;
  /** Called when a model version becomes active (rollout timing). */
  onActive?(deviceId: string, model: string, version: string, atMs: number): void;
  /** Called for each telemetry batch sent (lag measurement). */
  onTelemetry?(deviceId: string, seq: number, sentAtMs: number): void;
}

export interface SimCounters {
  connects: number;
  connectErrors: number;
  reconnects: number;
  desiredReceived: number;
  invalidPayloads: number;
  chunkRequests: number;
  chunkRetries: number;
  bytesReceived: number;
  verifyFailures: number;
  events: number;
  telemetryBatches: number;
  telemetryPoints: number;
}

export function newCounters(): SimCounters {
  return { connects: 0, connectErrors: 0, reconnects: 0, desiredReceived: 0, invalidPayloads: 0, chunkRequests: 0, chunkRetries: 0, bytesReceived: 0, verifyFailures: 0, events: 0, telemetryBatches: 0, telemetryPoints: 0 };
}

interface PendingChunk {
  resolve(data: Buffer): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class SimDevice {
  readonly deviceId: string;
  private client: MqttClient | undefined;
  private generation = -1;
  private applied = 0;
  private seq = 0;
  private telemetrySeq = 0;
  private requestSeq = 0;
  private readonly models = new Map<string, ReportedModel>();
  private readonly pending = new Map<string, PendingChunk>();
  private telemetryTimer: NodeJS.Timeout | undefined;
  private working: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly opts: SimDeviceOptions) {
    this.deviceId = opts.credentials.deviceId;
  }

  private topic(channel: Parameters<typeof deviceTopic>[1]): string {
    return deviceTopic(this.deviceId, channel);
  }

  /** Resolves on the first CONNACK (and subscriptions granted); rejects on a refused connection. */
  async connect(timeoutMs = 60_000): Promise<void> {
    const { credentials } = this.opts;
    const client = mqtt.connect(this.opts.brokerUrl, {
      clientId: this.deviceId,
      username: credentials.username ?? this.deviceId,
      password: credentials.password,
      clean: true,
      keepalive: 60,
      reconnectPeriod: 2_000,
      connectTimeout: timeoutMs,
      will: { topic: this.topic('presence'), payload: encodePayload(presenceSchema, { deviceId: this.deviceId, status: 'offline' }), qos: 1, retain: true },
    });
    this.client = client;
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('connect', () => {
      this.opts.counters.connects += 1;
      void this.announce();
    });
    client.on('reconnect', () => (this.opts.counters.reconnects += 1));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.deviceId}: no CONNACK within ${timeoutMs} ms`)), timeoutMs);
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      client.once('error', (err) => {
        clearTimeout(timer);
        this.opts.counters.connectErrors += 1;
        client.end(true);
        reject(err);
      });
    });
    // Not `acks`: a simulated device keeps no outbox, so the control plane's acks would change nothing
    // here, and leaving them unsubscribed spares the broker delivering one per event and batch.
    await client.subscribeAsync([this.topic('desired'), this.topic('commands'), this.topic('artifact-chunks')], { qos: 1 });
    if (this.opts.telemetryIntervalMs > 0) {
      // Spread the fleet over the interval as real devices booted at different times are.
      const first = Math.floor(Math.random() * this.opts.telemetryIntervalMs);
      this.telemetryTimer = setTimeout(() => {
        this.telemetryTimer = setInterval(() => void this.sendTelemetry(), this.opts.telemetryIntervalMs);
        void this.sendTelemetry();
      }, first);
    }
  }

  private async announce(): Promise<void> {
    await this.publish('presence', encodePayload(presenceSchema, { deviceId: this.deviceId, status: 'online', at: new Date().toISOString(), agentVersion: 'fleet-sim' }), true);
    await this.report();
  }

  private async publish(channel: Parameters<typeof deviceTopic>[1], payload: Buffer, retain = false): Promise<void> {
    if (!this.client || this.closed) return;
    try {
      await this.client.publishAsync(this.topic(channel), payload, { qos: 1, retain });
    } catch {
      // Offline: the real agent keeps a durable outbox; the simulator republishes state on reconnect.
    }
  }

  private onMessage(topic: string, payload: Buffer): void {
    const channel = topic.slice(topic.lastIndexOf('/') + 1);
    try {
      if (channel === 'artifact-chunks') return this.onChunk(payload);
      if (channel === 'commands') return void this.onCommand(payload);
      if (channel === 'desired') {
        const desired = parsePayload(desiredStateSchema, payload, 'desired state');
        this.opts.counters.desiredReceived += 1;
        if (desired.deviceId !== this.deviceId || desired.generation <= this.generation) return;
        this.generation = desired.generation;
        this.working = this.working.then(() => this.apply(desired)).catch(() => undefined);
      }
    } catch {
      this.opts.counters.invalidPayloads += 1;
    }
  }

  private async onCommand(payload: Buffer): Promise<void> {
    const command = parsePayload(commandRequestSchema, payload, 'command');
    const result = encodePayload(commandResultSchema, { id: command.id, deviceId: this.deviceId, type: command.type, ok: command.type === 'ping' || command.type === 'get-state', at: new Date().toISOString() });
    await this.publish('command-results', result);
  }

  private onChunk(payload: Buffer): void {
    const { header, data } = decodeArtifactChunk(payload);
    const pending = this.pending.get(header.requestId);
    if (!pending) return;
    this.pending.delete(header.requestId);
    clearTimeout(pending.timer);
    if (header.error) pending.reject(new Error(`${header.error.code}: ${header.error.message}`));
    else pending.resolve(data);
  }

  private async event(desired: DesiredState, model: DesiredModel, body: Record<string, unknown>): Promise<void> {
    this.seq += 1;
    this.opts.counters.events += 1;
    const event = { deviceId: this.deviceId, eventId: `${this.deviceId}-${this.seq}`, seq: this.seq, at: new Date().toISOString(), generation: desired.generation, model: model.name, version: model.version, rolloutId: model.rolloutId, ...body } as DeploymentEvent;
    await this.publish('events', encodePayload(deploymentEventSchema, event));
  }

  private async apply(desired: DesiredState): Promise<void> {
    for (const model of desired.models) {
      const current = this.models.get(model.name);
      if (current?.active === model.version) continue;
      this.models.set(model.name, { name: model.name, installed: current?.installed ?? [], active: current?.active, target: model.version, state: 'downloading', rolloutId: model.rolloutId });
      await this.event(desired, model, { type: 'queued' });
      await this.event(desired, model, { type: 'downloading', bytes: 0, total: model.artifact.size });
      try {
        const bytes = await this.fetchArtifact(model);
        this.verify(model, bytes);
        await this.event(desired, model, { type: 'verified' });
        await this.event(desired, model, { type: 'loading' });
        const previous = current?.active;
        this.models.set(model.name, { name: model.name, installed: [...new Set([...(current?.installed ?? []), model.version])], active: model.version, previous, state: 'active', ep: 'cpu', rolloutId: model.rolloutId });
        await this.event(desired, model, { type: 'active', ep: 'cpu', previous });
        this.opts.onActive?.(this.deviceId, model.name, model.version, Date.now());
      } catch (err) {
        const code = /DIGEST|SIGNATURE/.test(String(err)) ? 'ARTIFACT_DIGEST_MISMATCH' : 'ARTIFACT_FETCH_FAILED';
        this.models.set(model.name, { ...(this.models.get(model.name) as ReportedModel), state: 'failed', lastError: { code, message: String(err).slice(0, 500) } });
        await this.event(desired, model, { type: 'failed', error: { code, message: String(err).slice(0, 500) } });
      }
    }
    for (const name of [...this.models.keys()]) if (!desired.models.some((m) => m.name === name)) this.models.delete(name);
    this.applied = desired.generation;
    await this.report();
  }

  private verify(model: DesiredModel, bytes: Buffer): void {
    const { artifact } = model;
    if (bytes.length !== artifact.size || createHash('sha256').update(bytes).digest('hex') !== artifact.sha256) {
      this.opts.counters.verifyFailures += 1;
      throw new Error('DIGEST mismatch');
    }
    if (this.opts.fleetPublicKey && !verifyManifest({ name: model.name, version: model.version, sha256: artifact.sha256, size: artifact.size, createdAt: artifact.createdAt }, artifact.signature, this.opts.fleetPublicKey)) {
      this.opts.counters.verifyFailures += 1;
      throw new Error('SIGNATURE invalid');
    }
  }

  private requestChunk(sha256: string, offset: number, length: number, attempt = 0): Promise<Buffer> {
    this.requestSeq += 1;
    const requestId = `${this.requestSeq}`;
    this.opts.counters.chunkRequests += 1;
    if (attempt > 0) this.opts.counters.chunkRetries += 1;
    const reply = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error('chunk timeout'));
      }, this.opts.chunkTimeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
    });
    void this.publish('artifact-requests', encodePayload(artifactChunkRequestSchema, { requestId, sha256, offset, length }));
    return reply.catch((err: unknown) => {
      if (attempt >= 4 || this.closed || !String(err).includes('timeout')) throw err;
      return this.requestChunk(sha256, offset, length, attempt + 1);
    });
  }

  /** Requests by offset with a bounded window, as the agent's chunk fetcher does. */
  private async fetchArtifact(model: DesiredModel): Promise<Buffer> {
    const { sha256, size } = model.artifact;
    const parts: Buffer[] = [];
    const offsets: number[] = [];
    for (let o = 0; o < size; o += this.opts.chunkBytes) offsets.push(o);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < offsets.length) {
        const i = next++;
        const offset = offsets[i] as number;
        const data = await this.requestChunk(sha256, offset, Math.min(this.opts.chunkBytes, size - offset));
        this.opts.counters.bytesReceived += data.length;
        parts[i] = data;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.window, offsets.length) }, worker));
    return Buffer.concat(parts);
  }

  async report(): Promise<void> {
    const state = {
      deviceId: this.deviceId,
      observedGeneration: Math.max(this.generation, 0),
      appliedGeneration: this.applied,
      agentVersion: 'fleet-sim',
      reportedAt: new Date().toISOString(),
      executionProviders: ['cpu' as const],
      models: [...this.models.values()],
    };
    await this.publish('reported', encodePayload(reportedStateSchema, state), true);
  }

  /** Simulated inference: every active model served some requests at a few ms each. */
  private async sendTelemetry(): Promise<void> {
    const now = Date.now();
    this.telemetrySeq += 1;
    const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
    latency[3] = 20;
    const inference = [...this.models.values()]
      .filter((m) => m.active)
      .map((m) => ({ model: m.name, version: m.active as string, ep: 'cpu' as const, from: now - this.opts.telemetryIntervalMs, to: now, requests: 20, failures: {}, latency, latencySumMs: 160, queueSumMs: 0 }));
    const batch = { deviceId: this.deviceId, seq: this.telemetrySeq, sentAt: new Date(now).toISOString(), samples: [{ t: now, cpu: 10 + Math.random() * 20, memUsed: 5e8, memTotal: 4e9, agentRss: 4e7 }], inference };
    this.opts.counters.telemetryBatches += 1;
    this.opts.counters.telemetryPoints += 1 + inference.length;
    this.opts.onTelemetry?.(this.deviceId, this.telemetrySeq, now);
    await this.publish('telemetry', encodePayload(telemetryBatchSchema, batch));
  }

  /** Which version of `model` is active (undefined when none). */
  activeVersion(model: string): string | undefined {
    return this.models.get(model)?.active;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.telemetryTimer) {
      clearTimeout(this.telemetryTimer);
      clearInterval(this.telemetryTimer);
    }
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    await this.client?.endAsync(true).catch(() => undefined);
  }
}
