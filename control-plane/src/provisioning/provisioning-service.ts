import { randomUUID } from 'node:crypto';
import {
  DEVICE_TOKEN_PREFIX,
  EdgefleetError,
  checkDeviceToken,
  createProvisioningKeyRequestSchema,
  deviceKeyFingerprint,
  normaliseDevicePublicKey,
  verifyEnrolmentProof,
  verifyKeyRotation,
  type CreateProvisioningKeyRequest,
  type Device,
  type DeviceKeyChange,
  type DeviceTags,
  type EnrolReply,
  type EnrolRequest,
  type PendingEnrolment,
  type ProvisioningKey,
  type RotateKeyRequest,
} from '@edgefleet/shared';
import type { Logger } from 'pino';
import { generateSecret, hashToken } from '../auth/secrets.js';
import type { Clock } from '../clock.js';
import { NO_SECRET, type DeviceRegistry } from '../registry/device-registry.js';
import type { PluginStore } from '../plugin.js';
import type { PendingEnrolmentRow, ProvisioningKeyRow, ProvisioningStore } from './provisioning-store.js';

export const PROVISIONING_KEY_PREFIX = 'efp_';

/** How long a device's public key is trusted from memory before the table is read again. */
const KEY_CACHE_MS = 10_000;

export interface ProvisioningOptions {
  /** Longest device-token lifetime the broker accepts. @default 3600 */
  tokenLifetimeS?: number;
  /** How far an enrolment proof's time may be from this server's clock. @default 600 */
  proofWindowS?: number;
  /** What a pending device is told to wait before asking again. @default 15 */
  pendingRetryS?: number;
}

export interface ProvisioningService {
  createKey(request: CreateProvisioningKeyRequest, createdBy: string): Promise<{ key: string; provisioningKey: ProvisioningKey }>;
  listKeys(): Promise<ProvisioningKey[]>;
  /** Throws PROVISIONING_KEY_NOT_FOUND; revoking twice is a no-op. */
  revokeKey(id: string): Promise<ProvisioningKey>;
  /** Refusals are EdgefleetErrors with their own codes; nothing is written for a refused enrolment. */
  enrol(request: EnrolRequest, source: string): Promise<EnrolReply>;
  pending(): Promise<PendingEnrolment[]>;
  approve(deviceId: string): Promise<Device>;
  reject(deviceId: string): Promise<PendingEnrolment>;
  /**
   * An enrolled device replaces its key: the registered key signs the change, the new key signs it
   * too. Tokens of the old key are refused from then on. Throws DEVICE_KEY_NOT_FOUND, KEY_ROTATION_PROOF_INVALID.
   */
  rotateKey(deviceId: string, request: RotateKeyRequest, source: string): Promise<DeviceKeyChange>;
  /**
   * An operator revokes a device's key: its tokens are refused at once and it must enrol again with
   * a provisioning key (keeping its id, tags and desired state). Throws DEVICE_NOT_FOUND, DEVICE_KEY_NOT_FOUND.
   */
  revokeDeviceKey(deviceId: string): Promise<DeviceKeyChange>;
  /** The broker/HTTP password check for devices that enrolled with a key. */
  verifyDeviceToken(deviceId: string, token: string): Promise<boolean>;
  /** The key id a provisioning key belongs to, when it is one (for per-key rate limits). */
  keyIdOf(provisioningKey: string): Promise<string | undefined>;
}

function keyStatus(k: ProvisioningKeyRow, nowMs: number): ProvisioningKey['status'] {
  if (k.revokedAt) return 'revoked';
  if (k.expiresAt && Date.parse(k.expiresAt) <= nowMs) return 'expired';
  if (k.maxUses !== undefined && k.uses >= k.maxUses) return 'exhausted';
  return 'active';
}

function publicKeyRecord(k: ProvisioningKeyRow, nowMs: number): ProvisioningKey {
  const { keyHash: _hash, ...rest } = k;
  return { ...rest, status: keyStatus(k, nowMs) };
}

