export { AGENT_ENV_PREFIX, loadAgentConfig, type LoadAgentConfigOptions } from './load-agent-config.js';
