import {
  EdgefleetError,
  agentConfigSchema,
  createDevicesBulkRequestSchema,
  parseTagList,
  type ProvisionedAgentConfig,
  type CreateDeviceRequest,
  type Device,
  type DeviceDetail,
  type DeviceListQuery,
  type ProvisionedDevice,
} from '@edgefleet/shared';
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { DeviceRow } from '../store/repositories.js';
import type { Store } from '../store/store.js';
import { generateSecret, hashSecret, verifySecret } from '../auth/secrets.js';

export interface DeviceRegistry {
  /** Provisions one or many devices atomically; each secret appears only in this reply. */
  add(requests: readonly CreateDeviceRequest[]): Promise<ProvisionedDevice[]>;
  list(query?: DeviceListQuery): Promise<Device[]>;
  /** Throws DEVICE_NOT_FOUND. */
  get(id: string): Promise<DeviceDetail>;
  /** Throws DEVICE_NOT_FOUND. */
  remove(id: string): Promise<void>;
  /**
   * Issues a secret-provisioned device a new secret (in this reply only); the old one stops
   * verifying at once. Throws DEVICE_NOT_FOUND, or DEVICE_KEY_BOUND for a device that enrolled with its own key.
   */
  rotateSecret(id: string): Promise<ProvisionedDevice>;
  /** Checks a device's MQTT/HTTP credentials (salted SHA-256; successes are cached by secret digest). */
  verifyCredentials(id: string, secret: string): Promise<boolean>;
  /** What a device's agent config should contain besides its id and secret. */
  agentConfigFor(id: string, secret: string): ProvisionedAgentConfig;
  /** The broker URL devices are told to use. */
  brokerUrl(): string;
  /**
   * Adds a way to check device passwords of another form (device-key tokens, provisioning plugin):
   * a password it `claims` is checked by it alone, never against the stored secret.
   */
  addCredentialScheme(scheme: DeviceCredentialScheme): void;
}

export interface DeviceCredentialScheme {
  claims(password: string): boolean;
  verify(deviceId: string, password: string): Promise<boolean>;
}

/**
 * The secret hash of a device that has no secret (it enrolled with its own key): no password
 * verifies against it, so the store holds nothing that lets anyone speak as the device.
 */
export const NO_SECRET = 'none$device-key';

export interface DeviceRegistryOptions {
  store: Store;
  clock: Clock;
  fleetPublicKeyPem: string;
  /** Broker URL written into generated agent configs. */
  brokerUrl: () => string;
  caFile?: string | undefined;
}

export function toDevice(row: DeviceRow, desiredGeneration?: number): Device {
  const models: Record<string, string> = {};
  for (const m of row.reported?.models ?? []) if (m.active) models[m.name] = m.active;
  return {
    id: row.id,
    tags: row.tags,
    createdAt: row.createdAt,
    status: row.status,
    lastSeen: row.lastSeen,
    agentVersion: row.agentVersion,
    models,
    desiredGeneration,
    appliedGeneration: row.reported?.appliedGeneration,
  };
}

function matches(device: Device, query: DeviceListQuery, tags: Record<string, string> | undefined): boolean {
  if (query.status && device.status !== query.status) return false;
  if (tags && Object.entries(tags).some(([k, v]) => device.tags[k] !== v)) return false;
  if (query.model) {
    const [name, version] = query.model.split('@') as [string, string | undefined];
    const active = device.models[name];
    if (active === undefined || (version !== undefined && active !== version)) return false;
  }
  return true;
}

