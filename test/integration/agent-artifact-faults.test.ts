import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import {
  commandResultSchema,
  deploymentEventSchema,
  deviceTopic,
  desiredStateSchema,
  encodePayload,
  generateSigningKeyPair,
  reportedStateSchema,
  type CommandResult,
  type DeploymentEvent,
  type DesiredModel,
  type ReportedState,
} from '@edgefleet/shared';
import { startAedesBroker, type TestBroker } from '../helpers/aedes-broker.js';
import { ensureAgentBuilt, spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { signedArtifact, startArtifactResponder, type ArtifactResponder } from '../helpers/artifact-responder.js';
import { addModel, encodeModel, nanModel, notOnnxBytes, slowModel } from '../helpers/onnx-models.js';
import { tmpDataDir, type TmpDir } from '../helpers/tmp-dir.js';
import { until as waitUntil } from '../helpers/until.js';

/**
 * Issue 3, "done when" 3 and 4 against one real agent process: a flipped byte, a wrong signature,
 * a file that is not ONNX and a model whose output is NaN never become active, the previous
 * version keeps serving (proven by an inference over the command channel) and the right code is
 * reported; a 10 s broker outage mid-download resumes; HTTP delivery resumes with Range; a latency
 * probation breach and an operator command both roll back locally.
 */
const keys = generateSigningKeyPair();
const otherKeys = generateSigningKeyPair();
let broker: TestBroker;
let responder: ArtifactResponder;
let cp: MqttClient;
let dir: TmpDir;
let agent: AgentProcess;
let http: Server;
let httpPort = 0;
let httpRequests: (string | undefined)[] = [];
let httpBody: Buffer = Buffer.alloc(0);
const deviceId = `agent-faults-${process.pid}`;
const reports: ReportedState[] = [];
const events: DeploymentEvent[] = [];
const results = new Map<string, CommandResult>();
let generation = 0;

async function publishDesired(models: DesiredModel[]): Promise<number> {
  generation++;
  await cp.publishAsync(deviceTopic(deviceId, 'desired'), encodePayload(desiredStateSchema, { deviceId, generation, issuedAt: new Date().toISOString(), models }), { qos: 1, retain: true });
  return generation;
}

const until = <T>(what: string, probe: () => T | undefined, timeoutMs?: number): Promise<T> =>
  waitUntil(what, probe, timeoutMs, () => `last report ${JSON.stringify(reports.at(-1))}`);

async function command(body: Record<string, unknown>): Promise<CommandResult> {
  const id = `cmd-${Math.random().toString(16).slice(2)}`;
  await cp.publishAsync(deviceTopic(deviceId, 'commands'), Buffer.from(JSON.stringify({ id, ...body })), { qos: 1 });
  return until(`command ${id}`, () => results.get(id));
}

async function inferAdder(): Promise<number[]> {
  const r = await command({ type: 'infer', model: 'adder', request: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] } });
  expect(r.ok, JSON.stringify(r.error)).toBe(true);
  return (r.result as { outputs: { data: number[] }[] }).outputs[0]!.data;
}

const failedEvent = (version: string): DeploymentEvent | undefined => events.find((e) => e.type === 'failed' && e.model === 'adder' && e.version === version);
const adder = (r: ReportedState | undefined) => r?.models.find((m) => m.name === 'adder');

