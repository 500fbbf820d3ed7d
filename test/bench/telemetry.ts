/**
 * Telemetry (issue 6): control-plane ingest throughput — points per second committed into SQLite
 * from N simulated devices (each batch one sample and two inference windows, as a 30 s agent cycle
 * sends), through the same batched-transaction path the MQTT bus feeds, and the same into PostgreSQL
 * (a fresh database on 127.0.0.1:5432 or EDGEFLEET_TEST_POSTGRES_URL) — and the agent's CPU time
 * per collection cycle (real /proc + /sys readers, real SQLite outbox, synchronous=FULL).
 */
import { join } from 'node:path';
import { createStateStore, createSqliteOutbox, createSystemMetricsSource, createTelemetryCollector, createTelemetryOutbox, createSelfMetrics, openDatabase } from '@edgefleet/agent';
import { createManualScheduler } from '@edgefleet/agent/testing';
import { createSqliteDatabase, createStore, createStoreFromDatabase, createTelemetryService } from '@edgefleet/control-plane';
import { LATENCY_BUCKETS_MS, type InferenceWindow, type TelemetryBatch } from '@edgefleet/shared';
import { freshPostgresDatabase, POSTGRES_URL } from '../helpers/index.js';
import { tmpDataDir } from '../helpers/tmp-dir.js';
import type { BenchResult, BenchRow } from './bench-result.js';

function window(version: string, t: number, i: number): InferenceWindow {
  const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latency[3 + (i % 4)] = 60;
  return { model: 'det', version, ep: 'cpu', from: t - 30_000, to: t, requests: 60, failures: i % 7 === 0 ? { INFERENCE_FAILED: 1 } : {}, latency, latencySumMs: 900, queueSumMs: 30 };
}

function batch(deviceId: string, seq: number, t: number): TelemetryBatch {
  return {
    deviceId,
    seq,
    sentAt: new Date(t).toISOString(),
    samples: [{ t, cpu: 20 + (seq % 50), memUsed: 1.2e9, memTotal: 4e9, diskFree: 2e10, diskTotal: 6e10, temps: { 'cpu-thermal': 45, 'gpu-thermal': 44 }, power: { VDD_IN: 5100, VDD_SOC: 1400 }, uptimeS: 1000 + seq * 30, netUp: true, gpu: 30, agentRss: 6e7, loopLagMs: 1.5 }],
    inference: [window('1.0.0', t, seq), window('2.0.0', t, seq + 1)],
    dropped: { batches: 0, samples: 0 },
  };
}

type Driver = 'sqlite' | 'postgres';

/** The store for one run and how to remove it: a SQLite file, or a fresh PostgreSQL database (the server is shared). */
async function openStore(driver: Driver): Promise<{ store: Awaited<ReturnType<typeof createStore>>; cleanup: () => Promise<void> }> {
  if (driver === 'sqlite') {
    const dir = await tmpDataDir('bench-telemetry-cp-');
    const store = await createStoreFromDatabase(createSqliteDatabase(join(dir.path, 'control-plane.db')));
    return { store, cleanup: () => dir.cleanup() };
  }
  const db = await freshPostgresDatabase('bench-telemetry');
  const store = await createStore({ driver: 'postgres', url: db.url, dataDir: '/nonexistent' });
  return { store, cleanup: () => db.drop() };
}