const publicPending = ({ publicKey: _key, fingerprint, ...rest }: PendingEnrolmentRow): PendingEnrolment => ({ ...rest, keyFingerprint: fingerprint });

export function createProvisioningService(deps: {
  store: PluginStore;
  provisioning: ProvisioningStore;
  devices: DeviceRegistry;
  clock: Clock;
  logger: Logger;
  options?: ProvisioningOptions;
}): ProvisioningService {
  const { store, provisioning, devices, clock, logger } = deps;
  const tokenLifetimeS = deps.options?.tokenLifetimeS ?? 3600;
  const proofWindowS = deps.options?.proofWindowS ?? 600;
  const pendingRetryS = deps.options?.pendingRetryS ?? 15;
  // device id → public key PEM; a miss or a failed check reads the table again (another replica may
  // have re-enrolled it), and so does an entry older than KEY_CACHE_MS, so a key rotated or revoked
  // on another replica stops verifying here within that time.
  const publicKeys = new Map<string, { pem: string; at: number }>();
  const cacheKey = (deviceId: string, pem: string): void => void publicKeys.set(deviceId, { pem, at: clock.now().getTime() });
  /** A device row with no secret and no key: an operator revoked its key, it may enrol again. */
  const keyRevoked = (row: { secretHash: string } | undefined, key: unknown): boolean => row !== undefined && row.secretHash === NO_SECRET && !key;

  const refuse = (code: ConstructorParameters<typeof EdgefleetError>[0], message: string, audit: Record<string, unknown>, security = 'enrolment-refused'): never => {
    logger.warn({ security, code, ...audit }, message);
    throw new EdgefleetError(code, message, { details: { deviceId: audit.deviceId } });
  };

  const enrolledReply = (deviceId: string, tags: DeviceTags): EnrolReply => ({
    status: 'enrolled',
    deviceId,
    broker: { url: devices.brokerUrl(), username: deviceId },
    tokenLifetimeS,
    tags,
  });

  /** Creates the device and its key in one transaction; a use of the key is taken in it too unless already taken (pending). */
  async function admit(p: { deviceId: string; publicKey: string; fingerprint: string; key: ProvisioningKeyRow; tags: DeviceTags; useTaken: boolean; reenrol?: boolean }): Promise<void> {
    const at = clock.now().toISOString();
    await store.transaction(async () => {
      if (!p.useTaken && !(await provisioning.takeUse(p.key.id))) {
        throw new EdgefleetError('PROVISIONING_KEY_EXHAUSTED', `provisioning key ${p.key.id} has enrolled its ${p.key.maxUses} devices`);
      }
      // A device whose key was revoked keeps its row (tags, desired state); only its key is new.
      if (!p.reenrol) await store.devices.insert([{ id: p.deviceId, secretHash: NO_SECRET, tags: p.tags, createdAt: at }]);
      await provisioning.deleteDeviceKey(p.deviceId);
      await provisioning.insertDeviceKey({ deviceId: p.deviceId, publicKey: p.publicKey, fingerprint: p.fingerprint, provisioningKeyId: p.key.id, enrolledAt: at });
      await provisioning.deletePending(p.deviceId);
    });
    cacheKey(p.deviceId, p.publicKey);
  }

  return {
    async createKey(request, createdBy) {
      const r = createProvisioningKeyRequestSchema.parse(request);
      const now = clock.now();
      const key = generateSecret(PROVISIONING_KEY_PREFIX);
      const row: ProvisioningKeyRow = {
        id: randomUUID(),
        name: r.name,
        keyHash: hashToken(key),
        tags: r.tags,
        maxUses: r.maxUses,
        uses: 0,
        expiresAt: r.expiresInS !== undefined ? new Date(now.getTime() + r.expiresInS * 1000).toISOString() : undefined,
        requireApproval: r.requireApproval,
        createdAt: now.toISOString(),
        createdBy,
      };
      await provisioning.insertKey(row);
      logger.info({ provisioningKey: row.id, tags: row.tags, maxUses: row.maxUses, expiresAt: row.expiresAt, requireApproval: row.requireApproval }, 'provisioning key created');
      return { key, provisioningKey: publicKeyRecord(row, now.getTime()) };
    },

    async listKeys() {
      const now = clock.now().getTime();
      return (await provisioning.keys()).map((k) => publicKeyRecord(k, now));
    },

    async revokeKey(id) {
      if (!(await provisioning.revokeKey(id, clock.now().toISOString()))) throw new EdgefleetError('PROVISIONING_KEY_NOT_FOUND', `no provisioning key with id ${id}`);
      const row = (await provisioning.keys()).find((k) => k.id === id)!;
      logger.info({ provisioningKey: id }, 'provisioning key revoked');
      return publicKeyRecord(row, clock.now().getTime());
    },

    async keyIdOf(provisioningKey) {
      return (await provisioning.keyByHash(hashToken(provisioningKey)))?.id;
    },

    async enrol(request, source) {
      const { deviceId } = request;
      const audit = { deviceId, source };
      const nowMs = clock.now().getTime();
      const key = await provisioning.keyByHash(hashToken(request.provisioningKey));
      if (!key) return refuse('PROVISIONING_KEY_INVALID', 'unknown provisioning key', audit);
      const keyAudit = { ...audit, provisioningKey: key.id };
      // Possession of the presented key, for this provisioning key, recently, once.
      const skewS = Math.abs(Date.parse(request.at) - nowMs) / 1000;
      if (!(skewS <= proofWindowS)) return refuse('ENROLMENT_PROOF_INVALID', `the proof's time is ${Math.round(skewS)} s from the server's clock (at most ${proofWindowS} s)`, keyAudit);
      if (!verifyEnrolmentProof(request, request.proof)) return refuse('ENROLMENT_PROOF_INVALID', 'the proof is not signed by the presented key', keyAudit);
      const publicKey = normaliseDevicePublicKey(request.publicKey);
      const fingerprint = deviceKeyFingerprint(publicKey);
      const fpAudit = { ...keyAudit, fingerprint };
      if (!(await provisioning.useNonce(request.nonce, nowMs, proofWindowS * 2000))) return refuse('ENROLMENT_PROOF_INVALID', 'the proof was used before (replayed enrolment)', fpAudit);

      const existing = await store.devices.get(deviceId);
      const enrolled = await provisioning.deviceKey(deviceId);
      const reenrol = keyRevoked(existing, enrolled);
      if (existing && !reenrol) {
        if (enrolled?.fingerprint === fingerprint) {
          logger.info(fpAudit, 'enrolment repeated by an enrolled device: unchanged');
          return enrolledReply(deviceId, existing.tags);
        }
        return refuse('DEVICE_ID_TAKEN', `device id ${deviceId} is already registered with another key`, { ...fpAudit, registeredFingerprint: enrolled?.fingerprint ?? 'secret' });
      }

      const pending = await provisioning.pending(deviceId);
      if (pending) {
        if (pending.fingerprint !== fingerprint) return refuse('DEVICE_ID_TAKEN', `device id ${deviceId} is waiting for approval with another key`, { ...fpAudit, pendingFingerprint: pending.fingerprint });
        if (pending.status === 'rejected') return refuse('ENROLMENT_REJECTED', `an operator rejected the enrolment of ${deviceId}`, fpAudit);
        await provisioning.touchPending(deviceId, new Date(nowMs).toISOString());
        return { status: 'pending', deviceId, retryAfterS: pendingRetryS };
      }

      const status = keyStatus(key, nowMs);
      if (status === 'revoked') return refuse('PROVISIONING_KEY_REVOKED', `provisioning key ${key.id} was revoked`, fpAudit);
      if (status === 'expired') return refuse('PROVISIONING_KEY_EXPIRED', `provisioning key ${key.id} expired at ${key.expiresAt}`, fpAudit);
      if (status === 'exhausted') return refuse('PROVISIONING_KEY_EXHAUSTED', `provisioning key ${key.id} has enrolled its ${key.maxUses} devices`, fpAudit);

      if (key.requireApproval) {
        // The use is taken now, so a flood of pending requests cannot outgrow --max-uses.
        if (!(await provisioning.takeUse(key.id))) return refuse('PROVISIONING_KEY_EXHAUSTED', `provisioning key ${key.id} has enrolled its ${key.maxUses} devices`, fpAudit);
        const at = new Date(nowMs).toISOString();
        await provisioning.insertPending({
          deviceId,
          publicKey,
          fingerprint,
          provisioningKeyId: key.id,
          tags: key.tags,
          requestedAt: at,
          lastSeenAt: at,
          source,
          hostname: request.hostname,
          status: 'pending',
        });
        logger.info(fpAudit, 'enrolment waiting for approval');
        return { status: 'pending', deviceId, retryAfterS: pendingRetryS };
      }
      try {
        await admit({ deviceId, publicKey, fingerprint, key, tags: existing?.tags ?? key.tags, useTaken: false, reenrol });
      } catch (err) {
        if (err instanceof EdgefleetError && err.code === 'PROVISIONING_KEY_EXHAUSTED') return refuse(err.code, err.message, fpAudit);
        // Two enrolments of one id racing: the loser sees the winner's row.
        if (!reenrol && (await store.devices.get(deviceId))) return refuse('DEVICE_ID_TAKEN', `device id ${deviceId} was registered concurrently`, fpAudit);
        throw err;
      }
      const tags = existing?.tags ?? key.tags;
      logger.info({ ...fpAudit, tags, reenrol }, reenrol ? 'device enrolled again after its key was revoked' : 'device enrolled');
      return enrolledReply(deviceId, tags);
    },

    async pending() {
      return (await provisioning.pendingList()).map(publicPending);
    },

    async approve(deviceId) {
      const pending = await provisioning.pending(deviceId);
      if (!pending) throw new EdgefleetError('DEVICE_NOT_FOUND', `no enrolment of ${deviceId} is waiting for approval`);
      const key = (await provisioning.keys()).find((k) => k.id === pending.provisioningKeyId);
      if (!key) throw new EdgefleetError('PROVISIONING_KEY_NOT_FOUND', `the provisioning key of ${deviceId}'s enrolment is gone`);
      const existing = await store.devices.get(deviceId);
      const reenrol = keyRevoked(existing, existing && (await provisioning.deviceKey(deviceId)));
      if (existing && !reenrol) throw new EdgefleetError('DEVICE_ID_TAKEN', `device id ${deviceId} is already registered`);
      await admit({ deviceId, publicKey: pending.publicKey, fingerprint: pending.fingerprint, key, tags: pending.tags, useTaken: true, reenrol });
      logger.info({ deviceId, fingerprint: pending.fingerprint }, 'enrolment approved');
      return (await devices.get(deviceId)) satisfies Device;
    },

    async reject(deviceId) {
      if (!(await provisioning.setPendingStatus(deviceId, 'rejected'))) throw new EdgefleetError('DEVICE_NOT_FOUND', `no enrolment of ${deviceId} is waiting for approval`);
      logger.info({ deviceId }, 'enrolment rejected');
      return publicPending((await provisioning.pending(deviceId))!);
    },

    async rotateKey(deviceId, request, source) {
      const nowMs = clock.now().getTime();
      const audit = { deviceId, source };
      const refuseRotation = (code: ConstructorParameters<typeof EdgefleetError>[0], message: string, details: Record<string, unknown>): never => refuse(code, message, details, 'key-rotation-refused');
      const current = await provisioning.deviceKey(deviceId);
      if (!current) return refuseRotation('DEVICE_KEY_NOT_FOUND', `${deviceId} has no registered key to rotate (it uses a secret, or its key was revoked)`, audit);
      const keyAudit = { ...audit, fingerprint: current.fingerprint };
      const skewS = Math.abs(Date.parse(request.at) - nowMs) / 1000;
      if (!(skewS <= proofWindowS)) return refuseRotation('KEY_ROTATION_PROOF_INVALID', `the proof's time is ${Math.round(skewS)} s from the server's clock (at most ${proofWindowS} s)`, keyAudit);
      const claim = { deviceId, newPublicKey: request.newPublicKey, at: request.at, nonce: request.nonce };
      if (!verifyKeyRotation(claim, current.publicKey, request)) return refuseRotation('KEY_ROTATION_PROOF_INVALID', 'the rotation is not signed by both the registered key and the new key', keyAudit);
      const publicKey = normaliseDevicePublicKey(request.newPublicKey);
      const fingerprint = deviceKeyFingerprint(publicKey);
      const fpAudit = { ...keyAudit, newFingerprint: fingerprint };
      if (!(await provisioning.useNonce(request.nonce, nowMs, proofWindowS * 2000))) return refuseRotation('KEY_ROTATION_PROOF_INVALID', 'the proof was used before (replayed rotation)', fpAudit);
      if (fingerprint === current.fingerprint) return { deviceId, fingerprint, previousFingerprint: current.fingerprint };
      const swapped = await store.transaction(async () => {
        // Two rotations signed by the same old key racing: only the first replaces it.
        if ((await provisioning.deviceKey(deviceId))?.fingerprint !== current.fingerprint) return false;
        await provisioning.deleteDeviceKey(deviceId);
        await provisioning.insertDeviceKey({ ...current, publicKey, fingerprint, enrolledAt: new Date(nowMs).toISOString() });
        return true;
      });
      if (!swapped) return refuseRotation('KEY_ROTATION_PROOF_INVALID', 'the key this proof names was replaced concurrently', fpAudit);
      cacheKey(deviceId, publicKey);
      logger.info({ security: 'device-key-rotated', ...fpAudit }, 'device key rotated');
      return { deviceId, fingerprint, previousFingerprint: current.fingerprint };
    },

    async revokeDeviceKey(deviceId) {
      if (!(await store.devices.get(deviceId))) throw new EdgefleetError('DEVICE_NOT_FOUND', `no device with id ${deviceId}`);
      const current = await provisioning.deviceKey(deviceId);
      if (!current) throw new EdgefleetError('DEVICE_KEY_NOT_FOUND', `${deviceId} has no registered key (it uses a secret, or its key was already revoked)`);
      await provisioning.deleteDeviceKey(deviceId);
      publicKeys.delete(deviceId);
      logger.info({ security: 'device-key-revoked', deviceId, fingerprint: current.fingerprint }, 'device key revoked: the device must enrol again');
      return { deviceId, previousFingerprint: current.fingerprint };
    },

    async verifyDeviceToken(deviceId, token) {
      const nowMs = clock.now().getTime();
      const check = (publicKeyPem: string) => checkDeviceToken(token, { deviceId, publicKeyPem, nowMs, maxLifetimeS: tokenLifetimeS });
      const entry = publicKeys.get(deviceId);
      const cached = entry && nowMs - entry.at < KEY_CACHE_MS ? entry.pem : undefined;
      let result = cached ? check(cached) : undefined;
      if (!result?.ok) {
        const row = await provisioning.deviceKey(deviceId);
        if (!row) {
          publicKeys.delete(deviceId);
          return false;
        }
        cacheKey(deviceId, row.publicKey);
        if (row.publicKey !== cached) result = check(row.publicKey);
      }
      if (!result?.ok) logger.warn({ security: 'device-token-refused', deviceId, reason: result?.reason }, 'device token refused');
      return result?.ok === true;
    },
  };
}

export const claimsDeviceToken = (password: string): boolean => password.startsWith(DEVICE_TOKEN_PREFIX);
