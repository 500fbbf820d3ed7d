import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { SqlDatabase } from '../store/sql-database.js';
import { devicesByModelVersion, listTelemetryDevices } from './telemetry-queries.js';
import type { ReceivedBatch, WriteResult } from './telemetry-writer.js';

/**
 * Fleet telemetry on the control plane's Prometheus registry (`GET /metrics`). Gauges are computed
 * from the store when scraped, so several replicas sharing one database report the same fleet.
 */
export interface TelemetryMetrics {
  recordWrite(result: WriteResult, items: readonly ReceivedBatch[], committedAt: number): void;
}

export interface TelemetryMetricsOptions {
  registry: Registry;
  sql: SqlDatabase;
  now: () => number;
  /** Presence from the device registry; without it a device is online when it sent telemetry within `onlineWindowMs`. */
  devices?: { list(): Promise<readonly { status: string }[]> };
  /** @default 120000 (four missed 30 s cycles) */
  onlineWindowMs?: number;
  /** A device counts for a model version when it reported inference for it this recently. @default 600000 */
  modelWindowMs?: number;
  buffered: () => number;
}

export function registerTelemetryMetrics(options: TelemetryMetricsOptions): TelemetryMetrics {
  const { registry, sql, now } = options;
  const registers = [registry];
  const onlineWindowMs = options.onlineWindowMs ?? 120_000;
  const modelWindowMs = options.modelWindowMs ?? 600_000;

  // The control plane core already publishes presence from the device registry under this name.
  if (!registry.getSingleMetric('edgefleet_devices')) new Gauge({
    name: 'edgefleet_devices',
    help: 'Devices by presence status.',
    labelNames: ['status'],
    registers,
    async collect() {
      this.reset();
      if (options.devices) {
        for (const d of await options.devices.list()) this.inc({ status: d.status });
        return;
      }
      const cutoff = now() - onlineWindowMs;
      const devices = await listTelemetryDevices(sql);
      this.set({ status: 'online' }, devices.filter((d) => d.lastSeen >= cutoff).length);
      this.set({ status: 'offline' }, devices.filter((d) => d.lastSeen < cutoff).length);
    },
  });
  new Gauge({
    name: 'edgefleet_devices_by_model_version',
    help: 'Devices that reported inference for a model version on an execution provider in the last 10 minutes.',
    labelNames: ['model', 'version', 'ep'],
    registers,
    async collect() {
      this.reset();
      for (const r of await devicesByModelVersion(sql, now() - modelWindowMs)) this.set({ model: r.model, version: r.version, ep: r.ep }, r.devices);
    },
  });
  new Gauge({
    name: 'edgefleet_device_outbox_dropped',
    help: 'Telemetry the devices\' outboxes dropped at their cap, as they reported it (cumulative, summed over devices).',
    labelNames: ['unit'],
    registers,
    async collect() {
      const devices = await listTelemetryDevices(sql);
      this.set({ unit: 'batches' }, devices.reduce((s, d) => s + d.dropped.batches, 0));
      this.set({ unit: 'samples' }, devices.reduce((s, d) => s + d.dropped.samples, 0));
    },
  });
  new Gauge({
    name: 'edgefleet_devices_with_outbox_drops',
    help: 'Devices whose outbox dropped telemetry at least once.',
    registers,
    async collect() {
      this.set((await listTelemetryDevices(sql)).filter((d) => d.dropped.batches > 0).length);
    },
  });
  new Gauge({ name: 'edgefleet_telemetry_ingest_buffered', help: 'Batches received and not yet committed.', registers, collect() { this.set(options.buffered()); } });
  const batches = new Counter({ name: 'edgefleet_telemetry_batches_total', help: 'Telemetry batches stored.', registers });
  const duplicates = new Counter({ name: 'edgefleet_telemetry_duplicate_batches_total', help: 'QoS 1 redeliveries dropped by (device, seq).', registers });
  const points = new Counter({ name: 'edgefleet_telemetry_points_total', help: 'Samples and inference windows stored.', registers });
  const lag = new Histogram({
    name: 'edgefleet_telemetry_ingest_lag_seconds',
    help: 'From a batch being written on the device to its commit here (includes time spent offline in the device outbox).',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400],
    registers,
  });

  return {
    recordWrite(result, items, committedAt) {
      batches.inc(result.batches);
      duplicates.inc(result.duplicates);
      points.inc(result.points);
      for (const { batch } of items) {
        const sent = Date.parse(batch.sentAt);
        if (Number.isFinite(sent)) lag.observe(Math.max(0, (committedAt - sent) / 1000));
      }
    },
  };
}
