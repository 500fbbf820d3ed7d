/**
 * A rig for agent fault cases: a plain broker, the test artifact responder, a signing key and an
 * observer that records every reported state, deployment event and command result per device.
 * The agents are real processes (test/helpers/agent-process.ts); the rig only plays the control
 * plane's part of the contract (publish desired, serve chunks, send commands, ack recorded events).
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import {
  allDevicesFilter,
  commandResultSchema,
  deliveryAckSchema,
  deploymentEventSchema,
  desiredStateSchema,
  deviceTopic,
  encodePayload,
  generateSigningKeyPair,
  parseDeviceTopic,
  reportedStateSchema,
  type CommandResult,
  type DeploymentEvent,
  type DesiredModel,
  type ReportedState,
  type SigningKeyPair,
} from '@edgefleet/shared';
import { startAedesBroker, type TestBroker } from '../../helpers/aedes-broker.js';
import { signedArtifact, startArtifactResponder, type ArtifactResponder } from '../../helpers/artifact-responder.js';
import { encodeModel } from '../../helpers/onnx-models.js';

export interface DeviceRecord {
  reports: ReportedState[];
  events: DeploymentEvent[];
  results: Map<string, CommandResult>;
}

export interface AgentRig {
  broker: TestBroker;
  responder: ArtifactResponder;
  keys: SigningKeyPair;
  observer: MqttClient;
  device(deviceId: string): DeviceRecord;
  /** Publishes a retained desired state; returns its generation. */
  desire(deviceId: string, models: DesiredModel[], generation?: number): Promise<number>;
  /** A signed `y = x + addend` model of about `padBytes` (an unused initializer pads it so downloads take several chunks). */
  addModelVersion(name: string, version: string, addend: number, padBytes?: number): DesiredModel;
  waitReport(deviceId: string, pred: (r: ReportedState) => boolean, timeoutMs: number): Promise<ReportedState>;
  /** Sends a command and waits for its result (undefined on timeout). */
  command(deviceId: string, body: Record<string, unknown>, timeoutMs?: number): Promise<CommandResult | undefined>;
  /** Runs `infer` on [1,2,3,4] and returns y[0] - 1, i.e. the addend of the version that answered. */
  inferAddend(deviceId: string, model: string, timeoutMs?: number): Promise<{ addend?: number; version?: string; error?: string }>;
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startAgentRig(): Promise<AgentRig> {
  const keys = generateSigningKeyPair();
  const broker = await startAedesBroker();
  const responder = await startArtifactResponder(broker.url);
  const observer = await mqtt.connectAsync(broker.url, { clientId: `fault-observer-${process.pid}`, reconnectPeriod: 200 });
  const records = new Map<string, DeviceRecord>();
  const generations = new Map<string, number>();
  const device = (id: string): DeviceRecord => {
    let r = records.get(id);
    if (!r) records.set(id, (r = { reports: [], events: [], results: new Map() }));
    return r;
  };
  observer.on('message', (topic, payload) => {
    const parsed = parseDeviceTopic(topic);
    if (!parsed || payload.length === 0) return;
    const rec = device(parsed.deviceId);
    try {
      const json: unknown = JSON.parse(payload.toString('utf8'));
      if (parsed.channel === 'reported') rec.reports.push(reportedStateSchema.parse(json));
      else if (parsed.channel === 'events') {
        const event = deploymentEventSchema.parse(json);
        rec.events.push(event);
        // Recorded is stored here: ack it end to end as the control plane does, or the agent keeps it (issue 10).
        observer.publish(deviceTopic(parsed.deviceId, 'acks'), encodePayload(deliveryAckSchema, { channel: 'events', seqs: [event.seq] }), { qos: 1 });
      }
      else if (parsed.channel === 'command-results') {
        const result = commandResultSchema.parse(json);
        rec.results.set(result.id, result);
      }
    } catch {
      // An agent that sends what the contract refuses is a bug the cases count through their own checks.
    }
  });
  await observer.subscribeAsync(['reported', 'events', 'command-results'].map((c) => allDevicesFilter(c as 'events')), { qos: 1 });

  const rig: AgentRig = {
    broker,
    responder,
    keys,
    observer,
    device,
    async desire(deviceId, models, generation) {
      const g = generation ?? (generations.get(deviceId) ?? 0) + 1;
      generations.set(deviceId, g);
      await observer.publishAsync(deviceTopic(deviceId, 'desired'), encodePayload(desiredStateSchema, { deviceId, generation: g, issuedAt: new Date().toISOString(), models }), { qos: 1, retain: true });
      return g;
    },
    addModelVersion(name, version, addend, padBytes = 0) {
      const bytes = encodeModel({
        name: 'add',
        inputs: [{ name: 'x', type: 'float32', shape: [1, 4] }],
        outputs: [{ name: 'y', type: 'float32', shape: [1, 4] }],
        initializers: [
          { name: 'c', shape: [], values: [addend] },
          ...(padBytes > 0 ? [{ name: 'pad', shape: [Math.ceil(padBytes / 4)], values: new Float32Array(Math.ceil(padBytes / 4)).fill(addend) }] : []),
        ],
        nodes: [{ op: 'Add', inputs: ['x', 'c'], outputs: ['y'] }],
      });
      const file = responder.addBuffer(bytes);
      return { name, version, artifact: signedArtifact(name, version, file, keys.privateKeyPem) };
    },
    async waitReport(deviceId, pred, timeoutMs) {
      const rec = device(deviceId);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = [...rec.reports].reverse().find(pred);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`${deviceId}: no matching reported state in ${timeoutMs} ms; last: ${JSON.stringify(rec.reports.at(-1)?.models)}`);
        await sleep(50);
      }
    },
    async command(deviceId, body, timeoutMs = 10_000) {
      const id = randomUUID();
      await observer.publishAsync(deviceTopic(deviceId, 'commands'), Buffer.from(JSON.stringify({ id, ...body })), { qos: 1 });
      const rec = device(deviceId);
      const deadline = Date.now() + timeoutMs;
      while (!rec.results.has(id) && Date.now() < deadline) await sleep(25);
      return rec.results.get(id);
    },
    async inferAddend(deviceId, model, timeoutMs) {
      const result = await rig.command(deviceId, { type: 'infer', model, request: { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] } }, timeoutMs);
      if (!result) return { error: 'no command result' };
      if (!result.ok) return { error: `${result.error?.code}: ${result.error?.message}` };
      const r = result.result as { model_version?: string; outputs?: { data?: number[] }[] };
      const y0 = r.outputs?.[0]?.data?.[0];
      return { addend: typeof y0 === 'number' ? Math.round((y0 - 1) * 1000) / 1000 : undefined, version: r.model_version };
    },
    async close() {
      await observer.endAsync(true);
      await responder.close();
      await broker.close();
    },
  };
  return rig;
}

/** Gaps in a device's event seq (1..max): events the durable outbox lost. Duplicates are counted apart. */
export function eventSeqAudit(events: readonly DeploymentEvent[]): { distinct: number; duplicates: number; gaps: number; maxSeq: number } {
  const seqs = new Set<number>();
  let duplicates = 0;
  for (const e of events) {
    if (seqs.has(e.seq)) duplicates += 1;
    seqs.add(e.seq);
  }
  const sorted = [...seqs].sort((a, b) => a - b);
  const min = sorted[0] ?? 0;
  const maxSeq = sorted.at(-1) ?? 0;
  return { distinct: seqs.size, duplicates, gaps: sorted.length ? maxSeq - min + 1 - seqs.size : 0, maxSeq };
}
