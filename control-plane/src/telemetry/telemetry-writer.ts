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
/** Greatest ignoring nulls, as `greatest()` merges in SQL. */
const maxOf = (a: number | null, b: number | null): number | null => (a === null || (b !== null && b > a) ? b : a);

/*
 * Why multi-row statements: a batch used to cost ~11 statements, and on PostgreSQL each is a round
 * trip to the server (multi-row writes measured 9–10× faster there; on SQLite, where the time is in
 * the B-tree writes themselves, they measured the same — docs/fleet-scale.md). Rows of one flush go
 * out in multi-row INSERTs, and the rollups are merged in memory first (sums, counts and maxima
 * merge exactly), so each 1-minute / 1-hour bucket touched by a flush is one upsert row. Rows in
 * one multi-row upsert must have distinct keys (PostgreSQL refuses to update a row twice in one
 * statement), which the merging guarantees.
 */

/** Rows per statement: a few fixed sizes, so the prepared-statement cache holds few shapes. */
const CHUNKS = [128, 32, 8, 1];

interface Insert {
  table: string;
  columns: readonly string[];
  /** Everything after VALUES (...): the ON CONFLICT clause and any RETURNING. */
  tail: string;
}

const insertSql = (insert: Insert, rows: number): string => {
  const row = `(${insert.columns.map(() => '?').join(', ')})`;
  return `INSERT INTO ${insert.table} (${insert.columns.join(', ')}) VALUES ${Array.from({ length: rows }, () => row).join(', ')} ${insert.tail}`;
};
const sqlCache = new WeakMap<Insert, Map<number, string>>();
function cachedInsertSql(insert: Insert, rows: number): string {
  let bySize = sqlCache.get(insert);
  if (!bySize) sqlCache.set(insert, (bySize = new Map()));
  let sql = bySize.get(rows);
  if (sql === undefined) bySize.set(rows, (sql = insertSql(insert, rows)));
  return sql;
}

/** Yields the rows in CHUNKS-sized parts, each as one flat parameter list. */
function* chunks(rows: readonly SqlValue[][]): Generator<{ rows: number; params: SqlValue[] }> {
  let at = 0;
  for (const size of CHUNKS) {
    while (rows.length - at >= size) {
      const params: SqlValue[] = [];
      for (let i = at; i < at + size; i++) for (const v of rows[i] ?? []) params.push(v);
      yield { rows: size, params };
      at += size;
    }
  }
}

async function insertRows(tx: SqlDatabase, insert: Insert, rows: readonly SqlValue[][]): Promise<void> {
  for (const part of chunks(rows)) await tx.run(cachedInsertSql(insert, part.rows), part.params);
}

/** A row's key as one string; PostgreSQL hands BIGINT back as text, so keys are compared as strings. */
const keyOf = (values: readonly SqlValue[]): string => values.map(String).join('\u0000');

/** Inserts with ON CONFLICT DO NOTHING and returns the keys of the rows that went in. */
const returningCache = new WeakMap<Insert, Insert>();
async function insertNew(tx: SqlDatabase, insert: Insert, keyColumns: readonly string[], rows: readonly SqlValue[][]): Promise<Set<string>> {
  const fresh = new Set<string>();
  let returning = returningCache.get(insert);
  if (!returning) returningCache.set(insert, (returning = { ...insert, tail: `${insert.tail} RETURNING ${keyColumns.join(', ')}` }));
  for (const part of chunks(rows)) {
    const back = await tx.all<Record<string, SqlValue>>(cachedInsertSql(returning, part.rows), part.params);
    for (const r of back) fresh.add(keyOf(keyColumns.map((c) => r[c] ?? null)));
  }
  return fresh;
}

const SAMPLE_ROLLUP_COLUMNS = ['device_id', 't', 'n', ...SAMPLE_METRICS.flatMap((m) => [`${m}_sum`, `${m}_n`, `${m}_max`])];
const sampleRollup = (table: string): Insert => ({
  table,
  columns: SAMPLE_ROLLUP_COLUMNS,
  tail: `ON CONFLICT (device_id, t) DO UPDATE SET n = ${table}.n + excluded.n, ${SAMPLE_METRICS.flatMap((m) => [`${m}_sum = ${table}.${m}_sum + excluded.${m}_sum`, `${m}_n = ${table}.${m}_n + excluded.${m}_n`, greatest(table, `${m}_max`)]).join(', ')}`,
});

