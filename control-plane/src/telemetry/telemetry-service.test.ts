import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_MS, type InferenceWindow, type TelemetryBatch } from '@edgefleet/shared';
import { createSqliteDatabase } from '../store/sqlite-database.js';
import { migrate } from '../store/migrations.js';
import type { SqlDatabase } from '../store/sql-database.js';
import { createTelemetryService, type TelemetryService } from './telemetry-service.js';

const T0 = Date.UTC(2026, 10, 26, 6, 0, 0);
const MIN = 60_000;

function window(over: Partial<InferenceWindow> & { from: number }): InferenceWindow {
  const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latency[3] = over.requests ?? 100; // (5, 10] ms
  return { model: 'det', version: '2.0.0', ep: 'cpu', to: over.from + 30_000, requests: 100, failures: {}, latency, latencySumMs: 800, queueSumMs: 50, ...over };
}

function batch(deviceId: string, seq: number, t: number, inference: InferenceWindow[] = []): TelemetryBatch {
  return {
    deviceId,
    seq,
    sentAt: new Date(t).toISOString(),
    samples: [{ t, cpu: 10 + seq, memUsed: 100, memTotal: 1000, temps: { cpu: 40 + seq, gpu: 30 }, power: { VDD_IN: 5000, VDD_SOC: 1000 } }],
    inference,
    dropped: { batches: seq, samples: seq * 2 },
  };
}

