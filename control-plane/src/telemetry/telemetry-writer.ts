import type { DeviceSample, InferenceWindow, TelemetryBatch } from '@edgefleet/shared';
import type { SqlDatabase, SqlValue } from '../store/sql-database.js';
import { LATENCY_COLUMNS, SAMPLE_METRICS, tableFor, type SampleMetric } from './migrations.js';

/**
 * Writes telemetry batches: one transaction per call (the ingest buffer hands over many batches at
 * once), (device, seq) de-duplication, raw rows plus 1-minute and 1-hour rollups, and retention.
 */

export interface ReceivedBatch {
  batch: TelemetryBatch;
  /** Unix ms the control plane received it. */
  receivedAt: number;
}

export interface WriteResult {
  batches: number;
  duplicates: number;
  /** Samples plus inference windows stored (duplicates excluded). */
  points: number;
}

export interface RetentionPolicy {
  /** Raw samples and windows. @default 48 h */
  rawMs: number;
  /** 1-minute rollups (and the de-duplication keys). @default 14 days */
  minuteMs: number;
  /** 1-hour rollups. @default 400 days */
  hourMs: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { rawMs: 48 * 3_600_000, minuteMs: 14 * 86_400_000, hourMs: 400 * 86_400_000 };

/** Rails that already measure the whole board's input; otherwise the rails are summed. */
const TOTAL_INPUT_RAILS = ['VDD_IN', 'POM_5V_IN'];

export function sampleMetrics(s: DeviceSample): Record<SampleMetric, number | undefined> {
  const temps = s.temps ? Object.values(s.temps) : [];
  const rails = s.power ?? {};
  const total = TOTAL_INPUT_RAILS.map((r) => rails[r]).find((v) => v !== undefined);
  const railValues = Object.values(rails);
  return {
    cpu: s.cpu,
    mem_used: s.memUsed,
    mem_total: s.memTotal,
    disk_free: s.diskFree,
    disk_total: s.diskTotal,
    gpu: s.gpu,
    temp_max: temps.length > 0 ? Math.max(...temps) : undefined,
    power_mw: total ?? (railValues.length > 0 ? railValues.reduce((a, b) => a + b, 0) : undefined),
    agent_rss: s.agentRss,
    loop_lag_ms: s.loopLagMs,
  };
}

const bucket = (t: number, size: number): number => Math.floor(t / size) * size;
const greatest = (table: string, col: string): string =>
  `${col} = CASE WHEN ${table}.${col} IS NULL OR excluded.${col} > ${table}.${col} THEN excluded.${col} ELSE ${table}.${col} END`;

function sampleRollupSql(table: string): string {
  const cols = SAMPLE_METRICS.flatMap((m) => [`${m}_sum`, `${m}_n`, `${m}_max`]);
  const updates = SAMPLE_METRICS.flatMap((m) => [`${m}_sum = ${table}.${m}_sum + excluded.${m}_sum`, `${m}_n = ${table}.${m}_n + excluded.${m}_n`, greatest(table, `${m}_max`)]);
  return `INSERT INTO ${table} (device_id, t, n, ${cols.join(', ')}) VALUES (?, ?, 1, ${cols.map(() => '?').join(', ')})
    ON CONFLICT (device_id, t) DO UPDATE SET n = ${table}.n + excluded.n, ${updates.join(', ')}`;
}

function inferenceSql(table: string, raw: boolean): string {
  const cols = ['windows', 'requests', 'failures', ...LATENCY_COLUMNS, 'latency_sum', 'queue_sum'];
  const conflict = raw
    ? 'DO NOTHING'
    : `DO UPDATE SET ${cols.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(', ')}`;
  return `INSERT INTO ${table} (device_id, model, version, ep, t, ${cols.join(', ')}) VALUES (?, ?, ?, ?, ?, ${cols.map(() => '?').join(', ')})
    ON CONFLICT (device_id, model, version, ep, t) ${conflict}`;
}

function failureSql(table: string): string {
  return `INSERT INTO ${table} (device_id, model, version, t, reason, count) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (device_id, model, version, t, reason) DO UPDATE SET count = ${table}.count + excluded.count`;
}

const SQL = {
  batch: 'INSERT INTO telemetry_batches (device_id, seq, sent_at, received_at, samples, windows) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, seq) DO NOTHING',
  device: `INSERT INTO telemetry_devices (device_id, first_seen, last_seen, last_sample_t, batches, dropped_batches, dropped_samples) VALUES (?, ?, ?, ?, 1, ?, ?)
    ON CONFLICT (device_id) DO UPDATE SET batches = telemetry_devices.batches + 1,
    ${greatest('telemetry_devices', 'last_seen')}, ${greatest('telemetry_devices', 'last_sample_t')},
    ${greatest('telemetry_devices', 'dropped_batches')}, ${greatest('telemetry_devices', 'dropped_samples')}`,
  rawSample: `INSERT INTO telemetry_samples (device_id, t, ${SAMPLE_METRICS.join(', ')}, net_up, uptime_s, temps, power)
    VALUES (?, ?, ${SAMPLE_METRICS.map(() => '?').join(', ')}, ?, ?, ?, ?) ON CONFLICT (device_id, t) DO NOTHING`,
  sample1m: sampleRollupSql('telemetry_samples_1m'),
  sample1h: sampleRollupSql('telemetry_samples_1h'),
  inferenceRaw: inferenceSql('telemetry_inference', true),
  inference1m: inferenceSql('telemetry_inference_1m', false),
  inference1h: inferenceSql('telemetry_inference_1h', false),
  failuresRaw: failureSql('telemetry_failures'),
  failures1m: failureSql('telemetry_failures_1m'),
  failures1h: failureSql('telemetry_failures_1h'),
};

async function writeSample(tx: SqlDatabase, deviceId: string, s: DeviceSample): Promise<boolean> {
  const m = sampleMetrics(s);
  const values = SAMPLE_METRICS.map((k) => m[k] ?? null);
  const inserted = await tx.run(SQL.rawSample, [
    deviceId, s.t, ...values,
    s.netUp === undefined ? null : s.netUp ? 1 : 0,
    s.uptimeS ?? null,
    s.temps ? JSON.stringify(s.temps) : null,
    s.power ? JSON.stringify(s.power) : null,
  ]);
  if (inserted.changes === 0) return false;
  const rollup: SqlValue[] = SAMPLE_METRICS.flatMap((k) => {
    const v = m[k];
    return v === undefined ? [0, 0, null] : [v, 1, v];
  });
  await tx.run(SQL.sample1m, [deviceId, bucket(s.t, 60_000), ...rollup]);
  await tx.run(SQL.sample1h, [deviceId, bucket(s.t, 3_600_000), ...rollup]);
  return true;
}

async function writeWindow(tx: SqlDatabase, deviceId: string, w: InferenceWindow): Promise<boolean> {
  const failures = Object.values(w.failures).reduce((a, b) => a + b, 0);
  const values = [1, w.requests, failures, ...LATENCY_COLUMNS.map((_, i) => w.latency[i] ?? 0), w.latencySumMs, w.queueSumMs];
  const inserted = await tx.run(SQL.inferenceRaw, [deviceId, w.model, w.version, w.ep, w.from, ...values]);
  if (inserted.changes === 0) return false;
  await tx.run(SQL.inference1m, [deviceId, w.model, w.version, w.ep, bucket(w.from, 60_000), ...values]);
  await tx.run(SQL.inference1h, [deviceId, w.model, w.version, w.ep, bucket(w.from, 3_600_000), ...values]);
  for (const [reason, count] of Object.entries(w.failures)) {
    if (count === 0) continue;
    await tx.run(SQL.failuresRaw, [deviceId, w.model, w.version, w.from, reason, count]);
    await tx.run(SQL.failures1m, [deviceId, w.model, w.version, bucket(w.from, 60_000), reason, count]);
    await tx.run(SQL.failures1h, [deviceId, w.model, w.version, bucket(w.from, 3_600_000), reason, count]);
  }
  return true;
}

/** Stores batches in one transaction; a (device, seq) seen before is counted as a duplicate and skipped whole. */
export async function writeBatches(sql: SqlDatabase, items: readonly ReceivedBatch[]): Promise<WriteResult> {
  return await sql.transaction(async (tx) => {
    const result: WriteResult = { batches: 0, duplicates: 0, points: 0 };
    for (const { batch, receivedAt } of items) {
      const fresh = await tx.run(SQL.batch, [batch.deviceId, batch.seq, batch.sentAt, receivedAt, batch.samples.length, batch.inference.length]);
      if (fresh.changes === 0) {
        result.duplicates++;
        continue;
      }
      result.batches++;
      const lastT = batch.samples.reduce<number | null>((max, s) => (max === null || s.t > max ? s.t : max), null);
      await tx.run(SQL.device, [batch.deviceId, receivedAt, receivedAt, lastT, batch.dropped.batches, batch.dropped.samples]);
      for (const s of batch.samples) if (await writeSample(tx, batch.deviceId, s)) result.points++;
      for (const w of batch.inference) if (await writeWindow(tx, batch.deviceId, w)) result.points++;
    }
    return result;
  });
}

/** Deletes what aged out of each resolution. Returns rows deleted per table. */
export async function applyRetention(sql: SqlDatabase, now: number, policy: RetentionPolicy = DEFAULT_RETENTION): Promise<Record<string, number>> {
  const deleted: Record<string, number> = {};
  const cutoffs: [string, string, number][] = [
    ['telemetry_batches', 'received_at', now - policy.minuteMs],
    ...(['samples', 'inference', 'failures'] as const).flatMap((kind): [string, string, number][] => [
      [tableFor(kind, 'raw'), 't', now - policy.rawMs],
      [tableFor(kind, '1m'), 't', now - policy.minuteMs],
      [tableFor(kind, '1h'), 't', now - policy.hourMs],
    ]),
  ];
  await sql.transaction(async (tx) => {
    for (const [table, column, cutoff] of cutoffs) deleted[table] = (await tx.run(`DELETE FROM ${table} WHERE ${column} < ?`, [cutoff])).changes;
  });
  return deleted;
}
