import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentConfigSchema, deploymentEventSchema, generateSigningKeyPair, signManifest, type DesiredState, type HardwareProfile } from '@edgefleet/shared';
import { createHttpFetcher } from '../delivery/http-fetcher.js';
import { createFakeSessionFactory } from '../inference/fake-session-factory.js';
import { createInferenceRuntime } from '../inference/runtime.js';
import { createModelRepository } from '../repository/model-repository.js';
import { openDatabase } from '../store/database.js';
import { createSqliteOutbox } from '../store/outbox.js';
import { createStateStore } from '../store/state-store.js';
import { DEPLOYMENT_EVENT_KIND, createDeploymentJournal } from './deployment-events.js';
import { createInferenceWindowHub } from './probation.js';
import { createReconciler, type Reconciler } from './reconciler.js';

const hardware: HardwareProfile = {
  hardwareClass: 'x86-cpu',
  cpu: { model: 'test', arch: 'x64', cores: 2, physicalCores: 2 },
  memoryBytes: 8 * 1024 ** 3,
  os: { platform: 'linux', distro: 'test', release: '1', kernel: '6' },
  nvidiaGpus: [],
  vulkan: false,
  onnxruntime: { version: '1.30.0', backends: [{ name: 'cpu', bundled: true }] },
};

const fleet = generateSigningKeyPair();
const intruder = generateSigningKeyPair();

let dir: string;
let db: Database.Database;
let reconciler: Reconciler | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agent-reconciler-'));
  db = openDatabase(join(dir, 'state.db'));
});
afterEach(async () => {
  await reconciler?.stop(1000);
  reconciler = undefined;
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A desired state whose artifact is signed by a key the fleet does not trust: a terminal failure. */
function badlySigned(generation: number): DesiredState {
  const bytes = Buffer.from('not reached');
  const base = { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, createdAt: '2026-01-01T00:00:00Z' };
  const artifact = { ...base, signature: signManifest({ name: 'm', version: '2', ...base }, intruder.privateKeyPem) };
  return { deviceId: 'd1', generation, issuedAt: new Date().toISOString(), models: [{ name: 'm', version: '2', artifact }] };
}

/** A real SQLITE_FULL: no page may be added and the outbox's and failures' pages are packed. */
function fillDatabase(): void {
  db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
  const fillers = [
    db.prepare("INSERT INTO outbox (topic, payload, qos, kind, created_at) VALUES ('filler', ?, 0, 'filler', 'now')"),
    db.prepare("INSERT INTO failures (model, version, sha256, generation, code, message, at) VALUES ('filler', ?, ?, 0, 'INTERNAL', '', 'now')"),
  ];
  let i = 0;
  for (const put of fillers) {
    for (let size = 4096; size >= 1; ) {
      try {
        if (put === fillers[0]) put.run(Buffer.alloc(size));
        else put.run(String(i++), 'x'.repeat(size));
      } catch {
        size = Math.floor(size / 2);
      }
    }
  }
}

async function until(pred: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('reconciler when the state database is full (real SQLite, max_page_count)', () => {
  it('keeps reconciling: the failure is reported, its event held, and the next generation is applied', async () => {
    const logger = pino({ level: 'silent' });
    const config = agentConfigSchema.parse({ deviceId: 'd1', dataDir: dir, broker: { url: 'mqtt://127.0.0.1:1' }, fleetPublicKey: fleet.publicKeyPem });
    const store = createStateStore(db);
    const outbox = createSqliteOutbox(db);
    const repository = createModelRepository({ dataDir: dir, store });
    await repository.init();
    const runtime = await createInferenceRuntime({ hardware, sessionFactory: createFakeSessionFactory() });
    const journal = createDeploymentJournal({ deviceId: 'd1', outbox, onEnqueued: () => undefined, logger, retryBaseMs: 60_000 });
    const httpFetcher = createHttpFetcher({ store, logger });
    reconciler = createReconciler({
      config,
      store,
      repository,
      runtime,
      mqttFetcher: httpFetcher,
      httpFetcher,
      journal,
      windows: createInferenceWindowHub(runtime),
      logger,
      report: () => undefined,
    });

    fillDatabase();
    reconciler.setDesired(badlySigned(1));
    reconciler.start();
    await until(() => reconciler?.reportedModels()[0]?.lastError !== undefined);
    expect(reconciler.reportedModels()[0]).toMatchObject({ name: 'm', state: 'failed', lastError: { code: 'ARTIFACT_SIGNATURE_INVALID' } });
    // Neither the failure record nor the event fit in SQLite; the event waits in memory.
    expect(store.failure('m', '2', badlySigned(1).models[0]?.artifact.sha256 ?? '')).toBeUndefined();
    expect(journal.pending()).toBe(1);
    // Terminal for generation 1 even unpersisted: the loop goes idle instead of retrying it.
    await reconciler.idle();

    // Space comes back and a new generation arrives: the loop is alive and applies it.
    db.pragma('max_page_count = 1073741823');
    reconciler.setDesired(badlySigned(2));
    await until(() => store.failure('m', '2', badlySigned(2).models[0]?.artifact.sha256 ?? '')?.generation === 2);
    await reconciler.idle();
    expect(reconciler.observedGeneration).toBe(2);
    expect(journal.pending()).toBe(0);
    const events = outbox.peek(100, DEPLOYMENT_EVENT_KIND).map((e) => deploymentEventSchema.parse(JSON.parse(e.payload.toString('utf8'))));
    expect(events.map((e) => [e.type, e.generation])).toEqual([
      ['failed', 1],
      ['failed', 2],
    ]);
    expect(events[1]?.seq).toBeGreaterThan(events[0]?.seq ?? Infinity);
  });
});
