import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import {
  deviceTopic,
  desiredStateSchema,
  encodePayload,
  generateSigningKeyPair,
  reportedStateSchema,
  type DesiredModel,
  type ReportedState,
} from '@edgefleet/shared';
import { startAedesBroker, type TestBroker } from '../helpers/aedes-broker.js';
import { ensureAgentBuilt, spawnAgent } from '../helpers/agent-process.js';
import { signedArtifact, startArtifactResponder, type ArtifactResponder } from '../helpers/artifact-responder.js';
import { addModel } from '../helpers/onnx-models.js';
import { tmpDataDir, type TmpDir } from '../helpers/tmp-dir.js';

/**
 * Issue 3, "done when" 1: a fresh agent (the real process, real broker, real SQLite, real
 * onnxruntime) receives a desired state and reports the model active within seconds; after a
 * restart with the broker down it serves the same model; SIGTERM drains and exits 0.
 */
const keys = generateSigningKeyPair();
let broker: TestBroker;
let responder: ArtifactResponder;
let observer: MqttClient;
let dir: TmpDir;
const deviceId = `agent-life-${process.pid}`;
const reports: ReportedState[] = [];

function waitForReport(pred: (r: ReportedState) => boolean, timeoutMs = 15_000): Promise<ReportedState> {
  const found = reports.find(pred);
  if (found) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no matching report; last: ${JSON.stringify(reports.at(-1))}`)), timeoutMs);
    const onMessage = (topic: string): void => {
      const r = reports.at(-1);
      if (topic.endsWith('/reported') && r && pred(r)) {
        clearTimeout(t);
        observer.off('message', onMessage);
        resolve(r);
      }
    };
    observer.on('message', onMessage);
  });
}

beforeAll(async () => {
  await ensureAgentBuilt();
  broker = await startAedesBroker();
  responder = await startArtifactResponder(broker.url);
  dir = await tmpDataDir('agent-life-');
  observer = await mqtt.connectAsync(broker.url, { clientId: `observer-${deviceId}` });
  observer.on('message', (topic, payload) => {
    if (topic === deviceTopic(deviceId, 'reported') && payload.length) reports.push(reportedStateSchema.parse(JSON.parse(payload.toString())));
  });
  await observer.subscribeAsync(deviceTopic(deviceId, 'reported'), { qos: 1 });
});

afterAll(async () => {
  await observer?.endAsync(true);
  await responder?.close();
  await broker?.close();
  await dir?.cleanup();
});

describe('agent lifecycle', () => {
  it('activates a desired model within seconds, then serves it after a restart with the broker down', async () => {
    const bytes = addModel({ addend: 2 });
    const file = responder.addBuffer(bytes);
    const model: DesiredModel = { name: 'adder', version: '1.0.0', artifact: signedArtifact('adder', '1.0.0', file, keys.privateKeyPem) };
    const agent = await spawnAgent({ deviceId, brokerUrl: broker.url, fleetPublicKey: keys.publicKeyPem, dataDir: dir.path });
    await agent.waitForLog((l) => l.msg === 'connected to the broker');
    const t0 = Date.now();
    await observer.publishAsync(
      deviceTopic(deviceId, 'desired'),
      encodePayload(desiredStateSchema, { deviceId, generation: 1, issuedAt: new Date().toISOString(), models: [model] }),
      { qos: 1, retain: true },
    );
    const report = await waitForReport((r) => r.appliedGeneration === 1 && r.models.some((m) => m.name === 'adder' && m.active === '1.0.0'));
    const elapsedMs = Date.now() - t0;
    expect(elapsedMs).toBeLessThan(10_000);
    console.log(`desired state published → reported active in ${elapsedMs} ms`);
    expect(report.models.find((m) => m.name === 'adder')).toMatchObject({ state: 'active', installed: ['1.0.0'] });
    // The device's EP plan (hardware policy): every x86/arm64 host can at least run the CPU provider.
    expect(report.executionProviders).toContain('cpu');
    const stopped = await agent.stop();
    expect(stopped.code).toBe(0);
    expect(agent.logs.some((l) => l.msg === 'agent stopped' && l.drained === true)).toBe(true);

    // Broker down: the restarted agent serves its active model from disk and the persisted state.
    await broker.stop();
    const offline = await spawnAgent({ deviceId, brokerUrl: broker.url, fleetPublicKey: keys.publicKeyPem, dataDir: dir.path });
    const serving = await offline.waitForLog((l) => l.msg === 'serving the active version');
    expect(serving).toMatchObject({ model: 'adder', version: '1.0.0' });
    const { url } = (await offline.waitForLog((l) => l.msg === 'local API listening')) as { url: string };
    const ready = await fetch(`${url}/v2/health/ready`);
    expect(ready.status).toBe(200);
    const res = await fetch(`${url}/v2/models/adder/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { model_version: string; outputs: { data: number[] }[] };
    expect(body.model_version).toBe('1.0.0');
    expect(body.outputs[0]?.data).toEqual([3, 4, 5, 6]);
    // Broker back: the agent reconnects and reports the same converged state without refetching.
    const requestsBefore = responder.requests.length;
    await broker.restart();
    await offline.waitForLog((l) => l.msg === 'connected to the broker', 15_000);
    expect(responder.requests.length).toBe(requestsBefore);
    expect((await offline.stop()).code).toBe(0);
  });
});
