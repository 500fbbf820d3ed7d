import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import {
  commandResultSchema,
  deviceTopic,
  desiredStateSchema,
  encodeArtifactChunk,
  encodePayload,
  generateSigningKeyPair,
  reportedStateSchema,
  type CommandResult,
  type ReportedState,
} from '@edgefleet/shared';
import { MOSQUITTO_URL } from '../helpers/index.js';
import { ensureAgentBuilt, spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { signedArtifact, startArtifactResponder, type ArtifactResponder } from '../helpers/artifact-responder.js';
import { addModel } from '../helpers/onnx-models.js';
import { tmpDataDir, type TmpDir } from '../helpers/tmp-dir.js';
import { until } from '../helpers/until.js';
import { describeNeeding } from '../setup/gate.js';

/**
 * Issue 3, "done when" 5, against Mosquitto (the external-broker path; the other agent tests use
 * the embedded aedes broker): the agent converges through Mosquitto, then 1,000 malformed or
 * hostile payloads on each topic it subscribes to (wrong types, invalid JSON, binary garbage,
 * 1 MB strings, other devices' ids) leave it running, answering every command that carries an id
 * with an error result, and still serving its model.
 */
const PER_TOPIC = 1000;
const keys = generateSigningKeyPair();
const deviceId = `agent-hostile-${process.pid}-${Date.now()}`;
let responder: ArtifactResponder;
let cp: MqttClient;
let dir: TmpDir;
let agent: AgentProcess;
const results = new Map<string, CommandResult>();
const reports: ReportedState[] = [];


/** The i-th hostile payload for a topic; ids on command payloads are unique so each answer is traceable. */
function hostile(i: number, channel: 'desired' | 'commands' | 'artifact-chunks'): { payload: Buffer; answerId?: string } {
  const id = `h-${channel}-${i}`;
  switch (i % 10) {
    case 0:
      return { payload: Buffer.from('{"not json') };
    case 1:
      return { payload: randomBytes(64 + (i % 200)) };
    case 2:
      return channel === 'commands'
        ? { payload: Buffer.from(JSON.stringify({ id, type: 'rollback', model: 42 })), answerId: id }
        : { payload: Buffer.from(JSON.stringify({ deviceId, generation: 'one', models: 'all' })) };
    case 3:
      // Another device's desired state, or a command of an unknown type.
      return channel === 'commands'
        ? { payload: Buffer.from(JSON.stringify({ id, type: 'format-disk' })), answerId: id }
        : { payload: encodePayload(desiredStateSchema, { deviceId: 'someone-else', generation: 10_000 + i, issuedAt: new Date().toISOString(), models: [] }) };
    case 4:
      return i % 100 === 4
        ? { payload: Buffer.from(JSON.stringify({ id, type: 'ping', pad: 'x'.repeat(1024 * 1024) })), ...(channel === 'commands' ? { answerId: id } : {}) }
        : { payload: Buffer.from(JSON.stringify({ id, type: 'set-log-level', level: 'loud' })), ...(channel === 'commands' ? { answerId: id } : {}) };
    case 5:
      return { payload: Buffer.from('null') };
    case 6:
      return { payload: Buffer.from(JSON.stringify([1, 2, 3])) };
    case 7:
      return { payload: encodeArtifactChunk({ requestId: `nobody-${i}`, sha256: 'a'.repeat(64), offset: i, total: 1 }, randomBytes(32)) };
    case 8:
      return { payload: Buffer.alloc(0) };
    default:
      return channel === 'commands'
        ? { payload: Buffer.from(JSON.stringify({ id, type: 'infer', model: 'adder', request: { inputs: 'everything' } })), answerId: id }
        : { payload: Buffer.from(JSON.stringify({ __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } })) };
  }
}

beforeAll(async () => {
  await ensureAgentBuilt();
  responder = await startArtifactResponder(MOSQUITTO_URL, { devices: [deviceId] });
  dir = await tmpDataDir('agent-hostile-');
  cp = await mqtt.connectAsync(MOSQUITTO_URL, { clientId: `cp-${deviceId}` });
  cp.on('message', (topic, payload) => {
    if (!payload.length) return;
    if (topic.endsWith('/command-results')) {
      const r = commandResultSchema.parse(JSON.parse(payload.toString()));
      results.set(r.id, r);
    } else if (topic.endsWith('/reported')) reports.push(reportedStateSchema.parse(JSON.parse(payload.toString())));
  });
  await cp.subscribeAsync([deviceTopic(deviceId, 'command-results'), deviceTopic(deviceId, 'reported')], { qos: 1 });
  agent = await spawnAgent({ deviceId, brokerUrl: MOSQUITTO_URL, fleetPublicKey: keys.publicKeyPem, dataDir: dir.path, config: { logLevel: 'error' } });
});

