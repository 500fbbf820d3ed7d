/**
 * @edgefleet/control-plane — the fleet server: embedded broker, registries, artifact service, REST API, CLI.
 *
 * @example
 *   const cp = createControlPlane({ config: controlPlaneConfigSchema.parse({ dataDir: '/var/lib/edgefleet' }), plugins: [myPlugin] });
 *   await cp.start();
 *   cp.bus.on('telemetry', ({ deviceId, payload }) => ingest(deviceId, payload));
 *   await cp.desired.setDeviceModels('cam-01', [await cp.models.desiredModel('text-cls', '1.0.0')]);
 *   await cp.stop();
 *
 * In-memory rollout ports for tests and simulations are in `@edgefleet/control-plane/testing`.
 */
export { createControlPlane, readAdminToken, type ControlPlane, type ControlPlaneContext, type ControlPlaneState, type CreateControlPlaneOptions } from './control-plane.js';
export type { ControlPlanePlugin, PluginContext, PluginHandle, PluginStore } from './plugin.js';
export { ROLLOUT_COHORTS, TELEMETRY_SERVICE, createPluginServices, serviceKey, type PluginServices, type RolloutCohorts, type ServiceKey } from './plugin-services.js';
export { builtinPlugins, builtinCliExtensions } from './plugins.js';
export { systemClock, type Clock } from './clock.js';
export type { Store, StoreOptions } from './store/store.js';
export { createStore, createStoreFromDatabase, openSqlDatabase } from './store/store.js';
export type { SqlDatabase, SqlValue, TransactionOutcome } from './store/sql-database.js';
export { createSqliteDatabase } from './store/sqlite-database.js';
export { migrate } from './store/migrations.js';
export { connectDeviceBus, type DeviceBus, type DeviceBusOptions, type DeviceMessage, type DeviceMessageHandler, type DeviceChannelPayloads, type DeviceHandlerOptions } from './broker/device-bus.js';
export { CONTROL_PLANE_USERNAME, TOKEN_USERNAME, createBrokerAuth, type BrokerAuth, type BrokerPrincipal } from './broker/broker-auth.js';
export { createDesiredStatePublisher, type DesiredStatePublisher } from './devices/desired-state-publisher.js';
export type { CommandSender, CommandInput } from './devices/command-sender.js';
export type { DeviceRegistry } from './registry/device-registry.js';
export type { ModelRegistry, PushModelInput } from './registry/model-registry.js';
export type { TokenService } from './auth/token-service.js';
export type { ArtifactStore } from './artifacts/artifact-store.js';
export { inspectOnnx } from './artifacts/onnx-inspector.js';
export { inspectModel } from './artifacts/inspect-model.js';
export { inspectTflite } from './artifacts/tflite-inspector.js';
export { defineRoute, type RouteSpec, type AnyRouteSpec, type RouteAccess, type RouteContext } from './api/route-registry.js';
export type { ApiServer } from './api/api-server.js';
export type { Principal } from './api/principal.js';
export type { ControlPlaneMetrics } from './api/metrics.js';
export { createApiClient, type ApiClient, type ApiClientOptions } from './cli/api-client.js';
export type { CliContext, CliExtension } from './cli/cli-extension.js';
export { table, json as formatJson, formatCliError, type CliIo } from './cli/output.js';
export {
  DEFAULT_RETENTION,
  TELEMETRY_MIGRATIONS,
  createTelemetryService,
  histogramQuantile,
  mergeHistograms,
  resolveSelection,
  telemetryPlugin,
  telemetryRoutes,
  type CohortHealth,
  type CohortHealthQuery,
  type CohortHealthSource,
  type DeviceResolver,
  type Resolution,
  type RetentionPolicy,
  type TelemetryPluginOptions,
  type TelemetryService,
  type TelemetryServiceOptions,
} from './telemetry/index.js';
export {
  ROLLOUT_MIGRATIONS,
  createRolloutEngine,
  createRolloutOperations,
  createRolloutService,
  createRolloutStore,
  desiredStatePortFrom,
  dryRun,
  followRollout,
  formatWaitSummary,
  notifyDevice,
  planWaves,
  rolloutCliExtension,
  rolloutPlugin,
  rolloutPortsFrom,
  runRolloutCli,
  systemRolloutClock,
  waitSummary,
  type DeploymentEventSource,
  type DesiredStatePort,
  type DeviceDirectory,
  type DryRunInput,
  type FleetDevice,
  type FollowOptions,
  type FollowResult,
  type ModelCatalog,
  type ModelRequirements,
  type RealRolloutDeps,
  type RolloutAuditEntry,
  type RolloutAuditLog,
  type RolloutClock,
  type RolloutEngine,
  type RolloutEngineOptions,
  type RolloutOperations,
  type RolloutPluginOptions,
  type RolloutPorts,
  type RolloutRow,
  type RolloutService,
  type RolloutServiceOptions,
  type RolloutStore,
  type WavePlan,
} from './rollout/index.js';
export {
  DEFAULT_ACCURACY_THRESHOLDS,
  FP16_KEEP_FLOAT32,
  OLDEST_UPGRADABLE_OPSET,
  QUANTIZED_OPSET,
  calibrate,
  checkAccuracy,
  convertToFp16,
  feedsFromRequest,
  jitteredCopies,
  quantizeDynamicInt8,
  quantizeStaticInt8,
  thresholdFailures,
  type AccuracyReport,
  type AccuracyThresholds,
  type CalibrationMethod,
  type DynamicInt8Options,
  type Feeds,
  type RewriteReport,
  type StaticInt8Options,
  type StaticRewriteReport,
  type TensorRange,
} from './quantize/index.js';
export { variantsPlugin } from './registry/variants-plugin.js';
export type { VariantRegistry } from './registry/variant-registry.js';
export { buildCli, runCli, type BuildCliOptions } from './cli/program.js';
export { provisioningPlugin, type ProvisioningPluginOptions } from './provisioning/provisioning-plugin.js';
export type { ProvisioningService } from './provisioning/provisioning-service.js';
export * from './lease/index.js';
