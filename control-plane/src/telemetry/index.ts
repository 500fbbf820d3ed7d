/**
 * Control-plane telemetry (issue 6): ingestion with (device, seq) de-duplication, rollups and
 * retention, REST queries, Prometheus gauges and cohort health for the rollout engine.
 * See telemetry-service.ts for the wiring example.
 */
export type { CohortHealth, CohortHealthQuery, CohortHealthSource } from './cohort-health.js';
export { createTelemetryService, type TelemetryService, type TelemetryServiceOptions } from './telemetry-service.js';
export { resolveSelection, telemetryRoutes, type DeviceResolver } from './telemetry-routes.js';
export { telemetryPlugin, type TelemetryPluginOptions } from './telemetry-plugin.js';
export { TELEMETRY_MIGRATIONS, type Resolution } from './migrations.js';
export { DEFAULT_RETENTION, type RetentionPolicy } from './telemetry-writer.js';
export { histogramQuantile, mergeHistograms } from './histogram.js';
