import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_MS, type InferenceWindow, type TelemetryBatch } from '@edgefleet/shared';
import { migrate } from '../store/migrations.js';
import type { SqlDatabase } from '../store/sql-database.js';
import { createSqliteDatabase } from '../store/sqlite-database.js';
import { TELEMETRY_MIGRATIONS } from './migrations.js';
import { writeBatches, type ReceivedBatch, type WriteResult } from './telemetry-writer.js';

const T0 = Date.UTC(2026, 11, 4, 6, 0, 0);
const TABLES = ['telemetry_batches', 'telemetry_devices', 'telemetry_samples', 'telemetry_samples_1m', 'telemetry_samples_1h', 'telemetry_inference', 'telemetry_inference_1m', 'telemetry_inference_1h', 'telemetry_failures', 'telemetry_failures_1m', 'telemetry_failures_1h'];

function window(i: number, from: number, ep: InferenceWindow['ep'] = 'cpu'): InferenceWindow {
  const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latency[i % latency.length] = 10 + i;
  return { model: 'det', version: i % 2 ? '1.0.0' : '2.0.0', ep, from, to: from + 30_000, requests: 10 + i, failures: i % 3 === 0 ? { INFERENCE_FAILED: 1 + i, TIMEOUT: 0 } : {}, latency, latencySumMs: 7.25 * i, queueSumMs: i };
}

function batch(deviceId: string, seq: number, t: number): TelemetryBatch {
  return {
    deviceId,
    seq,
    sentAt: new Date(t).toISOString(),
    // Every other sample leaves metrics out, so the rollups' per-metric counts and NULL maxima are exercised.
    samples: [seq % 2 ? { t, cpu: 10 + seq, memUsed: 100 * seq, temps: { cpu: 40 + seq } } : { t, cpu: 5, gpu: seq, power: { VDD_SOC: 900 + seq } }],
    inference: [window(seq, t - 30_000), window(seq + 1, t - 30_000, 'cuda')],
    dropped: { batches: seq % 4, samples: seq },
  };
}

/** Two devices over two hours (several 1m and 1h buckets), with redeliveries: an exact (device, seq) repeat and a new seq re-sending a stored sample. */
function items(): ReceivedBatch[] {
  const out: ReceivedBatch[] = [];
  for (let seq = 1; seq <= 300; seq++) {
    for (const id of ['dev-a', 'dev-b']) out.push({ batch: batch(id, seq, T0 + seq * 25_000), receivedAt: T0 + seq * 25_000 + 500 });
    if (seq % 50 === 0) out.push({ batch: batch('dev-a', seq, T0 + seq * 25_000), receivedAt: T0 + seq * 25_000 + 900 });
    if (seq % 70 === 0) out.push({ batch: batch('dev-b', seq + 10_000, T0 + seq * 25_000), receivedAt: T0 + seq * 25_000 + 900 });
  }
  return out;
}

const dirs: string[] = [];
async function open(): Promise<SqlDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'telemetry-writer-'));
  dirs.push(dir);
  const sql = createSqliteDatabase(join(dir, 'cp.db'));
  await migrate(sql, 'telemetry', TELEMETRY_MIGRATIONS);
  return sql;
}

async function dump(sql: SqlDatabase): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of TABLES) out[table] = await sql.all(`SELECT * FROM ${table} ORDER BY ${table === 'telemetry_devices' ? 'device_id' : '1, 2, 3, 4, 5'}`);
  return out;
}

const total = (results: WriteResult[]): WriteResult => results.reduce((a, r) => ({ batches: a.batches + r.batches, duplicates: a.duplicates + r.duplicates, points: a.points + r.points }), { batches: 0, duplicates: 0, points: 0 });

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('writeBatches', () => {
  it('stores the same rows and rollups whether batches come one per transaction or many in one (multi-row statements, merged rollups)', async () => {
    const one = await open();
    const many = await open();
    const all = items();
    const single: WriteResult[] = [];
    for (const item of all) single.push(await writeBatches(one, [item]));
    const batched: WriteResult[] = [];
    // Uneven flush sizes cover every statement chunk size and a redelivery inside one flush.
    for (let at = 0, size = 1; at < all.length; at += size, size = size * 3 + 1) batched.push(await writeBatches(many, all.slice(at, at + size)));
    // The four re-sent seqs carry only points already stored.
    const expected = { batches: 604, duplicates: 6, points: 600 * 3 };
    expect(total(single)).toEqual(expected);
    expect(total(batched)).toEqual(expected);
    const a = await dump(one);
    expect((a.telemetry_failures_1h ?? []).length).toBeGreaterThan(0);
    expect(await dump(many)).toEqual(a);
    // Written again whole, everything is a duplicate and nothing changes.
    expect(await writeBatches(many, all)).toEqual({ batches: 0, duplicates: all.length, points: 0 });
    expect(await dump(many)).toEqual(a);
    await one.close();
    await many.close();
  });
});
