/**
 * Model delivery (issue 3): the same 50 MB model delivered to a real `edgefleet-agent` process
 * over MQTT chunks (embedded aedes broker + the test artifact responder, 256 KiB chunks, window 8)
 * and over HTTP from a loopback server, one after the other in one run; throughput of each from
 * the agent's own `downloading` → `verified` deployment events (both include the same sha256
 * verification), and their ratio. Also the agent's RSS idle and with the model loaded.
 */
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { deploymentEventSchema, deviceTopic, desiredStateSchema, encodePayload, generateSigningKeyPair, type DeploymentEvent, type DesiredModel } from '@edgefleet/shared';
import { startAedesBroker } from '../helpers/aedes-broker.js';
import { ensureAgentBuilt, spawnAgent } from '../helpers/agent-process.js';
import { signedArtifact, startArtifactResponder } from '../helpers/artifact-responder.js';
import { ballastModel } from '../helpers/onnx-models.js';
import { tmpDataDir } from '../helpers/tmp-dir.js';
import type { BenchResult, BenchRow } from './bench-result.js';
import { rssMb } from './footprint.js';

const MODEL_BYTES = 50 * 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function run(): Promise<BenchResult> {
  await ensureAgentBuilt();
  const keys = generateSigningKeyPair();
  const broker = await startAedesBroker();
  const responder = await startArtifactResponder(broker.url);
  const dir = await tmpDataDir('bench-delivery-');
  const deviceId = `bench-delivery-${process.pid}`;
  const bytes = ballastModel(MODEL_BYTES);
  const filePath = join(dir.path, 'artifact.onnx');
  await writeFile(filePath, bytes);
  const file = await responder.addFile(filePath);
  const http = createServer((req, res) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const from = m ? Number(m[1]) : 0;
    res.writeHead(m ? 206 : 200, { 'content-length': file.size - from, 'content-type': 'application/octet-stream' });
    createReadStream(filePath, { start: from }).pipe(res);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(http.address() as { port: number }).port}/artifact.onnx`;
  const events: DeploymentEvent[] = [];
  const cp = await mqtt.connectAsync(broker.url, { clientId: `bench-cp-${process.pid}` });
  cp.on('message', (_t, payload) => events.push(deploymentEventSchema.parse(JSON.parse(payload.toString()))));
  await cp.subscribeAsync(deviceTopic(deviceId, 'events'), { qos: 1 });
  const agent = await spawnAgent({ deviceId, brokerUrl: broker.url, fleetPublicKey: keys.publicKeyPem, dataDir: join(dir.path, 'agent'), config: { logLevel: 'warn' } });
  const rows: BenchRow[] = [];
  const detail: Record<string, unknown> = {};
  try {
    const until = async (what: string, probe: () => boolean, timeoutMs = 180_000): Promise<void> => {
      const end = Date.now() + timeoutMs;
      while (!probe()) {
        if (Date.now() > end || agent.child.exitCode !== null) throw new Error(`bench delivery: ${what} did not happen`);
        await sleep(50);
      }
    };
    await sleep(3000);
    const idle = rssMb(agent.pid);
    let generation = 0;
    const deliver = async (version: string, model: DesiredModel): Promise<number> => {
      generation++;
      await cp.publishAsync(deviceTopic(deviceId, 'desired'), encodePayload(desiredStateSchema, { deviceId, generation, issuedAt: new Date().toISOString(), models: [model] }), { qos: 1, retain: true });
      await until(`${version} active`, () => events.some((e) => e.type === 'active' && e.version === version));
      const start = events.find((e) => e.type === 'downloading' && e.version === version);
      const end = events.find((e) => e.type === 'verified' && e.version === version);
      if (!start || !end) throw new Error(`bench delivery: events for ${version} missing`);
      return Date.parse(end.at) - Date.parse(start.at);
    };
    const mqttMs = await deliver('1', { name: 'big', version: '1', artifact: signedArtifact('big', '1', file, keys.privateKeyPem) });
    const chunkRequests = responder.requests.length;
    const httpMs = await deliver('2', { name: 'big', version: '2', artifact: signedArtifact('big', '2', file, keys.privateKeyPem, { url }) });
    await sleep(2000);
    const loaded = rssMb(agent.pid);
    const mb = file.size / (1024 * 1024);
    const mqttMBs = mb / (mqttMs / 1000);
    const httpMBs = mb / (httpMs / 1000);
    rows.push(
      { metric: 'MQTT chunked delivery (256 KiB chunks, window 8, aedes)', value: mqttMBs, unit: 'MB/s', note: `${mb.toFixed(1)} MB in ${mqttMs} ms, ${chunkRequests} chunk requests, incl. sha256 verify` },
      { metric: 'HTTP delivery (loopback)', value: httpMBs, unit: 'MB/s', note: `${httpMs} ms, incl. the same sha256 verify` },
      { metric: 'MQTT / HTTP throughput', value: mqttMBs / httpMBs, unit: 'ratio', note: '1.0 = as fast as HTTP' },
      { metric: 'agent RSS idle (no model)', value: idle, unit: 'MB' },
      { metric: 'agent RSS, 50 MB model loaded (2 versions: active + previous)', value: loaded, unit: 'MB' },
    );
    Object.assign(detail, { sizeBytes: file.size, mqttMs, httpMs, chunkRequests, idleRssMb: idle, loadedRssMb: loaded });
  } finally {
    await agent.stop();
    await cp.endAsync(true);
    await responder.close();
    await broker.close();
    await new Promise((r) => http.close(r));
    await dir.cleanup();
  }
  return { summary: rows, detail };
}
