import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { commandResultSchema, deviceTopic, desiredStateSchema, encodePayload, generateSigningKeyPair, reportedStateSchema, type CommandResult, type ReportedState } from '@edgefleet/shared';
import { startAedesBroker, type TestBroker } from '../helpers/aedes-broker.js';
import { ensureAgentBuilt, spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { signedArtifact, startArtifactResponder, type ArtifactResponder } from '../helpers/artifact-responder.js';
import { addModel } from '../helpers/onnx-models.js';
import { tmpDataDir, type TmpDir } from '../helpers/tmp-dir.js';
import { until } from '../helpers/until.js';

/**
 * Issue 18: the MQTT `infer` command goes through the same inference path as the local API, so it
 * counts into the same Triton statistics (`GET /v2/models/{m}/stats`): a real agent process (the
 * wiring in main.ts and agent.ts is what decides which table a command counts into), a success and
 * a failure over the command channel, each read back from the HTTP statistics.
 */
interface DurationStat {
  count: number;
  ns: number;
}
interface VersionStats {
  name: string;
  version: string;
  inference_count: number;
  execution_count: number;
  inference_stats: Record<'success' | 'fail' | 'queue' | 'compute_input' | 'compute_infer' | 'compute_output', DurationStat>;
  batch_stats: { batch_size: number; compute_infer: DurationStat }[];
}

const keys = generateSigningKeyPair();
const deviceId = `agent-mqtt-stats-${process.pid}`;
let broker: TestBroker;
let responder: ArtifactResponder;
let cp: MqttClient;
let dir: TmpDir;
let agent: AgentProcess;
let url: string;
const reports: ReportedState[] = [];
const results = new Map<string, CommandResult>();


async function mqttInfer(data: number[]): Promise<CommandResult> {
  const id = `infer-${Math.random().toString(16).slice(2)}`;
  const request = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data }] };
  await cp.publishAsync(deviceTopic(deviceId, 'commands'), Buffer.from(JSON.stringify({ id, type: 'infer', model: 'adder', request })), { qos: 1 });
  return until(`command ${id}`, () => results.get(id));
}

async function adderStats(): Promise<VersionStats> {
  const res = await fetch(`${url}/v2/models/adder/stats`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { model_stats: VersionStats[] };
  expect(body.model_stats.map((s) => s.version)).toEqual(['1']);
  return body.model_stats[0]!;
}

beforeAll(async () => {
  await ensureAgentBuilt();
  broker = await startAedesBroker();
  responder = await startArtifactResponder(broker.url);
  dir = await tmpDataDir('agent-mqtt-stats-');
  cp = await mqtt.connectAsync(broker.url, { clientId: `cp-${deviceId}`, reconnectPeriod: 200 });
  cp.on('message', (topic, payload) => {
    if (!payload.length) return;
    const json: unknown = JSON.parse(payload.toString());
    if (topic.endsWith('/reported')) reports.push(reportedStateSchema.parse(json));
    else if (topic.endsWith('/command-results')) {
      const r = commandResultSchema.parse(json);
      results.set(r.id, r);
    }
  });
  for (const ch of ['reported', 'command-results'] as const) await cp.subscribeAsync(deviceTopic(deviceId, ch), { qos: 1 });
  agent = await spawnAgent({ deviceId, brokerUrl: broker.url, fleetPublicKey: keys.publicKeyPem, dataDir: dir.path });
  ({ url } = (await agent.waitForLog((l) => l.msg === 'local API listening')) as unknown as { url: string });
  await agent.waitForLog((l) => l.msg === 'connected to the broker');
  const artifact = signedArtifact('adder', '1', responder.addBuffer(addModel({ addend: 2 })), keys.privateKeyPem);
  await cp.publishAsync(deviceTopic(deviceId, 'desired'), encodePayload(desiredStateSchema, { deviceId, generation: 1, issuedAt: new Date().toISOString(), models: [{ name: 'adder', version: '1', artifact }] }), {
    qos: 1,
    retain: true,
  });
  await until('adder v1 active', () => (reports.at(-1)?.models.find((m) => m.name === 'adder')?.active === '1' ? true : undefined));
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await cp?.endAsync(true);
  await responder?.close();
  await broker?.close();
  await dir?.cleanup();
});

describe('MQTT infer command in the Triton statistics', () => {
  it('counts a successful command like a local API request (success, queue, compute, batch)', async () => {
    const before = await adderStats();
    expect(before.inference_stats.success.count).toBe(0);

    const r = await mqttInfer([1, 2, 3, 4]);
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    expect((r.result as { outputs: { data: number[] }[] }).outputs[0]!.data).toEqual([3, 4, 5, 6]);

    const after = await adderStats();
    expect(after.inference_count).toBe(1);
    expect(after.execution_count).toBe(1);
    for (const key of ['success', 'queue', 'compute_input', 'compute_infer', 'compute_output'] as const) expect(after.inference_stats[key].count, key).toBe(1);
    expect(after.inference_stats.success.ns).toBeGreaterThan(0);
    expect(after.inference_stats.compute_infer.ns).toBeGreaterThan(0);
    expect(after.inference_stats.fail.count).toBe(0);
    expect(after.batch_stats).toEqual([expect.objectContaining({ batch_size: 1, compute_infer: expect.objectContaining({ count: 1 }) })]);

    // The same table as the HTTP path: a KServe REST request adds to the command's count.
    const res = await fetch(`${url}/v2/models/adder/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [0, 0, 0, 0] }] }),
    });
    expect(res.status).toBe(200);
    expect((await adderStats()).inference_stats.success.count).toBe(2);
  });

  it('counts a failing command as fail, not success', async () => {
    const before = await adderStats();
    // Three values for a [1, 4] tensor: rejected while decoding, after the model was resolved.
    const r = await mqttInfer([1, 2, 3]);
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('INPUT_INVALID');

    const after = await adderStats();
    expect(after.inference_stats.fail.count).toBe(before.inference_stats.fail.count + 1);
    expect(after.inference_stats.fail.ns).toBeGreaterThan(before.inference_stats.fail.ns);
    expect(after.inference_stats.success.count).toBe(before.inference_stats.success.count);
    expect(after.execution_count).toBe(before.execution_count);
  });
});
