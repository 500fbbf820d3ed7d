import type { ExecutionProvider, InferencePoint, SamplePoint, TelemetryDeviceStatus } from '@edgefleet/shared';
import type { SqlDatabase, SqlValue } from '../store/sql-database.js';
import type { CohortHealth, CohortHealthQuery } from './cohort-health.js';
import { histogramQuantile } from './histogram.js';
import { LATENCY_COLUMNS, RESOLUTION_MS, SAMPLE_METRICS, tableFor, type Resolution, type SampleMetric } from './migrations.js';
import type { RetentionPolicy } from './telemetry-writer.js';

/** Reads for the REST API, the dashboard and the rollout engine. Portable SQL; numbers coerced (PostgreSQL returns BIGINT sums as text). */

/** SQLite's default host-parameter limit is 32766 and PostgreSQL's 65535: device lists go in chunks. */
const ID_CHUNK = 500;

function chunks<T>(items: readonly T[], size = ID_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const opt = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));
const inList = (n: number): string => `(${new Array(n).fill('?').join(', ')})`;

/** The finest resolution whose retention still covers `from`. */
export function pickResolution(from: number, now: number, retention: RetentionPolicy): Resolution {
  if (from >= now - retention.rawMs) return 'raw';
  if (from >= now - retention.minuteMs) return '1m';
  return '1h';
}

const CAMEL: Record<SampleMetric, keyof SamplePoint> = {
  cpu: 'cpu', mem_used: 'memUsed', mem_total: 'memTotal', disk_free: 'diskFree', disk_total: 'diskTotal',
  gpu: 'gpu', temp_max: 'tempMax', power_mw: 'powerMw', agent_rss: 'agentRss', loop_lag_ms: 'loopLagMs',
};

export interface SampleSeries {
  deviceId: string;
  points: SamplePoint[];
}

export async function querySamples(sql: SqlDatabase, q: { deviceIds: readonly string[]; from: number; to: number; resolution: Resolution; limit?: number }): Promise<SampleSeries[]> {
  const byDevice = new Map<string, SamplePoint[]>();
  const limit = q.limit ?? 50_000;
  for (const ids of chunks(q.deviceIds)) {
    const table = tableFor('samples', q.resolution);
    const cols = q.resolution === 'raw' ? SAMPLE_METRICS.join(', ') : `n, ${SAMPLE_METRICS.map((m) => `${m}_sum, ${m}_n, ${m}_max`).join(', ')}`;
    const rows = await sql.all<Record<string, unknown>>(
      `SELECT device_id, t, ${cols} FROM ${table} WHERE device_id IN ${inList(ids.length)} AND t >= ? AND t < ? ORDER BY device_id, t LIMIT ${limit}`,
      [...ids, q.from, q.to],
    );
    for (const r of rows) {
      const point: SamplePoint = { t: num(r.t), n: q.resolution === 'raw' ? 1 : num(r.n), max: {} };
      for (const m of SAMPLE_METRICS) {
        const key = CAMEL[m];
        if (q.resolution === 'raw') {
          const v = opt(r[m]);
          if (v !== undefined) (point as unknown as Record<string, number>)[key] = v;
        } else if (num(r[`${m}_n`]) > 0) {
          (point as unknown as Record<string, number>)[key] = num(r[`${m}_sum`]) / num(r[`${m}_n`]);
          point.max[key] = num(r[`${m}_max`]);
        }
      }
      const id = String(r.device_id);
      let list = byDevice.get(id);
      if (!list) byDevice.set(id, (list = []));
      list.push(point);
    }
  }
  return [...byDevice].map(([deviceId, points]) => ({ deviceId, points }));
}

interface InferenceAggregate {
  requests: number;
  failures: number;
  windows: number;
  latency: number[];
  latencySum: number;
  queueSum: number;
}

const SUMS = `SUM(windows) AS windows, SUM(requests) AS requests, SUM(failures) AS failures, ${LATENCY_COLUMNS.map((c) => `SUM(${c}) AS ${c}`).join(', ')}, SUM(latency_sum) AS latency_sum, SUM(queue_sum) AS queue_sum`;

