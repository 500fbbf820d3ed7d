import { afterAll, beforeAll, expect, it } from 'vitest';
import { LATENCY_BUCKETS_MS, type InferenceWindow, type TelemetryBatch } from '@edgefleet/shared';
import { createStore, createTelemetryService, type Store, type TelemetryService } from '@edgefleet/control-plane';
import { describeNeeding } from '../setup/gate.js';
import { POSTGRES_URL } from '../helpers/index.js';

/**
 * The telemetry tables and queries on PostgreSQL (the store's other driver): the same portable SQL
 * as on SQLite — (device, seq) de-duplication, rollup upserts, cohort health, retention — and
 * BIGINT sums that PostgreSQL returns as text.
 */
const T0 = Date.UTC(2026, 10, 26, 6, 0, 0);
const MIN = 60_000;

function batch(deviceId: string, seq: number, t: number, requests: number, bucket: number): TelemetryBatch {
  const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latency[bucket] = requests;
  const w: InferenceWindow = { model: 'det', version: '2.0.0', ep: 'cuda', from: t, to: t + 30_000, requests, failures: { INFERENCE_FAILED: 2 }, latency, latencySumMs: requests * 10, queueSumMs: 0 };
  return { deviceId, seq, sentAt: new Date(t).toISOString(), samples: [{ t, cpu: 10 * seq, temps: { cpu: 50 } }], inference: [w], dropped: { batches: 0, samples: 0 } };
}

/* The same telemetry SQL on PostgreSQL (EDGEFLEET_TEST_POSTGRES_URL, 127.0.0.1:5432 on CI machines). */
describeNeeding(['postgres'], 'telemetry on PostgreSQL', () => {
  const schema = `telemetry_it_${process.pid}_${Date.now()}`;
  let admin: Store;
  let store: Store;
  let telemetry: TelemetryService;
  let now = T0 + 5 * MIN;

  beforeAll(async () => {
    // A schema per run: other engineers' tests share the database.
    admin = await createStore({ driver: 'postgres', url: POSTGRES_URL, dataDir: '/nonexistent' });
    await admin.sql.exec(`CREATE SCHEMA ${schema}`);
    store = await createStore({ driver: 'postgres', url: `${POSTGRES_URL}?options=-c%20search_path%3D${schema}`, dataDir: '/nonexistent' });
    telemetry = createTelemetryService({ store, now: () => now, flushIntervalMs: 10, retention: { rawMs: 30 * MIN } });
    await telemetry.start();
  });

  afterAll(async () => {
    await telemetry?.stop();
    await store?.close();
    await admin?.sql.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.close();
  });

  it('de-duplicates, rolls up and answers cohort health', async () => {
    const a1 = batch('pg-a', 1, T0, 100, 3);
    await Promise.all([telemetry.ingest(a1), telemetry.ingest(a1), telemetry.ingest(batch('pg-a', 2, T0 + 30_000, 100, 3)), telemetry.ingest(batch('pg-b', 1, T0, 100, 7))]);
    await telemetry.ingest(a1);
    const devices = await telemetry.devices();
    expect(devices.map((d) => [d.deviceId, d.batches])).toEqual([['pg-a', 2], ['pg-b', 1]]);
    const minute = await telemetry.samples({ deviceIds: ['pg-a'], from: T0, to: T0 + MIN, resolution: '1m' });
    expect(minute.series[0]!.points[0]).toMatchObject({ n: 2, cpu: 15, max: { cpu: 20 } });
    const health = await telemetry.cohortHealth({ model: 'det', version: '2.0.0', deviceIds: ['pg-a', 'pg-b'], from: T0, to: T0 + 2 * MIN });
    expect(health).toMatchObject({ requests: 300, failures: 6, failuresByReason: { INFERENCE_FAILED: 6 }, devicesReporting: 2, samples: 3, availabilitySlots: { seen: 2, expected: 4 } });
    // 200 in (5,10], 100 in (100,200]: rank 285 is 85 into the slow bucket.
    expect(health.p95LatencyMs).toBeCloseTo(185, 6);
    // T0 is hour-aligned, so the hour bucket that starts at T0 holds every request above.
    const points = await telemetry.inference({ model: 'det', from: T0, to: T0 + MIN, resolution: '1h' });
    expect(points.points).toMatchObject([{ t: T0, requests: 300, failures: 6 }]);
  });

  it('retention removes raw rows and keeps the rollups', async () => {
    now = T0 + 2 * 60 * MIN;
    const deleted = await telemetry.applyRetention();
    expect(deleted.telemetry_samples).toBe(3);
    expect((await telemetry.samples({ deviceIds: ['pg-a'], from: T0, to: T0 + MIN })).resolution).toBe('1m');
    expect((await telemetry.cohortHealth({ model: 'det', version: '2.0.0', deviceIds: ['pg-a'], from: T0, to: T0 + MIN })).requests).toBe(200);
  });
});
