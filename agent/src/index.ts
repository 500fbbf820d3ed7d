/**
 * @edgefleet/agent — the device agent as a library (main.ts is the CLI around it).
 *
 * @example
 *   const config = loadAgentConfig({ file: '/etc/edgefleet-agent/config.yaml' });
 *   const agent = createAgent({ config, log: createLogger({ level: config.logLevel }), runtime });
 *   await agent.start();
 *
 * Test doubles (fake session factory, fake metrics source, manual scheduler) are in
 * `@edgefleet/agent/testing`, not here: this face is what ships.
 */
export { AGENT_VERSION, createAgent, type Agent, type AgentApi, type AgentParts, type CreateAgentOptions } from './agent.js';
export { AGENT_ENV_PREFIX, loadAgentConfig, loadAgentConfigWithIdentity, type LoadAgentConfigOptions } from './config/index.js';
export { createDeviceCredentials, createNodeDeviceIdSources, enrolDevice, rotateDeviceKey, type DeviceIdSources, type DeviceIdentity, type RotateKeyOptions } from './identity/index.js';
export { createLogger, type AgentLogger, type CreateLoggerOptions, type LogLevel } from './log/index.js';
export { createSqliteOutbox, createStateStore, openDatabase, type Outbox, type OutboxEntry, type StateStore } from './store/index.js';
export { DEPLOYMENT_EVENT_KIND, createDeploymentJournal, plan, type DeploymentEventInput, type DeploymentJournal, type Step } from './reconcile/index.js';
export { createInboundDispatcher, createMqttSession, type CreateInboundDispatcherOptions, type CreateMqttSessionOptions, type InboundDispatcher, type MqttSession } from './mqtt/index.js';
export {
  NVIDIA_SMI_ARGS,
  NVIDIA_SMI_FIELDS,
  VULKAN_LOADER_PATHS,
  createNodeHardwarePort,
  detectHardware,
  hardwareClass,
  parseDeviceTreeCompatible,
  parseDeviceTreeModel,
  parseNvidiaSmiCsv,
  parseTegraRelease,
  tegraSocFromCompatible,
  type HardwarePort,
  type NodeHardwarePortOptions,
  type NvidiaGpuReading,
  type OnnxruntimeInfo,
  type SystemInfoSnapshot,
  type TegraRelease,
  type TegraSoc,
} from './hardware/index.js';
export {
  KSERVE_TO_ORT,
  TF_DTYPES,
  createEpChoiceCache,
  createInferenceRuntime,
  createWorkerSessionFactory,
  elementCount,
  elementSize,
  float32ToHalfBits,
  fromRawBytes,
  halfBitsToFloat32,
  isKserveDatatype,
  kserveFromOrt,
  nonFiniteOutputs,
  planExecutionProviders,
  probeExecutionProviders,
  sampleInputs,
  sessionOptionsFor,
  threadCountsToTry,
  toJsonValues,
  toRawBytes,
  toTypedData,
  validateInputs,
  type CreateInferenceRuntimeOptions,
  type EpChoice,
  type EpChoiceCache,
  type EpChoiceKey,
  type EpPlan,
  type InferenceRuntime,
  type InferenceRuntimeWithEvents,
  type InferOptions,
  type InferResult,
  type KserveDatatype,
  type LoadedVersion,
  type LoadRequest,
  type ModelSession,
  type ProbeRequest,
  type ProbeResult,
  type RuntimeEvent,
  type RuntimeLogger,
  type SessionFactory,
  type SessionOptionsSpec,
  type SessionRunResult,
  type SessionSpec,
  type Tensor,
  type VersionStatus,
  type WorkerSessionFactoryOptions,
} from './inference/index.js';
export {
  createApiServer,
  createInferenceMetrics,
  kserveInfer,
  splitBinaryBody,
  type ApiServer,
  type CreateApiServerOptions,
  type InferenceMetrics,
  type KserveInferOptions,
  type KserveInferReply,
  type ServingContext,
} from './api/index.js';
export { createLiteRtSessionFactory, liteRtInfo, type LiteRtBuild, type LiteRtSessionFactory, type LiteRtSessionFactoryOptions } from './inference/litert/index.js';
export { PROTO_DIR, PROTO_FILES, createGrpcServer, type CreateGrpcServerOptions, type GrpcServer } from './api/grpc/index.js';
export {
  TELEMETRY_KIND,
  assertValidSchedule,
  createAgentTelemetry,
  createCronScheduler,
  createInferenceAccumulator,
  createMqttClientTransport,
  createOutboxSender,
  createSelfMetrics,
  createSessionTransport,
  createSystemMetricsSource,
  createTelemetryCollector,
  createTelemetryOutbox,
  mergeWindows,
  parseTegrastatsLine,
  queryNvidiaSmi,
  readJetsonGpuLoad,
  readPowerRails,
  readThermalZones,
  startTegrastatsReader,
  type AgentTelemetry,
  type AgentTelemetryDeps,
  type Clock,
  type CounterStore,
  type DeviceMetrics,
  type DropCounts,
  type FlushResult,
  type InferenceAccumulator,
  type MetricsSource,
  type OutboxSender,
  type OutboxSenderOptions,
  type OutboxTransport,
  type ScheduledJob,
  type Scheduler,
  type SelfMetrics,
  type SystemMetricsSourceOptions,
  type TegrastatsReader,
  type TegrastatsReading,
  type TelemetryCollector,
  type TelemetryCollectorOptions,
  type TelemetryOutbox,
  type TelemetryOutboxOptions,
} from './telemetry/index.js';
