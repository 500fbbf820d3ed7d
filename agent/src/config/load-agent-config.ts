import { agentConfigSchema, loadConfig, type AgentConfig } from '@edgefleet/shared';

export const AGENT_ENV_PREFIX = 'EDGEFLEET_AGENT_';

export interface LoadAgentConfigOptions {
  file?: string | undefined;
  env?: Record<string, string | undefined>;
  /** Command-line flags (highest precedence); undefined values are ignored. */
  dataDir?: string | undefined;
  apiPort?: number | undefined;
  /** `--grpc-port`: inference.grpcPort (0 disables the gRPC listener). */
  grpcPort?: number | undefined;
}

/**
 * The agent's config compiled once: file < `EDGEFLEET_AGENT_*` env < flags, every bad field named
 * in one CONFIG_INVALID error, deep-frozen.
 *
 * @example EDGEFLEET_AGENT_BROKER__URL=mqtt://cp:1883 edgefleet-agent --config /etc/edgefleet-agent/config.yaml
 */
export function loadAgentConfig(options: LoadAgentConfigOptions): Readonly<AgentConfig> {
  const overrides: Record<string, unknown> = {};
  if (options.dataDir !== undefined) overrides.dataDir = options.dataDir;
  if (options.apiPort !== undefined) overrides.api = { port: options.apiPort };
  if (options.grpcPort !== undefined) overrides.inference = { grpcPort: options.grpcPort };
  return loadConfig({ schema: agentConfigSchema, file: options.file, env: options.env ?? process.env, envPrefix: AGENT_ENV_PREFIX, overrides });
}
