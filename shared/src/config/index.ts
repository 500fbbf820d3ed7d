export { deepFreeze, loadConfig, readConfigFile, type LoadConfigOptions } from './load-config.js';
export { agentBootstrapConfigSchema, agentConfigSchema, type AgentBootstrapConfig, type AgentConfig, type AgentConfigInput } from './agent-config.js';
export { controlPlaneConfigSchema, type ControlPlaneConfig, type ControlPlaneConfigInput } from './control-plane-config.js';