const INFERENCE_VALUES = ['windows', 'requests', 'failures', ...LATENCY_COLUMNS, 'latency_sum', 'queue_sum'];
const INFERENCE_KEY = ['device_id', 'model', 'version', 'ep', 't'];
const inference = (table: string, raw: boolean): Insert => ({
  table,
  columns: [...INFERENCE_KEY, ...INFERENCE_VALUES],
  tail: `ON CONFLICT (${INFERENCE_KEY.join(', ')}) ${raw ? 'DO NOTHING' : `DO UPDATE SET ${INFERENCE_VALUES.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(', ')}`}`,
});

const failure = (table: string): Insert => ({
  table,
  columns: ['device_id', 'model', 'version', 't', 'reason', 'count'],
  tail: `ON CONFLICT (device_id, model, version, t, reason) DO UPDATE SET count = ${table}.count + excluded.count`,
});

const INSERTS = {
  batch: { table: 'telemetry_batches', columns: ['device_id', 'seq', 'sent_at', 'received_at', 'samples', 'windows'], tail: 'ON CONFLICT (device_id, seq) DO NOTHING' },
  device: {
    table: 'telemetry_devices',
    columns: ['device_id', 'first_seen', 'last_seen', 'last_sample_t', 'batches', 'dropped_batches', 'dropped_samples'],
    tail: `ON CONFLICT (device_id) DO UPDATE SET batches = telemetry_devices.batches + excluded.batches,
    ${greatest('telemetry_devices', 'last_seen')}, ${greatest('telemetry_devices', 'last_sample_t')},
    ${greatest('telemetry_devices', 'dropped_batches')}, ${greatest('telemetry_devices', 'dropped_samples')}`,
  },
  rawSample: { table: 'telemetry_samples', columns: ['device_id', 't', ...SAMPLE_METRICS, 'net_up', 'uptime_s', 'temps', 'power'], tail: 'ON CONFLICT (device_id, t) DO NOTHING' },
  sample1m: sampleRollup('telemetry_samples_1m'),
  sample1h: sampleRollup('telemetry_samples_1h'),
  inferenceRaw: inference('telemetry_inference', true),
  inference1m: inference('telemetry_inference_1m', false),
  inference1h: inference('telemetry_inference_1h', false),
  failuresRaw: failure('telemetry_failures'),
  failures1m: failure('telemetry_failures_1m'),
  failures1h: failure('telemetry_failures_1h'),
} satisfies Record<string, Insert>;

/** Rows merged by key in arrival order; `merge` folds a later row into the first one's values. */
class Merged {
  readonly rows = new Map<string, SqlValue[]>();
  constructor(private readonly merge: (into: SqlValue[], row: readonly SqlValue[]) => void) {}
  add(key: string, row: SqlValue[]): void {
    const had = this.rows.get(key);
    if (had) this.merge(had, row);
    else this.rows.set(key, row);
  }
  values(): SqlValue[][] {
    return [...this.rows.values()];
  }
}

/** Sample rollup row: device, t, n, then (sum, n, max) per metric. */
const mergeSampleRollup = (into: SqlValue[], row: readonly SqlValue[]): void => {
  into[2] = (into[2] as number) + (row[2] as number);
  for (let i = 3; i < into.length; i += 3) {
    into[i] = (into[i] as number) + (row[i] as number);
    into[i + 1] = (into[i + 1] as number) + (row[i + 1] as number);
    into[i + 2] = maxOf(into[i + 2] as number | null, row[i + 2] as number | null);
  }
};
/** Inference rollup row: the 5 key columns, then additive values. */
const mergeAdditive = (from: number) => (into: SqlValue[], row: readonly SqlValue[]): void => {
  for (let i = from; i < into.length; i++) into[i] = (into[i] as number) + (row[i] as number);
};