beforeAll(async () => {
  await ensureAgentBuilt();
  broker = await startAedesBroker();
  responder = await startArtifactResponder(broker.url);
  dir = await tmpDataDir('agent-faults-');
  cp = await mqtt.connectAsync(broker.url, { clientId: `cp-${deviceId}`, reconnectPeriod: 200 });
  cp.on('message', (topic, payload) => {
    if (!payload.length) return;
    const json: unknown = JSON.parse(payload.toString());
    if (topic.endsWith('/reported')) reports.push(reportedStateSchema.parse(json));
    else if (topic.endsWith('/events')) events.push(deploymentEventSchema.parse(json));
    else if (topic.endsWith('/command-results')) {
      const r = commandResultSchema.parse(json);
      results.set(r.id, r);
    }
  });
  for (const ch of ['reported', 'events', 'command-results'] as const) await cp.subscribeAsync(deviceTopic(deviceId, ch), { qos: 1 });
  http = createServer((req, res) => {
    httpRequests.push(req.headers.range);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const from = m ? Number(m[1]) : 0;
    res.writeHead(m ? 206 : 200, { 'content-length': httpBody.length - from, ...(m ? { 'content-range': `bytes ${from}-${httpBody.length - 1}/${httpBody.length}` } : {}) });
    // Break the first full download off half-way, so the agent must resume with Range.
    if (!m && httpRequests.length === 1) {
      res.write(httpBody.subarray(0, httpBody.length >> 1), () => res.destroy());
      return;
    }
    res.end(httpBody.subarray(from));
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  httpPort = (http.address() as { port: number }).port;
  agent = await spawnAgent({
    deviceId,
    brokerUrl: broker.url,
    fleetPublicKey: keys.publicKeyPem,
    dataDir: dir.path,
    config: { delivery: { chunkBytes: 16 * 1024, window: 4, chunkTimeoutMs: 2000, diskMarginBytes: 1024 } },
  });
  await agent.waitForLog((l) => l.msg === 'connected to the broker');
});

afterAll(async () => {
  await agent?.stop();
  await cp?.endAsync(true);
  await responder?.close();
  await broker?.close();
  await new Promise((r) => http?.close(r));
  await dir?.cleanup();
});

const good = addModel({ addend: 2 });
const goodRef = () => signedArtifact('adder', '1', responder.addBuffer(good), keys.privateKeyPem);

/** y = x + addend over [1, 4], padded with an unused initializer to `padFloats` × 4 bytes. */
function paddedAdd(addend: number, padFloats: number): Buffer {
  return encodeModel({
    name: 'padded-add',
    inputs: [{ name: 'x', type: 'float32', shape: [1, 4] }],
    outputs: [{ name: 'y', type: 'float32', shape: [1, 4] }],
    initializers: [
      { name: 'c', shape: [], values: [addend] },
      { name: 'pad', shape: [padFloats], values: new Float32Array(padFloats).fill(0.5) },
    ],
    nodes: [{ op: 'Add', inputs: ['x', 'c'], outputs: ['y'] }],
  });
}

describe('artifact faults never become active', () => {
  it('activates a good version first and serves it', async () => {
    await publishDesired([{ name: 'adder', version: '1', artifact: goodRef() }]);
    await until('v1 active', () => (adder(reports.at(-1))?.active === '1' ? true : undefined));
    expect(await inferAdder()).toEqual([3, 4, 5, 6]);
  });

  it.each([
    ['a flipped byte', '2', 'ARTIFACT_DIGEST_MISMATCH'],
    ['a wrong signature', '3', 'ARTIFACT_SIGNATURE_INVALID'],
    ['a file that is not ONNX', '4', 'MODEL_INVALID'],
    ['a model whose output is NaN', '5', 'SMOKE_TEST_FAILED'],
  ])('%s (v%s) → %s is reported, v1 keeps serving', async (_what, version, code) => {
    let artifact;
    if (code === 'ARTIFACT_DIGEST_MISMATCH') {
      const bytes = addModel({ addend: 7 });
      const file = responder.addBuffer(bytes);
      const flipped = Buffer.from(bytes);
      flipped[flipped.length >> 1]! ^= 0x01;
      responder.addBuffer(flipped, { as: file.sha256 });
      artifact = signedArtifact('adder', version, file, keys.privateKeyPem);
    } else if (code === 'ARTIFACT_SIGNATURE_INVALID') {
      artifact = signedArtifact('adder', version, responder.addBuffer(addModel({ addend: 8 })), otherKeys.privateKeyPem);
    } else if (code === 'MODEL_INVALID') {
      artifact = signedArtifact('adder', version, responder.addBuffer(notOnnxBytes(4096)), keys.privateKeyPem);
    } else {
      artifact = signedArtifact('adder', version, responder.addBuffer(nanModel()), keys.privateKeyPem);
    }
    const requestsBefore = responder.requests.filter((r) => r.sha256 === artifact.sha256).length;
    await publishDesired([{ name: 'adder', version, artifact }]);
    const event = await until(`failed event for v${version}`, () => failedEvent(version));
    expect(event.type === 'failed' && event.error.code).toBe(code);
    const report = await until('failed report', () => (adder(reports.at(-1))?.lastError?.code === code ? reports.at(-1) : undefined));
    expect(adder(report)).toMatchObject({ active: '1', state: 'failed', target: version });
    expect(report.models.find((m) => m.name === 'adder')?.installed).not.toContain(version);
    if (code === 'ARTIFACT_SIGNATURE_INVALID') {
      // An unsigned artifact is refused before a single byte is fetched.
      expect(responder.requests.filter((r) => r.sha256 === artifact.sha256).length).toBe(requestsBefore);
    }
    expect(await inferAdder()).toEqual([3, 4, 5, 6]);
    expect(events.some((e) => e.type === 'active' && e.version === version)).toBe(false);
  });
});

describe('delivery under faults', () => {
  it('resumes after the broker is stopped for 10 s mid-download', { timeout: 60_000 }, async () => {
    const big = slowModel({ size: 512, depth: 1 });
    const file = responder.addBuffer(big);
    responder.delayMs = 5;
    await publishDesired([{ name: 'adder', version: '1' , artifact: goodRef() }, { name: 'big', version: '1', artifact: signedArtifact('big', '1', file, keys.privateKeyPem) }]);
    await until('download under way', () => (responder.requests.filter((r) => r.sha256 === file.sha256).length >= 10 ? true : undefined));
    await broker.stop();
    const stoppedAt = Date.now();
    await new Promise((r) => setTimeout(r, 10_000));
    await broker.restart();
    responder.delayMs = 0;
    const active = await until('big active', () => events.find((e) => e.type === 'active' && e.model === 'big'), 30_000);
    expect(Date.parse(active.at)).toBeGreaterThan(stoppedAt + 10_000);
    const offsets = responder.requests.filter((r) => r.sha256 === file.sha256).map((r) => r.offset);
    expect(new Set(offsets).size).toBe(Math.ceil(file.size / (16 * 1024)));
  });

  it('downloads over HTTP with a Range resume when the desired state carries a URL', async () => {
    httpBody = paddedAdd(10, 512 * 1024);
    httpRequests = [];
    const sha = responder.addBuffer(httpBody).sha256;
    const artifact = signedArtifact('adder', '6', { sha256: sha, size: httpBody.length }, keys.privateKeyPem, { url: `http://127.0.0.1:${httpPort}/a` });
    const before = responder.requests.filter((r) => r.sha256 === sha).length;
    await publishDesired([{ name: 'adder', version: '6', artifact }]);
    await until('v6 active', () => (adder(reports.at(-1))?.active === '6' ? true : undefined), 30_000);
    expect(httpRequests[0]).toBeUndefined();
    expect(httpRequests.slice(1).some((r) => r?.startsWith('bytes='))).toBe(true);
    expect(responder.requests.filter((r) => r.sha256 === sha).length).toBe(before);
    expect(await inferAdder()).toEqual([11, 12, 13, 14]);
  });

  it('rolls back by itself when probation latency is breached, and on an operator command', async () => {
    const file = responder.addBuffer(paddedAdd(20, 16));
    await publishDesired([{ name: 'adder', version: '7', artifact: signedArtifact('adder', '7', file, keys.privateKeyPem), probation: { windowMs: 20_000, minRequests: 3, maxFailureRate: 0, maxP95LatencyMs: 0.5 } }]);
    await until('v7 active', () => (adder(reports.at(-1))?.active === '7' ? true : undefined));
    for (let i = 0; i < 5; i++) await inferAdder().catch(() => undefined);
    const rolled = await until('rolled-back', () => events.find((e) => e.type === 'rolled-back' && e.version === '7'), 15_000);
    expect(rolled.type === 'rolled-back' && rolled.reason.code).toBe('PROBATION_FAILED');
    expect(rolled.type === 'rolled-back' && rolled.to).toBe('6');
    expect(await inferAdder()).toEqual([11, 12, 13, 14]);

    // Operator rollback: 6 → the previous (none left after the probation rollback) is refused with a code.
    const refused = await command({ type: 'rollback', model: 'adder' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'ROLLBACK_UNAVAILABLE' } });
  });

  it('a newer generation pre-empts an in-flight download cleanly', async () => {
    const slow = responder.addBuffer(paddedAdd(30, 256 * 1024));
    const fast = responder.addBuffer(paddedAdd(40, 16));
    responder.delayMs = 30;
    await publishDesired([{ name: 'adder', version: '6', artifact: signedArtifact('adder', '6', { sha256: responder.addBuffer(httpBody).sha256, size: httpBody.length }, keys.privateKeyPem) }, { name: 'pre', version: '1', artifact: signedArtifact('pre', '1', slow, keys.privateKeyPem) }]);
    await until('slow download under way', () => (responder.requests.filter((r) => r.sha256 === slow.sha256).length >= 5 ? true : undefined));
    const gen = await publishDesired([{ name: 'adder', version: '6', artifact: signedArtifact('adder', '6', { sha256: responder.addBuffer(httpBody).sha256, size: httpBody.length }, keys.privateKeyPem) }, { name: 'pre', version: '2', artifact: signedArtifact('pre', '2', fast, keys.privateKeyPem) }]);
    responder.delayMs = 0;
    const superseded = await until('superseded event', () => events.find((e) => e.type === 'failed' && e.model === 'pre' && e.version === '1'));
    expect(superseded.type === 'failed' && superseded.error.code).toBe('DEPLOYMENT_SUPERSEDED');
    await until('pre@2 active', () => events.find((e) => e.type === 'active' && e.model === 'pre' && e.version === '2'));
    const report = await until('applied', () => (reports.at(-1)?.appliedGeneration === gen ? reports.at(-1) : undefined));
    expect(report.models.find((m) => m.name === 'pre')).toMatchObject({ active: '2', installed: ['2'], state: 'active' });
    expect(events.some((e) => e.type === 'active' && e.model === 'pre' && e.version === '1')).toBe(false);
  });

  it('smoke-tests on the golden input when the desired state names one', async () => {
    const adder6 = { name: 'adder', version: '6', artifact: signedArtifact('adder', '6', { sha256: responder.addBuffer(httpBody).sha256, size: httpBody.length }, keys.privateKeyPem) };
    const model = responder.addBuffer(paddedAdd(50, 16));
    const goodGolden = responder.addBuffer(Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [[1, 2, 3, 4]] }] })));
    const wrongGolden = responder.addBuffer(Buffer.from(JSON.stringify({ inputs: [{ name: 'nope', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] })));
    await publishDesired([adder6, { name: 'gold', version: '1', artifact: signedArtifact('gold', '1', model, keys.privateKeyPem), golden: wrongGolden }]);
    const failed = await until('gold@1 failed', () => events.find((e) => e.type === 'failed' && e.model === 'gold' && e.version === '1'));
    expect(failed.type === 'failed' && failed.error.code).toMatch(/^(INPUT_INVALID|SMOKE_TEST_FAILED)$/);
    expect(responder.requests.some((r) => r.sha256 === wrongGolden.sha256)).toBe(true);
    await publishDesired([adder6, { name: 'gold', version: '1', artifact: signedArtifact('gold', '1', model, keys.privateKeyPem), golden: goodGolden }]);
    await until('gold@1 active', () => events.find((e) => e.type === 'active' && e.model === 'gold' && e.version === '1'));
    expect(responder.requests.some((r) => r.sha256 === goodGolden.sha256)).toBe(true);
    // Retention: after all the versions above, only the active one (no previous survived the rollback) is on disk.
    const report = await until('adder pruned', () => (adder(reports.at(-1))?.installed.length === 1 ? reports.at(-1) : undefined));
    expect(adder(report)).toMatchObject({ active: '6', installed: ['6'] });
  });
});
