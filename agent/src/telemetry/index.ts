/**
 * Agent telemetry (issue 6): collection on a schedule into the durable outbox, and the sender that
 * drains that outbox (telemetry and deployment events) to the broker.
 *
 * @example
 *   const db = openDatabase(join(config.dataDir, 'state.db'));
 *   const outbox = createSqliteOutbox(db);
 *   const telemetryOutbox = createTelemetryOutbox({ deviceId, db, outbox, counters: createStateStore(db), maxBatches: config.telemetry.outboxMaxBatches });
 *   const sender = createOutboxSender({ outbox, publisher, budgetBytesPerHour: config.telemetry.budgetBytesPerHour, batchLimit: config.telemetry.flushBatchLimit });
 *   const collector = createTelemetryCollector({ schedule: config.telemetry.schedule, scheduler: createCronScheduler(),
 *     metrics: createSystemMetricsSource({ diskPath: config.dataDir }), inference: runtime, self: createSelfMetrics(), outbox: telemetryOutbox, sender });
 *   collector.start();               // and on MQTT (re)connect: void sender.flush()
 */
export { createTelemetryCollector, type TelemetryCollector, type TelemetryCollectorOptions } from './telemetry-collector.js';
export { createTelemetryOutbox, TELEMETRY_KIND, type CounterStore, type DropCounts, type TelemetryOutbox, type TelemetryOutboxOptions } from './telemetry-outbox.js';
export { createMqttPublisher } from './mqtt-publisher.js';
export { createOutboxSender, type Clock, type FlushResult, type OutboxPublisher, type OutboxSender, type OutboxSenderOptions } from './outbox-sender.js';
export { assertValidSchedule, createCronScheduler, createManualScheduler, type ManualScheduler, type ScheduledJob, type Scheduler } from './scheduler.js';
export { createFakeMetricsSource, createSystemMetricsSource, type DeviceMetrics, type MetricsSource, type SystemMetricsSourceOptions } from './metrics-source.js';
export { createSelfMetrics, type SelfMetrics } from './self-metrics.js';
export { parseTegrastatsLine, type TegrastatsReading } from './sources/tegrastats.js';
export { startTegrastatsReader, type TegrastatsReader } from './sources/tegrastats-reader.js';
export { parseNvidiaSmiCsv, queryNvidiaSmi, type NvidiaGpuReading } from './sources/nvidia-smi.js';
export { readJetsonGpuLoad, readPowerRails, readThermalZones } from './sources/sysfs.js';