// PostgreSQL runs the same SQL (portable subset) but `pg` does not load under vitest's `source`
// resolve conditions yet (pg-pool resolves to its ESM build); add it here once that is fixed.
/** The part of the control-plane store telemetry uses (store.ts itself loads pg, see above). */
interface Store {
  sql: SqlDatabase;
  migrate(namespace: string, steps: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

type Backend = [string, () => Promise<{ store: Store; cleanup(): Promise<void> }>];

const backends: Backend[] = [
  [
    'sqlite file',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'edgefleet-cp-telemetry-'));
      const sql = createSqliteDatabase(join(dir, 'cp.db'));
      const store: Store = { sql, migrate: (ns, steps) => migrate(sql, ns, steps), close: () => sql.close() };
      return { store, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  ],
];

describe.each(backends)('telemetry service on %s', (_name, open) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let telemetry: TelemetryService;
  let now = T0 + 10 * MIN;
  const registry = new Registry();

  beforeAll(async () => {
    ({ store, cleanup } = await open());
    telemetry = createTelemetryService({ store, registry, now: () => now, flushIntervalMs: 20, retention: { rawMs: 60 * MIN, minuteMs: 24 * 60 * MIN, hourMs: 30 * 24 * 60 * MIN } });
    await telemetry.start();
  });
  afterAll(async () => {
    await telemetry.stop();
    await store.close();
    await cleanup();
  });
  afterEach(async () => telemetry.flush());

  it('stores each (device, seq) once, however often it arrives', async () => {
    const b = batch('dev-a', 1, T0, [window({ from: T0 })]);
    await Promise.all([telemetry.ingest(b), telemetry.ingest(b), telemetry.ingest(structuredClone(b))]);
    await telemetry.ingest(b);
    const [status] = await telemetry.devices();
    expect(status).toMatchObject({ deviceId: 'dev-a', batches: 1, dropped: { batches: 1, samples: 2 } });
    const raw = await telemetry.samples({ deviceIds: ['dev-a'], from: T0, to: T0 + MIN, resolution: 'raw' });
    expect(raw.series[0]!.points).toHaveLength(1);
    const metrics = await registry.getSingleMetricAsString('edgefleet_telemetry_duplicate_batches_total');
    expect(metrics).toContain('edgefleet_telemetry_duplicate_batches_total 3');
  });

  it('rolls samples up into minutes and hours (means, maxima, counts)', async () => {
    for (let seq = 2; seq <= 5; seq++) await telemetry.ingest(batch('dev-a', seq, T0 + (seq - 1) * 15_000));
    const minute = await telemetry.samples({ deviceIds: ['dev-a'], from: T0, to: T0 + 2 * MIN, resolution: '1m' });
    const [m0, m1] = minute.series[0]!.points;
    // seq 1..4 fall into the first minute (t = 0, 15, 30, 45 s), seq 5 into the second.
    expect(m0).toMatchObject({ t: T0, n: 4, cpu: 12.5, tempMax: 42.5, powerMw: 5000, max: { cpu: 14, tempMax: 44 } });
    expect(m1).toMatchObject({ t: T0 + MIN, n: 1, cpu: 15 });
    const hour = await telemetry.samples({ deviceIds: ['dev-a'], from: T0, to: T0 + 60 * MIN, resolution: '1h' });
    expect(hour.series[0]!.points[0]).toMatchObject({ n: 5, cpu: 13 });
  });

  it('answers cohort health from merged histograms with the counts behind it', async () => {
    // dev-b: fast and healthy; dev-c: slow with failures; dev-d: other version; dev-e: in the cohort, silent.
    await telemetry.ingest(batch('dev-b', 1, T0, [window({ from: T0, requests: 900, latencySumMs: 900 * 8 })]));
    const slow = window({ from: T0 + 30_000, requests: 100, failures: { INFERENCE_FAILED: 6, INFERENCE_TIMEOUT: 4 }, latencySumMs: 100 * 150 });
    slow.latency = slow.latency.map(() => 0);
    slow.latency[7] = 100; // (100, 200] ms
    await telemetry.ingest(batch('dev-c', 1, T0 + 30_000, [slow]));
    await telemetry.ingest(batch('dev-d', 1, T0, [window({ from: T0, version: '1.0.0', requests: 50 })]));
    const health = await telemetry.cohortHealth({ model: 'det', version: '2.0.0', deviceIds: ['dev-b', 'dev-c', 'dev-e'], from: T0, to: T0 + 2 * MIN });
    expect(health).toMatchObject({ requests: 1000, failures: 10, failureRate: 0.01, failuresByReason: { INFERENCE_FAILED: 6, INFERENCE_TIMEOUT: 4 } });
    expect(health.p95LatencyMs).toBeCloseTo(150, 6);
    expect(health.meanLatencyMs).toBeCloseTo((900 * 8 + 100 * 150) / 1000, 6);
    expect(health).toMatchObject({ latencySamples: 1000, samples: 2, devicesReporting: 2, devices: 3 });
    // 3 devices × 2 minutes; dev-b and dev-c sent a sample in minute 0 only.
    expect(health.availabilitySlots).toEqual({ seen: 2, expected: 6 });
    expect(health.availability).toBeCloseTo(2 / 6, 9);

    const empty = await telemetry.cohortHealth({ model: 'det', version: '2.0.0', deviceIds: [], from: T0, to: T0 + MIN });
    expect(empty).toMatchObject({ requests: 0, failureRate: undefined, p95LatencyMs: undefined, availability: undefined, devices: 0 });
  });

  it('queries inference by model version, summed or per device', async () => {
    const summed = await telemetry.inference({ model: 'det', version: '2.0.0', from: T0, to: T0 + 2 * MIN, resolution: '1m' });
    expect(summed.points.map((p) => p.requests).reduce((a, b) => a + b, 0)).toBe(1100);
    const perDevice = await telemetry.inference({ deviceIds: ['dev-c'], from: T0, to: T0 + 2 * MIN, resolution: 'raw', perDevice: true });
    expect(perDevice.points).toEqual([expect.objectContaining({ deviceId: 'dev-c', requests: 100, failures: 10, failureRate: 0.1 })]);
  });

  it('publishes fleet gauges: devices by model version, reported outbox drops, online/offline', async () => {
    const text = await registry.metrics();
    expect(text).toMatch(/edgefleet_devices_by_model_version\{model="det",version="2.0.0",ep="cpu"\} 3/);
    // Cumulative counts as last reported: dev-a 5, dev-b/c/d 1 each.
    expect(text).toMatch(/edgefleet_device_outbox_dropped\{unit="batches"\} 8\n/);
    expect(text).toMatch(/edgefleet_devices_with_outbox_drops 4\n/);
    expect(text).toMatch(/edgefleet_devices\{status="online"\} 4/);
    now += 10 * MIN;
    expect(await registry.metrics()).toMatch(/edgefleet_devices\{status="offline"\} 4/);
    now -= 10 * MIN;
    expect(text).toMatch(/edgefleet_telemetry_points_total \d+/);
  });

  it('retention drops raw rows past their window and keeps the rollups', async () => {
    now = T0 + 2 * 60 * MIN;
    await telemetry.applyRetention();
    const raw = await telemetry.samples({ deviceIds: ['dev-a'], from: T0, to: T0 + 60 * MIN, resolution: 'raw' });
    expect(raw.series).toEqual([]);
    const auto = await telemetry.samples({ deviceIds: ['dev-a'], from: T0, to: T0 + 60 * MIN });
    expect(auto.resolution).toBe('1m');
    expect(auto.series[0]!.points.reduce((n, p) => n + p.n, 0)).toBe(5);
    const health = await telemetry.cohortHealth({ model: 'det', version: '2.0.0', deviceIds: ['dev-b', 'dev-c'], from: T0, to: T0 + 2 * MIN });
    expect(health.requests).toBe(1000);
  });
});