afterAll(async () => {
  await agent?.stop();
  // Retained messages on a shared broker outlive the test: clear ours.
  for (const ch of ['desired', 'reported', 'presence'] as const) await cp?.publishAsync(deviceTopic(deviceId, ch), Buffer.alloc(0), { qos: 1, retain: true });
  await cp?.endAsync();
  // The agent's persistent session (clean=false) would also outlive the test on Mosquitto.
  await (await mqtt.connectAsync(MOSQUITTO_URL, { clientId: deviceId, clean: true })).endAsync();
  await responder?.close();
  await dir?.cleanup();
});

describeNeeding(['mosquitto-broker'], 'hostile payloads on every subscribed topic (Mosquitto)', () => {
  it('converges through Mosquitto, survives 1,000 bad payloads per topic and answers with error results', { timeout: 90_000 }, async () => {
    const file = responder.addBuffer(addModel({ addend: 2 }));
    await cp.publishAsync(
      deviceTopic(deviceId, 'desired'),
      encodePayload(desiredStateSchema, { deviceId, generation: 1, issuedAt: new Date().toISOString(), models: [{ name: 'adder', version: '1', artifact: signedArtifact('adder', '1', file, keys.privateKeyPem) }] }),
      { qos: 1, retain: true },
    );
    await until('adder active', () => (reports.at(-1)?.models.find((m) => m.name === 'adder')?.active === '1' ? true : undefined));

    const expected: string[] = [];
    for (const channel of ['desired', 'commands', 'artifact-chunks'] as const) {
      for (let i = 0; i < PER_TOPIC; i++) {
        const { payload, answerId } = hostile(i, channel);
        if (answerId) expected.push(answerId);
        cp.publish(deviceTopic(deviceId, channel), payload, { qos: 1 });
        // Mosquitto drops QoS 1 messages beyond max_queued_messages (1000) for a slow subscriber:
        // pace the flood with a ping barrier so every hostile payload really reaches the agent.
        if (i % 200 === 199) {
          const barrier = `barrier-${channel}-${i}`;
          cp.publish(deviceTopic(deviceId, 'commands'), Buffer.from(JSON.stringify({ id: barrier, type: 'ping' })), { qos: 1 });
          await until(barrier, () => results.get(barrier), 30_000);
        }
      }
    }
    // Every command with an id gets an error result with a code (unknown type → COMMAND_UNKNOWN).
    await until(`${expected.length} error results`, () => (expected.every((id) => results.has(id)) ? true : undefined), 60_000).catch((err: Error) => {
      throw new Error(`${err.message}; missing ${expected.filter((id) => !results.has(id)).slice(0, 20).join(", ")}`);
    });
    for (const id of expected) {
      const r = results.get(id)!;
      if (r.ok) expect(id).toMatch(/^h-commands-\d*4$/);
      else expect(r.error?.code).toMatch(/^(PAYLOAD_INVALID|COMMAND_UNKNOWN|INPUT_INVALID|PAYLOAD_TOO_LARGE)$/);
    }
    expect(results.get('h-commands-3')?.error?.code).toBe('COMMAND_UNKNOWN');

    // Still alive, still on generation 1 (another device's generation 10,000+ was ignored), still serving.
    expect(agent.child.exitCode).toBeNull();
    const ping = `ping-${Date.now()}`;
    await cp.publishAsync(deviceTopic(deviceId, 'commands'), Buffer.from(JSON.stringify({ id: ping, type: 'ping' })), { qos: 1 });
    expect(await until('pong', () => results.get(ping))).toMatchObject({ ok: true, result: { pong: true } });
    const infer = `infer-${Date.now()}`;
    await cp.publishAsync(
      deviceTopic(deviceId, 'commands'),
      Buffer.from(JSON.stringify({ id: infer, type: 'infer', model: 'adder', request: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] }] } })),
      { qos: 1 },
    );
    const inferred = await until('infer result', () => results.get(infer));
    expect((inferred.result as { outputs: { data: number[] }[] }).outputs[0]?.data).toEqual([3, 3, 3, 3]);
    const state = `state-${Date.now()}`;
    await cp.publishAsync(deviceTopic(deviceId, 'commands'), Buffer.from(JSON.stringify({ id: state, type: 'get-state' })), { qos: 1 });
    const got = (await until('state', () => results.get(state))).result as ReportedState;
    expect(got.observedGeneration).toBe(1);
    expect(got.models.find((m) => m.name === 'adder')?.active).toBe('1');
  });
});
