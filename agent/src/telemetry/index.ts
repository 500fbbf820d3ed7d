/**
 * Agent telemetry (issue 6): collection on a schedule into the durable outbox, and the sender that
 * drains that outbox (telemetry and deployment events) to the broker.
 *
 * @example (in createAgent, after the store, session and window hub exist)
 *   const inference = createInferenceAccumulator();
 *   windows.subscribe((w) => inference.add(w));
 *   const acks = createAckReceiver({ session, outbox, logger });    // agent/src/mqtt: the control plane's end-to-end acks
 *   const sender = createOutboxSender({ outbox, transport: createSessionTransport(session), kinds: [TELEMETRY_KIND],
 *     batchLimit: config.telemetry.flushBatchLimit, budgetBytesPerHour: config.telemetry.budgetBytesPerHour,
 *     acks: { source: acks, window: config.outbox.window, ackTimeoutMs: config.outbox.ackTimeoutMs } });
 *   const collector = createTelemetryCollector({
 *     schedule: config.telemetry.schedule, scheduler: createCronScheduler(), inference, self: createSelfMetrics(),
 *     metrics: createSystemMetricsSource({ diskPath: config.dataDir, nvidiaSmi: !profile.jetson }),
 *     outbox: createTelemetryOutbox({ deviceId, db, outbox, counters: store, maxBatches: config.telemetry.outboxMaxBatches }), sender });
 *   session.onConnect(() => void sender.reconnected());   // unacknowledged batches go again on a new connection
 *   collector.start();                              // stop: await collector.stop() before session.close()
 */
export { createAgentTelemetry, type AgentTelemetry, type AgentTelemetryDeps } from './agent-telemetry.js';
export { createTelemetryCollector, type TelemetryCollector, type TelemetryCollectorOptions } from './telemetry-collector.js';
export { createTelemetryOutbox, TELEMETRY_KIND, type CounterStore, type DropCounts, type TelemetryOutbox, type TelemetryOutboxOptions } from './telemetry-outbox.js';
export { createMqttClientTransport, createSessionTransport } from './mqtt-publisher.js';
export { createInferenceAccumulator, mergeWindows, type InferenceAccumulator } from './inference-accumulator.js';
export { createOutboxSender, type Clock, type FlushResult, type OutboxTransport, type OutboxSender, type OutboxSenderOptions } from './outbox-sender.js';
export { assertValidSchedule, createCronScheduler, createManualScheduler, type ManualScheduler, type ScheduledJob, type Scheduler } from './scheduler.js';
export { createFakeMetricsSource, createSystemMetricsSource, type DeviceMetrics, type MetricsSource, type SystemMetricsSourceOptions } from './metrics-source.js';
export { createSelfMetrics, type SelfMetrics } from './self-metrics.js';
export { parseTegrastatsLine, type TegrastatsReading } from './sources/tegrastats.js';
export { startTegrastatsReader, type TegrastatsReader } from './sources/tegrastats-reader.js';
export { queryNvidiaSmi } from './sources/nvidia-smi.js';
export { readJetsonGpuLoad, readPowerRails, readThermalZones } from './sources/sysfs.js';