function aggregate(r: Record<string, unknown>): InferenceAggregate {
  return {
    requests: num(r.requests), failures: num(r.failures), windows: num(r.windows),
    latency: LATENCY_COLUMNS.map((c) => num(r[c])), latencySum: num(r.latency_sum), queueSum: num(r.queue_sum),
  };
}

function add(a: InferenceAggregate, b: InferenceAggregate): InferenceAggregate {
  return {
    requests: a.requests + b.requests, failures: a.failures + b.failures, windows: a.windows + b.windows,
    latency: a.latency.map((v, i) => v + (b.latency[i] ?? 0)), latencySum: a.latencySum + b.latencySum, queueSum: a.queueSum + b.queueSum,
  };
}

export async function queryInference(
  sql: SqlDatabase,
  q: { deviceIds?: readonly string[]; model?: string; version?: string; from: number; to: number; resolution: Resolution; perDevice: boolean },
): Promise<InferencePoint[]> {
  const table = tableFor('inference', q.resolution);
  const bucket = RESOLUTION_MS[q.resolution];
  const groups = q.perDevice ? 'device_id, model, version, ep, t' : 'model, version, ep, t';
  const merged = new Map<string, { key: Record<string, unknown>; agg: InferenceAggregate }>();
  for (const ids of q.deviceIds ? chunks(q.deviceIds) : [undefined]) {
    const where = ['t >= ?', 't < ?'];
    const params: SqlValue[] = [q.from, q.to];
    if (ids) {
      if (ids.length === 0) continue;
      where.push(`device_id IN ${inList(ids.length)}`);
      params.push(...ids);
    }
    for (const [column, value] of [['model', q.model], ['version', q.version]] as const) {
      if (value === undefined) continue;
      where.push(`${column} = ?`);
      params.push(value);
    }
    const rows = await sql.all<Record<string, unknown>>(`SELECT ${groups}, ${SUMS} FROM ${table} WHERE ${where.join(' AND ')} GROUP BY ${groups} ORDER BY t LIMIT 100000`, params);
    for (const r of rows) {
      // Raw windows are keyed by their start; align them to the same grid the caller asked for.
      const t = Math.floor(num(r.t) / bucket) * bucket;
      const key = `${q.perDevice ? String(r.device_id) : ''}|${String(r.model)}|${String(r.version)}|${String(r.ep)}|${t}`;
      const existing = merged.get(key);
      const agg = aggregate(r);
      merged.set(key, { key: { ...r, t }, agg: existing ? add(existing.agg, agg) : agg });
    }
  }
  return [...merged.values()]
    .map(({ key, agg }) => ({
      t: num(key.t),
      model: String(key.model),
      version: String(key.version),
      ep: String(key.ep) as ExecutionProvider,
      ...(q.perDevice ? { deviceId: String(key.device_id) } : {}),
      requests: agg.requests,
      failures: agg.failures,
      ...(agg.requests > 0
        ? { failureRate: agg.failures / agg.requests, p95LatencyMs: histogramQuantile(0.95, agg.latency), meanLatencyMs: agg.latencySum / agg.requests, meanQueueMs: agg.queueSum / agg.requests }
        : {}),
    }))
    .sort((a, b) => a.t - b.t);
}

/**
 * Cohort health (see cohort-health.ts): sums the cohort's inference windows for one model version
 * over [from, to), merges their histograms, and measures availability as the share of
 * (device × slot) pairs in which a device sent any sample.
 */
