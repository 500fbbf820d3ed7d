import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { InferencePoint, TelemetryBatch, TelemetryDeviceStatus } from '@edgefleet/shared';
import type { DeviceBus } from '../broker/device-bus.js';
import { isLeaseLost, type SingletonGate } from '../lease/lease.js';
import type { SqlDatabase } from '../store/sql-database.js';
import type { CohortHealth, CohortHealthQuery, CohortHealthSource } from './cohort-health.js';
import { TELEMETRY_MIGRATIONS, type Resolution } from './migrations.js';
import { createTelemetryIngest } from './telemetry-ingest.js';
import { registerTelemetryMetrics } from './telemetry-metrics.js';
import { listTelemetryDevices, pickResolution, queryCohortHealth, queryInference, querySamples, type SampleSeries } from './telemetry-queries.js';
import { applyRetention, DEFAULT_RETENTION, type RetentionPolicy } from './telemetry-writer.js';

/**
 * The control plane's telemetry concern: ingest from the device bus, retention, queries, cohort
 * health for the rollout engine and Prometheus gauges. The server creates one and wires it:
 *
 * @example
 *   const telemetry = createTelemetryService({ store, bus, registry, logger });
 *   await telemetry.start();                       // migrations, subscription, retention timer
 *   for (const route of telemetryRoutes({ telemetry, resolver })) api.route(route);
 *   createRolloutEngine({ ..., health: telemetry });
 * (telemetry-plugin.ts does exactly this inside createControlPlane.)
 *   // shutdown, after the bus stops delivering and before the store closes:
 *   await telemetry.stop();
 */
export interface TelemetryService extends CohortHealthSource {
  start(): Promise<void>;
  /** Stores one batch (the bus handler calls this); resolves when committed. */
  ingest(batch: TelemetryBatch, receivedAt?: number): Promise<void>;
  /** Commits whatever is buffered. */
  flush(): Promise<void>;
  cohortHealth(query: CohortHealthQuery): Promise<CohortHealth>;
  samples(query: { deviceIds: readonly string[]; from: number; to: number; resolution?: Resolution | 'auto' }): Promise<{ resolution: Resolution; series: SampleSeries[] }>;
  inference(query: { deviceIds?: readonly string[]; model?: string; version?: string; from: number; to: number; resolution?: Resolution | 'auto'; perDevice?: boolean }): Promise<{ resolution: Resolution; points: InferencePoint[] }>;
  devices(): Promise<TelemetryDeviceStatus[]>;
  applyRetention(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export interface TelemetryServiceOptions {
  /** The control-plane store (its `sql` and namespaced `migrate`). */
  store: { sql: SqlDatabase; migrate(namespace: string, steps: readonly string[]): Promise<void> };
  /** Source of device telemetry; absent when batches are fed through ingest() directly (tests, benchmarks). */
  bus?: Pick<DeviceBus, 'on'>;
  registry?: Registry;
  /** Presence for the devices gauge (the device repository satisfies it). */
  devices?: { list(): Promise<readonly { status: string }[]> };
  logger?: Pick<Logger, 'warn' | 'error' | 'debug'>;
  now?: () => number;
  retention?: Partial<RetentionPolicy>;
  /** @default 600000 */
  retentionIntervalMs?: number;
  /** Retention deletes run only on the lease holder, fenced by its token (issue 16). @default this process always leads */
  singleton?: SingletonGate;
  flushIntervalMs?: number;
  maxBatchesPerTransaction?: number;
  /** Availability slot: a device counts as up in a slot where it sent any sample. Use ≥ the agents' collection interval. @default 60000 */
  availabilitySlotMs?: number;
}

export function createTelemetryService(options: TelemetryServiceOptions): TelemetryService {
  const { sql } = options.store;
  const now = options.now ?? (() => Date.now());
  const retention: RetentionPolicy = { ...DEFAULT_RETENTION, ...options.retention };
  const slotMs = options.availabilitySlotMs ?? 60_000;
  let unsubscribe: (() => void) | undefined;
  let retentionTimer: NodeJS.Timeout | undefined;
  let started = false;

  const ingest = createTelemetryIngest({
    sql,
    flushIntervalMs: options.flushIntervalMs,
    maxBatches: options.maxBatchesPerTransaction,
    now,
    onWritten: (result, items, at) => metrics?.recordWrite(result, items, at),
    onError: (err, items) => options.logger?.error({ err, batches: items.length }, 'telemetry write failed'),
  });
  const metrics = options.registry
    ? registerTelemetryMetrics({ registry: options.registry, sql, now, devices: options.devices, buffered: () => ingest.buffered() })
    : undefined;

  const resolve = (from: number, r: Resolution | 'auto' | undefined): Resolution => (r === undefined || r === 'auto' ? pickResolution(from, now(), retention) : r);

  async function prune(): Promise<Record<string, number>> {
    return await applyRetention(sql, now(), retention);
  }

  return {
    async start() {
      if (started) return;
      started = true;
      await options.store.migrate('telemetry', TELEMETRY_MIGRATIONS);
      // ingest() resolves once the batch is committed (or found to be a duplicate), so the bus acks it to the agent then.
      unsubscribe = options.bus?.on(
        'telemetry',
        async ({ payload }) => {
          await ingest.ingest(payload, now());
        },
        { stores: true },
      );
      const gate = options.singleton;
      retentionTimer = setInterval(() => {
        if (gate && !gate.isLeader()) return;
        (gate ? gate.fenced(prune) : prune()).catch((err: unknown) => {
          if (!isLeaseLost(err)) options.logger?.warn({ err }, 'telemetry retention failed');
        });
      }, options.retentionIntervalMs ?? 600_000);
      retentionTimer.unref();
    },
    ingest: (batch, receivedAt) => ingest.ingest(batch, receivedAt ?? now()),
    flush: () => ingest.flush(),
    async cohortHealth(query) {
      await ingest.flush();
      return await queryCohortHealth(sql, query, { resolution: resolve(query.from, 'auto'), slotMs });
    },
    async samples(q) {
      const resolution = resolve(q.from, q.resolution);
      return { resolution, series: await querySamples(sql, { ...q, resolution }) };
    },
    async inference(q) {
      const resolution = resolve(q.from, q.resolution);
      return { resolution, points: await queryInference(sql, { ...q, resolution, perDevice: q.perDevice ?? false }) };
    },
    devices: () => listTelemetryDevices(sql),
    applyRetention: prune,
    async stop() {
      unsubscribe?.();
      unsubscribe = undefined;
      clearInterval(retentionTimer);
      await ingest.close();
    },
  };
}