export function createDeviceRegistry(options: DeviceRegistryOptions): DeviceRegistry {
  const { store, clock } = options;
  // device id → sha256(secret) of the last secret that verified, so a reconnect storm after a
  // broker restart does not read the store once per device.
  const verified = new Map<string, string>();
  const digest = (secret: string): string => createHash('sha256').update(secret).digest('hex');

  const schemes: DeviceCredentialScheme[] = [];

  const registry: DeviceRegistry = {
    brokerUrl: () => options.brokerUrl(),
    addCredentialScheme(scheme) {
      schemes.push(scheme);
    },
    agentConfigFor(id, secret) {
      const config: ProvisionedAgentConfig = {
        deviceId: id,
        broker: { url: options.brokerUrl(), username: id, password: secret, ...(options.caFile ? { caFile: options.caFile } : {}) },
        fleetPublicKey: options.fleetPublicKeyPem,
      };
      agentConfigSchema.parse(config);
      return config;
    },

    async add(requests) {
      const { devices } = createDevicesBulkRequestSchema.parse({ devices: requests });
      const ids = devices.map((d) => d.id);
      const duplicates = ids.filter((id, i) => ids.indexOf(id) !== i);
      if (duplicates.length) throw new EdgefleetError('PAYLOAD_INVALID', `device ids repeated in the request: ${[...new Set(duplicates)].join(', ')}`);
      const existing = await store.devices.existing(ids);
      if (existing.length) throw new EdgefleetError('DEVICE_EXISTS', `already registered: ${existing.join(', ')}`, { details: { ids: existing } });
      const createdAt = clock.now().toISOString();
      const prepared = await Promise.all(
        devices.map(async (d) => {
          const secret = generateSecret();
          return { id: d.id, tags: d.tags, createdAt, secret, secretHash: await hashSecret(secret) };
        }),
      );
      try {
        await store.devices.insert(prepared);
      } catch (cause) {
        // A concurrent add of the same id loses the race here rather than in the check above.
        const raced = await store.devices.existing(ids);
        if (raced.length) throw new EdgefleetError('DEVICE_EXISTS', `already registered: ${raced.join(', ')}`, { cause });
        throw cause;
      }
      return prepared.map((d) => ({
        device: { id: d.id, tags: d.tags, createdAt, status: 'never-seen', models: {} },
        secret: d.secret,
        agentConfig: registry.agentConfigFor(d.id, d.secret),
      }));
    },

    async list(query = {}) {
      const tags = query.tag ? parseTagList(query.tag) : undefined;
      const desired = new Map((await store.desired.all()).map((s) => [s.deviceId, s.generation]));
      return (await store.devices.list()).map((row) => toDevice(row, desired.get(row.id))).filter((d) => matches(d, query, tags));
    },

    async get(id) {
      const row = await store.devices.get(id);
      if (!row) throw new EdgefleetError('DEVICE_NOT_FOUND', `no device with id ${id}`);
      const desired = await store.desired.get(id);
      return { ...toDevice(row, desired?.generation), reported: row.reported, desired };
    },

    async remove(id) {
      verified.delete(id);
      if (!(await store.devices.remove(id))) throw new EdgefleetError('DEVICE_NOT_FOUND', `no device with id ${id}`);
    },

    async rotateSecret(id) {
      const row = await store.devices.get(id);
      if (!row) throw new EdgefleetError('DEVICE_NOT_FOUND', `no device with id ${id}`);
      if (row.secretHash === NO_SECRET) throw new EdgefleetError('DEVICE_KEY_BOUND', `${id} signs in with its own key, not a secret: revoke the key (devices rotate ${id} --revoke-key) or let the agent rotate it`);
      const secret = generateSecret();
      verified.delete(id);
      if (!(await store.devices.setSecretHash(id, await hashSecret(secret)))) throw new EdgefleetError('DEVICE_NOT_FOUND', `no device with id ${id}`);
      const desired = await store.desired.get(id);
      // Only the secret's hash changed: the row read above is the device as it is now.
      return { device: toDevice(row, desired?.generation), secret, agentConfig: registry.agentConfigFor(id, secret) };
    },

    async verifyCredentials(id, secret) {
      const row = await store.devices.get(id);
      if (!row) return false;
      // Tokens expire, so they are never cached like secrets.
      const scheme = schemes.find((s) => s.claims(secret));
      if (scheme) return await scheme.verify(id, secret);
      const d = digest(`${row.secretHash}\n${secret}`);
      if (verified.get(id) === d) return true;
      const ok = await verifySecret(secret, row.secretHash);
      if (ok) verified.set(id, d);
      return ok;
    },
  };
  return registry;
}