export async function queryCohortHealth(sql: SqlDatabase, q: CohortHealthQuery, options: { resolution: Resolution; slotMs: number }): Promise<CohortHealth> {
  let total: InferenceAggregate = { requests: 0, failures: 0, windows: 0, latency: LATENCY_COLUMNS.map(() => 0), latencySum: 0, queueSum: 0 };
  const reasons: Record<string, number> = {};
  let devicesReporting = 0;
  let seen = 0;
  const ids = [...new Set(q.deviceIds)];
  // Availability needs a rollup at least as coarse as the slot; minutes unless the range is older than them.
  const availabilityRes: Resolution = options.resolution === '1h' ? '1h' : '1m';
  const slotMs = Math.max(options.slotMs, RESOLUTION_MS[availabilityRes]);
  const firstSlot = Math.floor(q.from / slotMs) * slotMs;
  for (const chunk of chunks(ids)) {
    const rows = await sql.all<Record<string, unknown>>(
      `SELECT device_id, ${SUMS} FROM ${tableFor('inference', options.resolution)} WHERE model = ? AND version = ? AND t >= ? AND t < ? AND device_id IN ${inList(chunk.length)} GROUP BY device_id`,
      [q.model, q.version, q.from, q.to, ...chunk],
    );
    for (const r of rows) {
      total = add(total, aggregate(r));
      devicesReporting++;
    }
    const failureRows = await sql.all<{ reason: string; n: unknown }>(
      `SELECT reason, SUM(count) AS n FROM ${tableFor('failures', options.resolution)} WHERE model = ? AND version = ? AND t >= ? AND t < ? AND device_id IN ${inList(chunk.length)} GROUP BY reason`,
      [q.model, q.version, q.from, q.to, ...chunk],
    );
    for (const r of failureRows) reasons[r.reason] = (reasons[r.reason] ?? 0) + num(r.n);
    const slots = await sql.get<{ n: unknown }>(
      `SELECT COUNT(*) AS n FROM (SELECT device_id, t / ${slotMs} AS slot FROM ${tableFor('samples', availabilityRes)}
        WHERE t >= ? AND t < ? AND device_id IN ${inList(chunk.length)} GROUP BY device_id, t / ${slotMs}) s`,
      [firstSlot, q.to, ...chunk],
    );
    seen += num(slots?.n);
  }
  const expected = q.to > q.from ? ids.length * Math.ceil((q.to - firstSlot) / slotMs) : 0;
  const has = total.requests > 0;
  return {
    model: q.model,
    version: q.version,
    from: q.from,
    to: q.to,
    requests: total.requests,
    failures: total.failures,
    failureRate: has ? total.failures / total.requests : undefined,
    failuresByReason: reasons,
    p95LatencyMs: has ? histogramQuantile(0.95, total.latency) : undefined,
    meanLatencyMs: has ? total.latencySum / total.requests : undefined,
    latencySamples: total.latency.reduce((a, b) => a + b, 0),
    samples: total.windows,
    devicesReporting,
    devices: ids.length,
    availability: expected > 0 ? Math.min(1, seen / expected) : undefined,
    availabilitySlots: { seen, expected },
  };
}

export async function listTelemetryDevices(sql: SqlDatabase): Promise<TelemetryDeviceStatus[]> {
  const rows = await sql.all<Record<string, unknown>>('SELECT * FROM telemetry_devices ORDER BY device_id');
  return rows.map((r) => ({
    deviceId: String(r.device_id),
    firstSeen: num(r.first_seen),
    lastSeen: num(r.last_seen),
    ...(r.last_sample_t === null ? {} : { lastSampleT: num(r.last_sample_t) }),
    batches: num(r.batches),
    dropped: { batches: num(r.dropped_batches), samples: num(r.dropped_samples) },
  }));
}

/** Devices that reported inference for each {model, version, ep} since `since` (for /metrics). */
export async function devicesByModelVersion(sql: SqlDatabase, since: number): Promise<{ model: string; version: string; ep: string; devices: number }[]> {
  const rows = await sql.all<Record<string, unknown>>(
    'SELECT model, version, ep, COUNT(DISTINCT device_id) AS devices FROM telemetry_inference_1m WHERE t >= ? GROUP BY model, version, ep',
    [since],
  );
  return rows.map((r) => ({ model: String(r.model), version: String(r.version), ep: String(r.ep), devices: num(r.devices) }));
}
