import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopic, desiredStateSchema, encodePayload, generateSigningKeyPair } from '@edgefleet/shared';
import { startAedesBroker, type TestBroker } from '../helpers/aedes-broker.js';
import { ensureAgentBuilt, spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { signedArtifact, startArtifactResponder, type ArtifactResponder } from '../helpers/artifact-responder.js';
import { ballastModel, modelSha256 } from '../helpers/onnx-models.js';
import { tmpDataDir, type TmpDir } from '../helpers/tmp-dir.js';

/**
 * Issue 3, "done when" 2: SIGKILL at 20 random points of a 20 MB model download. After every kill
 * the agent resumes, never requests a chunk it had recorded as done, and never activates a
 * partial or unverified file; the last run completes and activates the exact bytes.
 */
const CHUNK = 64 * 1024;
// The 20 kills: ~65 s on the 2-core CI machine, mostly agent start-up per run (the
// timeout scales with the count because start-up takes several times longer under load).
// EDGEFLEET_TEST_KILLS=N runs a shorter or longer loop.
const KILLS = Number(process.env.EDGEFLEET_TEST_KILLS ?? 20);
const keys = generateSigningKeyPair();
let broker: TestBroker;
let responder: ArtifactResponder;
let publisher: MqttClient;
let dir: TmpDir;
let current: AgentProcess | undefined;
const deviceId = `agent-resume-${process.pid}`;

function readDb(path: string): { done: Set<number>; installed: number; active: string | undefined } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const done = new Set((db.prepare('SELECT idx FROM download_chunks').all() as { idx: number }[]).map((r) => r.idx * CHUNK));
    const installed = (db.prepare('SELECT COUNT(*) AS n FROM installed').get() as { n: number }).n;
    const active = (db.prepare('SELECT active FROM pointers').get() as { active: string | null } | undefined)?.active ?? undefined;
    return { done, installed, active };
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  await ensureAgentBuilt();
  broker = await startAedesBroker();
  responder = await startArtifactResponder(broker.url);
  dir = await tmpDataDir('agent-resume-');
  publisher = await mqtt.connectAsync(broker.url, { clientId: `pub-${deviceId}` });
});

afterAll(async () => {
  await current?.kill('SIGKILL');
  await publisher?.endAsync(true);
  await responder?.close();
  await broker?.close();
  await dir?.cleanup();
});

describe('download resume across SIGKILL', () => {
  it(`survives ${KILLS} kills mid-download without refetching a finished chunk`, { timeout: 60_000 + KILLS * 15_000 }, async () => {
    const bytes = ballastModel(20 * 1024 * 1024, 251);
    expect(bytes.length).toBeGreaterThan(20 * 1000 * 1000);
    const file = responder.addBuffer(bytes);
    const chunks = Math.ceil(file.size / CHUNK);
    await publisher.publishAsync(
      deviceTopic(deviceId, 'desired'),
      encodePayload(desiredStateSchema, {
        deviceId,
        generation: 1,
        issuedAt: new Date().toISOString(),
        models: [{ name: 'big', version: '1', artifact: signedArtifact('big', '1', file, keys.privateKeyPem) }],
      }),
      { qos: 1, retain: true },
    );
    const options = { deviceId, brokerUrl: broker.url, fleetPublicKey: keys.publicKeyPem, dataDir: dir.path, config: { delivery: { chunkBytes: CHUNK, window: 4, chunkTimeoutMs: 3000 } } };
    const dbPath = join(dir.path, 'state.db');
    let done = new Set<number>();
    let kills = 0;
    // Kill points: a random number of new chunk requests into each run, spread over the download.
    const perRun = Math.max(2, Math.floor(chunks / (KILLS + 1)));
    for (let run = 0; run < KILLS; run++) {
      const from = responder.requests.length;
      const agent = await spawnAgent(options);
      current = agent;
      const killAfter = 1 + Math.floor(Math.random() * perRun * 1.6);
      const until = Date.now() + 15_000;
      while (responder.requests.length - from < killAfter && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
      await agent.kill('SIGKILL');
      kills++;
      const thisRun = responder.requests.slice(from).filter((r) => r.deviceId === deviceId);
      const refetched = thisRun.filter((r) => done.has(r.offset));
      expect(refetched, `run ${run} requested chunks finished in earlier runs`).toEqual([]);
      const state = readDb(dbPath);
      // Never a partial or unverified file in the repository while the download is unfinished.
      if (state.done.size < chunks) {
        expect(state.installed).toBe(0);
        expect(state.active).toBeUndefined();
      }
      done = state.done;
      if (state.installed > 0) break;
    }
    expect(kills).toBeGreaterThan(0);

    // The last run finishes, verifies and activates exactly the published bytes.
    const from = responder.requests.length;
    const agent = await spawnAgent(options);
    current = agent;
    await agent.waitForLog((l) => l.msg === 'deployment active', 60_000);
    const finalRun = responder.requests.slice(from);
    expect(finalRun.filter((r) => done.has(r.offset))).toEqual([]);
    const state = readDb(dbPath);
    expect(state.active).toBe('1');
    expect(modelSha256(await readFile(join(dir.path, 'models', 'big', '1', 'model.onnx')))).toBe(modelSha256(bytes));
    const distinct = new Set(responder.requests.map((r) => r.offset));
    expect(distinct.size).toBe(chunks);
    console.log(`resume: ${kills} kills, ${chunks} chunks, ${responder.requests.length} requests in total (${responder.requests.length - chunks} re-requests of unfinished chunks)`);
    expect((await agent.stop()).code).toBe(0);
  });
});