async function ingestThroughput(driver: Driver, devices: number, cyclesPerDevice: number): Promise<{ points: number; batches: number; seconds: number; pointsPerS: number; batchesPerS: number; cohortHealthMs: number }> {
  const { store, cleanup } = await openStore(driver);
  const telemetry = createTelemetryService({ store, flushIntervalMs: 50, maxBatchesPerTransaction: 500 });
  await telemetry.start();
  const ids = Array.from({ length: devices }, (_, i) => `bench-${String(i).padStart(5, '0')}`);
  const t0 = Date.now() - cyclesPerDevice * 30_000;
  const started = process.hrtime.bigint();
  // Cycle by cycle, every device reports (as a fleet does), without waiting for each commit.
  const pending: Promise<void>[] = [];
  for (let c = 0; c < cyclesPerDevice; c++) {
    for (const id of ids) pending.push(telemetry.ingest(batch(id, c + 1, t0 + c * 30_000)));
    // Let the transaction timer run, as messages arriving over a socket would.
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(pending);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const batches = devices * cyclesPerDevice;
  const points = batches * 3;
  const healthStart = process.hrtime.bigint();
  const health = await telemetry.cohortHealth({ model: 'det', version: '2.0.0', deviceIds: ids, from: t0 - 60_000, to: Date.now() });
  const cohortHealthMs = Number(process.hrtime.bigint() - healthStart) / 1e6;
  if (health.requests !== batches * 60) throw new Error(`cohort health saw ${health.requests} requests, expected ${batches * 60}`);
  await telemetry.stop();
  await store.close();
  await cleanup();
  return { points, batches, seconds, pointsPerS: points / seconds, batchesPerS: batches / seconds, cohortHealthMs };
}

async function agentCycleCpu(cycles: number): Promise<{ cpuUsPerCycle: number; wallMsPerCycle: number; batchBytes: number }> {
  const dir = await tmpDataDir('bench-telemetry-agent-');
  const db = openDatabase(join(dir.path, 'state.db'));
  const outbox = createSqliteOutbox(db);
  const scheduler = createManualScheduler();
  const collector = createTelemetryCollector({
    schedule: '*/30 * * * * *',
    scheduler,
    metrics: createSystemMetricsSource({ diskPath: dir.path }),
    inference: { takeWindows: () => [window('1.0.0', Date.now(), 1)] },
    self: createSelfMetrics(),
    outbox: createTelemetryOutbox({ deviceId: 'bench-agent', db, outbox, counters: createStateStore(db), maxBatches: 100_000 }),
  });
  collector.start();
  await scheduler.fire(); // warm-up: first /proc/stat read, statement preparation, nvidia-smi probe
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  for (let i = 0; i < cycles; i++) await scheduler.fire();
  const cpu = process.cpuUsage(cpu0);
  const wallMs = Number(process.hrtime.bigint() - wall0) / 1e6;
  const last = outbox.peek(1, 'telemetry')[0];
  await collector.stop();
  db.close();
  await dir.cleanup();
  return { cpuUsPerCycle: (cpu.user + cpu.system) / cycles, wallMsPerCycle: wallMs / cycles, batchBytes: last?.payload.length ?? 0 };
}

export async function run(options: { long?: boolean } = {}): Promise<BenchResult> {
  const devices = options.long ? 1000 : 200;
  const cycles = options.long ? 60 : 20;
  const ingest = await ingestThroughput('sqlite', devices, cycles);
  const postgres = await ingestThroughput('postgres', devices, cycles);
  const agent = await agentCycleCpu(options.long ? 500 : 100);
  const summary: BenchRow[] = [
    { metric: 'cp ingest: points/s into SQLite', value: ingest.pointsPerS, unit: 'points/s', note: `${devices} devices × ${cycles} batches (1 sample + 2 inference windows each), 1m/1h rollups maintained` },
    { metric: 'cp ingest: batches/s', value: ingest.batchesPerS, unit: 'batches/s', note: `a 30 s cycle fleet of ${Math.round(ingest.batchesPerS * 30).toLocaleString('en-US')} devices fits` },
    { metric: 'cp ingest: points/s into PostgreSQL', value: postgres.pointsPerS, unit: 'points/s', note: `the same fleet and path, local server (${POSTGRES_URL.replace(/\/\/[^@]*@/, '//')})` },
    { metric: 'cp cohort health over the fleet', value: ingest.cohortHealthMs, unit: 'ms', note: `${devices} devices, ${devices * cycles} windows` },
    { metric: 'agent CPU per collection cycle', value: agent.cpuUsPerCycle / 1000, unit: 'ms', note: '/proc + /sys reads, one durable SQLite batch (synchronous=FULL)' },
    { metric: 'agent wall time per collection cycle', value: agent.wallMsPerCycle, unit: 'ms' },
    { metric: 'telemetry batch size', value: agent.batchBytes, unit: 'bytes', note: 'one sample + one inference window, JSON' },
  ];
  return { summary, ingest, postgres, agent };
}