/** Stores batches in one transaction; a (device, seq) seen before is counted as a duplicate and skipped whole. */
export async function writeBatches(sql: SqlDatabase, items: readonly ReceivedBatch[]): Promise<WriteResult> {
  return await sql.transaction(async (tx) => {
    const result: WriteResult = { batches: 0, duplicates: 0, points: 0 };
    // 1. De-duplication: the first of equal (device, seq) keys wins, in the store and within this flush.
    const newKeys = await insertNew(tx, INSERTS.batch, ['device_id', 'seq'], items.map(({ batch, receivedAt }) => [batch.deviceId, batch.seq, batch.sentAt, receivedAt, batch.samples.length, batch.inference.length]));
    const fresh: ReceivedBatch[] = [];
    for (const item of items) {
      const key = keyOf([item.batch.deviceId, item.batch.seq]);
      if (newKeys.delete(key)) fresh.push(item);
      else result.duplicates++;
    }
    result.batches = fresh.length;
    if (fresh.length === 0) return result;

    // 2. Devices: one upsert row per device, merged as the per-batch upserts would have merged.
    const devices = new Merged((into, row) => {
      into[2] = maxOf(into[2] as number, row[2] as number);
      into[3] = maxOf(into[3] as number | null, row[3] as number | null);
      into[4] = (into[4] as number) + 1;
      into[5] = maxOf(into[5] as number, row[5] as number);
      into[6] = maxOf(into[6] as number, row[6] as number);
    });
    for (const { batch, receivedAt } of fresh) {
      const lastT = batch.samples.reduce<number | null>((max, s) => (max === null || s.t > max ? s.t : max), null);
      devices.add(batch.deviceId, [batch.deviceId, receivedAt, receivedAt, lastT, 1, batch.dropped.batches, batch.dropped.samples]);
    }
    await insertRows(tx, INSERTS.device, devices.values());

    // 3. Raw samples, then rollups of the ones that went in (a sample already stored is skipped).
    const samples = fresh.flatMap(({ batch }) => batch.samples.map((s) => ({ deviceId: batch.deviceId, s, m: sampleMetrics(s) })));
    const newSamples = await insertNew(tx, INSERTS.rawSample, ['device_id', 't'], samples.map(({ deviceId, s, m }) => [
      deviceId, s.t, ...SAMPLE_METRICS.map((k) => m[k] ?? null),
      s.netUp === undefined ? null : s.netUp ? 1 : 0,
      s.uptimeS ?? null,
      s.temps ? JSON.stringify(s.temps) : null,
      s.power ? JSON.stringify(s.power) : null,
    ]));
    const sample1m = new Merged(mergeSampleRollup);
    const sample1h = new Merged(mergeSampleRollup);
    for (const { deviceId, s, m } of samples) {
      if (!newSamples.delete(keyOf([deviceId, s.t]))) continue;
      result.points++;
      const rollup: SqlValue[] = SAMPLE_METRICS.flatMap((k) => {
        const v = m[k];
        return v === undefined ? [0, 0, null] : [v, 1, v];
      });
      const m1 = bucket(s.t, 60_000);
      const h1 = bucket(s.t, 3_600_000);
      sample1m.add(keyOf([deviceId, m1]), [deviceId, m1, 1, ...rollup]);
      sample1h.add(keyOf([deviceId, h1]), [deviceId, h1, 1, ...rollup]);
    }
    await insertRows(tx, INSERTS.sample1m, sample1m.values());
    await insertRows(tx, INSERTS.sample1h, sample1h.values());

    // 4. Raw inference windows, then rollups and failure counts of the ones that went in.
    const windows = fresh.flatMap(({ batch }) => batch.inference.map((w) => ({ deviceId: batch.deviceId, w })));
    const windowValues = (w: InferenceWindow): number[] => [1, w.requests, Object.values(w.failures).reduce((a, b) => a + b, 0), ...LATENCY_COLUMNS.map((_, i) => w.latency[i] ?? 0), w.latencySumMs, w.queueSumMs];
    const newWindows = await insertNew(tx, INSERTS.inferenceRaw, INFERENCE_KEY, windows.map(({ deviceId, w }) => [deviceId, w.model, w.version, w.ep, w.from, ...windowValues(w)]));
    const inference1m = new Merged(mergeAdditive(5));
    const inference1h = new Merged(mergeAdditive(5));
    const failuresRaw = new Merged(mergeAdditive(5));
    const failures1m = new Merged(mergeAdditive(5));
    const failures1h = new Merged(mergeAdditive(5));
    for (const { deviceId, w } of windows) {
      if (!newWindows.delete(keyOf([deviceId, w.model, w.version, w.ep, w.from]))) continue;
      result.points++;
      const values = windowValues(w);
      const m1 = bucket(w.from, 60_000);
      const h1 = bucket(w.from, 3_600_000);
      inference1m.add(keyOf([deviceId, w.model, w.version, w.ep, m1]), [deviceId, w.model, w.version, w.ep, m1, ...values]);
      inference1h.add(keyOf([deviceId, w.model, w.version, w.ep, h1]), [deviceId, w.model, w.version, w.ep, h1, ...values]);
      for (const [reason, count] of Object.entries(w.failures)) {
        if (count === 0) continue;
        for (const [rows, t] of [[failuresRaw, w.from], [failures1m, m1], [failures1h, h1]] as const) rows.add(keyOf([deviceId, w.model, w.version, t, reason]), [deviceId, w.model, w.version, t, reason, count]);
      }
    }
    await insertRows(tx, INSERTS.inference1m, inference1m.values());
    await insertRows(tx, INSERTS.inference1h, inference1h.values());
    await insertRows(tx, INSERTS.failuresRaw, failuresRaw.values());
    await insertRows(tx, INSERTS.failures1m, failures1m.values());
    await insertRows(tx, INSERTS.failures1h, failures1h.values());
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
