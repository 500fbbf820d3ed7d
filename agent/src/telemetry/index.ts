/**
 * Agent telemetry (issue 6): collection on a schedule into the durable outbox. The agent's one
 * outbox sender (agent/src/mqtt/outbox-sender.ts) publishes it, after deployment events.
 *
 * @example (in createAgent, after the store, the sender and the window hub exist)
 *   const telemetry = createAgentTelemetry({ config, db, store, outbox, sender, windows, logger });
 *   telemetry.start();                              // stop: await telemetry.stop() before session.close()
 */
export { createAgentTelemetry, type AgentTelemetry, type AgentTelemetryDeps } from './agent-telemetry.js';
export { createTelemetryCollector, type TelemetryCollector, type TelemetryCollectorOptions } from './telemetry-collector.js';
export { createTelemetryOutbox, TELEMETRY_KIND, type CounterStore, type DropCounts, type TelemetryOutbox, type TelemetryOutboxOptions } from './telemetry-outbox.js';
export { createInferenceAccumulator, mergeWindows, type InferenceAccumulator } from './inference-accumulator.js';
// The sender lives with the transport; re-exported here, where telemetry's users have always found it.
export {
  createMqttClientTransport,
  createOutboxSender,
  createSessionTransport,
  type Clock,
  type FlushResult,
  type OutboxSender,
  type OutboxSenderOptions,
  type OutboxStream,
  type OutboxTransport,
} from '../mqtt/index.js';
export { assertValidSchedule, createCronScheduler, createManualScheduler, type ManualScheduler, type ScheduledJob, type Scheduler } from './scheduler.js';
export { createFakeMetricsSource, createSystemMetricsSource, type DeviceMetrics, type MetricsSource, type SystemMetricsSourceOptions } from './metrics-source.js';
export { createSelfMetrics, type SelfMetrics } from './self-metrics.js';
export { parseTegrastatsLine, type TegrastatsReading } from './sources/tegrastats.js';
export { startTegrastatsReader, type TegrastatsReader } from './sources/tegrastats-reader.js';
export { queryNvidiaSmi } from './sources/nvidia-smi.js';
export { readJetsonGpuLoad, readPowerRails, readThermalZones } from './sources/sysfs.js';
