/**
 * @edgefleet/agent — the device agent as a library (main.ts is the CLI around it).
 *
 * @example
 *   const config = loadAgentConfig({ file: '/etc/edgefleet-agent/config.yaml' });
 *   const agent = createAgent({ config, log: createLogger({ level: config.logLevel }), runtime });
 *   await agent.start();
 */
export { AGENT_VERSION, createAgent, type Agent, type AgentApi, type AgentParts, type CreateAgentOptions } from './agent.js';
export { loadAgentConfig, loadAgentConfigWithIdentity, type LoadAgentConfigOptions } from './config/index.js';
export { createNodeDeviceIdSources, enrolDevice, type DeviceIdSources, type DeviceIdentity } from './identity/index.js';
export { createLogger, type AgentLogger } from './log/index.js';
export { createSqliteOutbox, createStateStore, openDatabase, type Outbox, type OutboxEntry, type StateStore } from './store/index.js';
export { plan, type Step } from './reconcile/index.js';
export * from './hardware/index.js';
export * from './inference/index.js';
export * from './inference/litert/index.js';
export * from './api/index.js';
export * from './telemetry/index.js';
