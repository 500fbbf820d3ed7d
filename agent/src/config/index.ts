export { AGENT_ENV_PREFIX, loadAgentConfig, loadAgentConfigWithIdentity, type LoadAgentConfigOptions } from './load-agent-config.js';
