import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { EdgefleetError, type AgentConfig } from '@edgefleet/shared';
import { deviceIdFromTemplate, type DeviceIdSources } from './device-id.js';
import { enrolDevice } from './enrol.js';
import { identityFiles, loadOrCreateDeviceKey, readIdentity, writeIdentity, type DeviceIdentity } from './identity-store.js';

/** The part of the config known before enrolment: everything but the device id and broker may be set. */
export interface BootstrapConfig {
  dataDir: string;
  deviceId?: string | undefined;
  broker?: Partial<AgentConfig['broker']> | undefined;
  provisioning?: AgentConfig['provisioning'];
}

export interface ResolvedIdentity {
  /** Overrides for the full config: device id, broker URL and user, the key that signs passwords. */
  overrides: Pick<AgentConfig, 'deviceId'> & { broker: { url?: string; username: string }; identity: { keyFile: string; tokenLifetimeS: number } };
  identity: DeviceIdentity;
  enrolledNow: boolean;
}

/**
 * For an agent configured with a provisioning key: the identity in its data dir, or — on first
 * start — a key pair made here, a device id from --device-id / EDGEFLEET_AGENT_DEVICE_ID or the
 * id template, and an enrolment at the control plane. The identity is written atomically after the
 * control plane accepted it, so a crash in between re-enrols with the same key (idempotent).
 */
export async function resolveProvisionedIdentity(
  config: BootstrapConfig & { provisioning: NonNullable<AgentConfig['provisioning']> },
  deps: { logger: Logger; sources: DeviceIdSources; signal?: AbortSignal; fetch?: typeof fetch },
): Promise<ResolvedIdentity> {
  const files = identityFiles(config.dataDir);
  let identity = await readIdentity(files);
  let enrolledNow = false;
  if (identity && config.deviceId && config.deviceId !== identity.deviceId) {
    throw new EdgefleetError('CONFIG_INVALID', `this data dir (${config.dataDir}) holds the identity of ${identity.deviceId}, but the device id given is ${config.deviceId}; remove ${files.dir} to enrol anew`);
  }
  if (!identity) {
    const deviceId = config.deviceId ?? (await deviceIdFromTemplate(config.provisioning.deviceIdTemplate, deps.sources));
    const keys = await loadOrCreateDeviceKey(files);
    deps.logger.info({ deviceId, server: config.provisioning.serverUrl }, 'no identity yet: enrolling with the provisioning key');
    const reply = await enrolDevice({
      serverUrl: config.provisioning.serverUrl,
      provisioningKey: config.provisioning.key,
      deviceId,
      keys,
      hostname: hostname(),
      logger: deps.logger,
      ...(deps.signal ? { signal: deps.signal } : {}),
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
    identity = {
      deviceId: reply.deviceId,
      brokerUrl: reply.broker.url,
      username: reply.broker.username,
      tokenLifetimeS: reply.tokenLifetimeS,
      enrolledAt: new Date().toISOString(),
      serverUrl: config.provisioning.serverUrl,
    };
    await writeIdentity(files, identity);
    enrolledNow = true;
  }
  return {
    identity,
    enrolledNow,
    overrides: {
      deviceId: identity.deviceId,
      // A broker URL in the image's config wins: the device may reach the broker by another route than the control plane sees.
      broker: { ...(config.broker?.url ? {} : { url: identity.brokerUrl }), username: identity.username },
      identity: { keyFile: files.keyFile, tokenLifetimeS: Math.min(600, identity.tokenLifetimeS) },
    },
  };
}
