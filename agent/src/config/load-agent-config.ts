import type { Logger } from 'pino';
import { agentBootstrapConfigSchema, agentConfigSchema, loadConfig, type AgentConfig } from '@edgefleet/shared';
import { createNodeDeviceIdSources, resolveProvisionedIdentity, type DeviceIdSources } from '../identity/index.js';

export const AGENT_ENV_PREFIX = 'EDGEFLEET_AGENT_';

export interface LoadAgentConfigOptions {
  file?: string | undefined;
  env?: Record<string, string | undefined>;
  /** Command-line flags (highest precedence); undefined values are ignored. */
  dataDir?: string | undefined;
  apiPort?: number | undefined;
  /** `--grpc-port`: inference.grpcPort (0 disables the gRPC listener). */
  grpcPort?: number | undefined;
  /** `--device-id`: wins over the config and, for a provisioned agent, over its id template. */
  deviceId?: string | undefined;
}

function flagOverrides(options: LoadAgentConfigOptions): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  if (options.dataDir !== undefined) overrides.dataDir = options.dataDir;
  if (options.apiPort !== undefined) overrides.api = { port: options.apiPort };
  if (options.grpcPort !== undefined) overrides.inference = { grpcPort: options.grpcPort };
  if (options.deviceId !== undefined) overrides.deviceId = options.deviceId;
  return overrides;
}

/**
 * The agent's config compiled once: file < `EDGEFLEET_AGENT_*` env < flags, every bad field named
 * in one CONFIG_INVALID error, deep-frozen.
 *
 * @example EDGEFLEET_AGENT_BROKER__URL=mqtt://cp:1883 edgefleet-agent --config /etc/edgefleet-agent/config.yaml
 */
export function loadAgentConfig(options: LoadAgentConfigOptions, extra: Record<string, unknown> = {}): Readonly<AgentConfig> {
  return loadConfig({ schema: agentConfigSchema, file: options.file, env: options.env ?? process.env, envPrefix: AGENT_ENV_PREFIX, overrides: { ...flagOverrides(options), ...extra } });
}

/**
 * loadAgentConfig, and for a config with `provisioning`, the device identity: read from the data
 * dir, or made and enrolled on first start (which waits while an operator has not approved it).
 */
export async function loadAgentConfigWithIdentity(
  options: LoadAgentConfigOptions,
  deps: { logger: Logger; signal?: AbortSignal; sources?: DeviceIdSources; fetch?: typeof fetch },
): Promise<Readonly<AgentConfig>> {
  const boot = loadConfig({ schema: agentBootstrapConfigSchema, file: options.file, env: options.env ?? process.env, envPrefix: AGENT_ENV_PREFIX, overrides: flagOverrides(options) });
  if (!boot.provisioning) return loadAgentConfig(options);
  const { overrides } = await resolveProvisionedIdentity(
    { dataDir: boot.dataDir, deviceId: boot.deviceId, broker: boot.broker, provisioning: boot.provisioning },
    { logger: deps.logger, sources: deps.sources ?? createNodeDeviceIdSources(), ...(deps.signal ? { signal: deps.signal } : {}), ...(deps.fetch ? { fetch: deps.fetch } : {}) },
  );
  return loadAgentConfig(options, overrides);
}
