import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_MS, parsePayload, telemetryBatchSchema, type InferenceWindow } from '@edgefleet/shared';
import { createSqliteOutbox, createStateStore, openDatabase } from '../store/index.js';
import { createFakeMetricsSource } from './metrics-source.js';
import { createManualScheduler } from './scheduler.js';
import { createSelfMetrics } from './self-metrics.js';
import { createTelemetryCollector } from './telemetry-collector.js';
import { createTelemetryOutbox, TELEMETRY_KIND } from './telemetry-outbox.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function window(requests: number): InferenceWindow {
  const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latency[3] = requests;
  return { model: 'det', version: '1.0.0', ep: 'cpu', from: 0, to: 30_000, requests, failures: { INFERENCE_FAILED: 1 }, latency, latencySumMs: requests * 8, queueSumMs: 0 };
}

describe('telemetry collector', () => {
  it('writes one durable batch per scheduled cycle with the machine, self and inference figures', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgefleet-collector-'));
    dirs.push(dir);
    const db = openDatabase(join(dir, 'state.db'));
    const outbox = createSqliteOutbox(db);
    const scheduler = createManualScheduler();
    let now = 1_700_000_000_000;
    const windows = [[window(40)], [], [window(7)]];
    const collector = createTelemetryCollector({
      schedule: '*/30 * * * * *',
      scheduler,
      metrics: createFakeMetricsSource({ cpu: 33, memUsed: 1, memTotal: 2, temps: { 'cpu-thermal': 45.5 } }),
      inference: { takeWindows: () => windows.shift() ?? [] },
      self: createSelfMetrics(),
      outbox: createTelemetryOutbox({ deviceId: 'dev-9', db, outbox, counters: createStateStore(db), maxBatches: 100 }),
      clock: { now: () => now },
    });
    collector.start();
    expect(scheduler.expressions()).toEqual(['*/30 * * * * *']);
    for (let i = 0; i < 3; i++) {
      await scheduler.fire();
      now += 30_000;
    }
    await collector.stop();
    expect(scheduler.expressions()).toEqual([]);
    const batches = outbox.peek(10, TELEMETRY_KIND).map((e) => parsePayload(telemetryBatchSchema, e.payload));
    expect(batches).toHaveLength(3);
    expect(batches.map((b) => b.samples[0]!.t)).toEqual([0, 1, 2].map((i) => 1_700_000_000_000 + i * 30_000));
    expect(batches[0]!.samples[0]).toMatchObject({ cpu: 33, temps: { 'cpu-thermal': 45.5 } });
    expect(batches[0]!.samples[0]!.agentRss).toBeGreaterThan(10 * 1024 * 1024);
    expect(batches.map((b) => b.inference.map((w) => w.requests))).toEqual([[40], [], [7]]);
    db.close();
  });
});
