import { LATENCY_BUCKET_COUNT } from './histogram.js';

/**
 * Telemetry tables (store namespace `telemetry`), portable between SQLite and PostgreSQL.
 *
 * Raw rows are kept for a short window; 1-minute and 1-hour rollups are maintained at ingest time
 * in the same transaction (sums, counts and maxima merge exactly), so "downsampling" is only
 * deleting raw and 1-minute rows when they age out. Every table keys time as `t` (Unix ms; the
 * bucket start for rollups) so one query shape serves all three resolutions.
 */

/** Sample metrics rolled up as sum/count/max. */
export const SAMPLE_METRICS = ['cpu', 'mem_used', 'mem_total', 'disk_free', 'disk_total', 'gpu', 'temp_max', 'power_mw', 'agent_rss', 'loop_lag_ms'] as const;
export type SampleMetric = (typeof SAMPLE_METRICS)[number];

export const LATENCY_COLUMNS = Array.from({ length: LATENCY_BUCKET_COUNT }, (_, i) => `l${i}`);

const sampleRollup = (name: string): string => `CREATE TABLE ${name} (
  device_id TEXT NOT NULL, t BIGINT NOT NULL, n BIGINT NOT NULL,
  ${SAMPLE_METRICS.map((m) => `${m}_sum DOUBLE PRECISION NOT NULL, ${m}_n BIGINT NOT NULL, ${m}_max DOUBLE PRECISION`).join(',\n  ')},
  PRIMARY KEY (device_id, t)
)`;

const inferenceTable = (name: string): string => `CREATE TABLE ${name} (
  device_id TEXT NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL, ep TEXT NOT NULL, t BIGINT NOT NULL,
  windows BIGINT NOT NULL, requests BIGINT NOT NULL, failures BIGINT NOT NULL,
  ${LATENCY_COLUMNS.map((c) => `${c} BIGINT NOT NULL`).join(', ')},
  latency_sum DOUBLE PRECISION NOT NULL, queue_sum DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (device_id, model, version, ep, t)
)`;

const failureTable = (name: string): string => `CREATE TABLE ${name} (
  device_id TEXT NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL, t BIGINT NOT NULL, reason TEXT NOT NULL, count BIGINT NOT NULL,
  PRIMARY KEY (device_id, model, version, t, reason)
)`;

export const TELEMETRY_MIGRATIONS: readonly string[] = [
  [
    // (device, seq) is the de-duplication key for QoS 1 redeliveries.
    `CREATE TABLE telemetry_batches (
      device_id TEXT NOT NULL, seq BIGINT NOT NULL, sent_at TEXT NOT NULL, received_at BIGINT NOT NULL,
      samples BIGINT NOT NULL, windows BIGINT NOT NULL,
      PRIMARY KEY (device_id, seq)
    )`,
    'CREATE INDEX telemetry_batches_received ON telemetry_batches (received_at)',
    `CREATE TABLE telemetry_devices (
      device_id TEXT PRIMARY KEY, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, last_sample_t BIGINT,
      batches BIGINT NOT NULL, dropped_batches BIGINT NOT NULL, dropped_samples BIGINT NOT NULL
    )`,
    `CREATE TABLE telemetry_samples (
      device_id TEXT NOT NULL, t BIGINT NOT NULL,
      ${SAMPLE_METRICS.map((m) => `${m} DOUBLE PRECISION`).join(', ')},
      net_up BIGINT, uptime_s DOUBLE PRECISION, temps TEXT, power TEXT,
      PRIMARY KEY (device_id, t)
    )`,
    sampleRollup('telemetry_samples_1m'),
    sampleRollup('telemetry_samples_1h'),
    inferenceTable('telemetry_inference'),
    inferenceTable('telemetry_inference_1m'),
    inferenceTable('telemetry_inference_1h'),
    failureTable('telemetry_failures'),
    failureTable('telemetry_failures_1m'),
    failureTable('telemetry_failures_1h'),
    'CREATE INDEX telemetry_inference_mv ON telemetry_inference (model, version, t)',
    'CREATE INDEX telemetry_inference_1m_mv ON telemetry_inference_1m (model, version, t)',
    'CREATE INDEX telemetry_inference_1h_mv ON telemetry_inference_1h (model, version, t)',
  ].join(';\n'),
];

export const RESOLUTIONS = ['raw', '1m', '1h'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];
export const RESOLUTION_MS: Record<Resolution, number> = { raw: 1, '1m': 60_000, '1h': 3_600_000 };

export function tableFor(kind: 'samples' | 'inference' | 'failures', resolution: Resolution): string {
  return `telemetry_${kind}${resolution === 'raw' ? '' : `_${resolution}`}`;
}
