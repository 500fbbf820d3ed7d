import { deviceTagsSchema, type DeviceTags } from '@edgefleet/shared';
import type { SqlDatabase } from '../store/sql-database.js';

/**
 * The provisioning plugin's own tables (namespace `provisioning`): provisioning keys (only their
 * hashes), the public key each enrolled device proved it holds, enrolments waiting for approval,
 * and the nonces of recent enrolment proofs (a replayed proof is refused, not re-applied).
 */
export const PROVISIONING_MIGRATIONS: readonly string[] = [
  `CREATE TABLE provisioning_keys (
     id TEXT PRIMARY KEY,
     name TEXT,
     key_hash TEXT NOT NULL UNIQUE,
     tags TEXT NOT NULL,
     max_uses BIGINT,
     uses BIGINT NOT NULL DEFAULT 0,
     expires_at TEXT,
     require_approval INTEGER NOT NULL,
     revoked_at TEXT,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL
   );
   CREATE TABLE device_keys (
     device_id TEXT PRIMARY KEY,
     public_key TEXT NOT NULL,
     fingerprint TEXT NOT NULL,
     provisioning_key_id TEXT NOT NULL,
     enrolled_at TEXT NOT NULL
   );
   CREATE TABLE pending_enrolments (
     device_id TEXT PRIMARY KEY,
     public_key TEXT NOT NULL,
     fingerprint TEXT NOT NULL,
     provisioning_key_id TEXT NOT NULL,
     tags TEXT NOT NULL,
     requested_at TEXT NOT NULL,
     last_seen_at TEXT NOT NULL,
     source TEXT,
     hostname TEXT,
     status TEXT NOT NULL
   );
   CREATE TABLE enrolment_nonces (
     nonce TEXT PRIMARY KEY,
     seen_at BIGINT NOT NULL
   )`,
];

export interface ProvisioningKeyRow {
  id: string;
  name?: string | undefined;
  keyHash: string;
  tags: DeviceTags;
  maxUses?: number | undefined;
  uses: number;
  expiresAt?: string | undefined;
  requireApproval: boolean;
  revokedAt?: string | undefined;
  createdAt: string;
  createdBy: string;
}

export interface DeviceKeyRow {
  deviceId: string;
  publicKey: string;
  fingerprint: string;
  provisioningKeyId: string;
  enrolledAt: string;
}

export interface PendingEnrolmentRow {
  deviceId: string;
  publicKey: string;
  fingerprint: string;
  provisioningKeyId: string;
  tags: DeviceTags;
  requestedAt: string;
  lastSeenAt: string;
  source?: string | undefined;
  hostname?: string | undefined;
  status: 'pending' | 'rejected';
}

const opt = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function keyFromRow(r: Record<string, unknown>): ProvisioningKeyRow {
  return {
    id: String(r.id),
    name: opt(r.name),
    keyHash: String(r.key_hash),
    tags: deviceTagsSchema.parse(JSON.parse(String(r.tags))),
    maxUses: r.max_uses === null || r.max_uses === undefined ? undefined : Number(r.max_uses),
    uses: Number(r.uses),
    expiresAt: opt(r.expires_at),
    requireApproval: Number(r.require_approval) === 1,
    revokedAt: opt(r.revoked_at),
    createdAt: String(r.created_at),
    createdBy: String(r.created_by),
  };
}

function pendingFromRow(r: Record<string, unknown>): PendingEnrolmentRow {
  return {
    deviceId: String(r.device_id),
    publicKey: String(r.public_key),
    fingerprint: String(r.fingerprint),
    provisioningKeyId: String(r.provisioning_key_id),
    tags: deviceTagsSchema.parse(JSON.parse(String(r.tags))),
    requestedAt: String(r.requested_at),
    lastSeenAt: String(r.last_seen_at),
    source: opt(r.source),
    hostname: opt(r.hostname),
    status: String(r.status) === 'rejected' ? 'rejected' : 'pending',
  };
}

export function createProvisioningStore(sql: SqlDatabase) {
  let prunedAt = -Infinity;
  return {
    sql,
    async insertKey(k: ProvisioningKeyRow): Promise<void> {
      await sql.run(
        'INSERT INTO provisioning_keys (id, name, key_hash, tags, max_uses, uses, expires_at, require_approval, revoked_at, created_at, created_by) VALUES (?, ?, ?, ?, ?, 0, ?, ?, NULL, ?, ?)',
        [k.id, k.name ?? null, k.keyHash, JSON.stringify(k.tags), k.maxUses ?? null, k.expiresAt ?? null, k.requireApproval ? 1 : 0, k.createdAt, k.createdBy],
      );
    },
    async keyByHash(hash: string): Promise<ProvisioningKeyRow | undefined> {
      const r = await sql.get('SELECT * FROM provisioning_keys WHERE key_hash = ?', [hash]);
      return r ? keyFromRow(r) : undefined;
    },
    async keys(): Promise<ProvisioningKeyRow[]> {
      return (await sql.all('SELECT * FROM provisioning_keys ORDER BY created_at, id')).map(keyFromRow);
    },
    async revokeKey(id: string, at: string): Promise<boolean> {
      const { changes } = await sql.run('UPDATE provisioning_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?', [at, id]);
      return changes === 1;
    },
    /** Takes one use of the key; false when it has none left. Atomic, so concurrent enrolments cannot overdraw it. */
    async takeUse(id: string): Promise<boolean> {
      const { changes } = await sql.run('UPDATE provisioning_keys SET uses = uses + 1 WHERE id = ? AND (max_uses IS NULL OR uses < max_uses)', [id]);
      return changes === 1;
    },
    async deviceKey(deviceId: string): Promise<DeviceKeyRow | undefined> {
      const r = await sql.get('SELECT * FROM device_keys WHERE device_id = ?', [deviceId]);
      return r
        ? { deviceId: String(r.device_id), publicKey: String(r.public_key), fingerprint: String(r.fingerprint), provisioningKeyId: String(r.provisioning_key_id), enrolledAt: String(r.enrolled_at) }
        : undefined;
    },
    async insertDeviceKey(k: DeviceKeyRow): Promise<void> {
      await sql.run('INSERT INTO device_keys (device_id, public_key, fingerprint, provisioning_key_id, enrolled_at) VALUES (?, ?, ?, ?, ?)', [
        k.deviceId,
        k.publicKey,
        k.fingerprint,
        k.provisioningKeyId,
        k.enrolledAt,
      ]);
    },
    async deleteDeviceKey(deviceId: string): Promise<void> {
      await sql.run('DELETE FROM device_keys WHERE device_id = ?', [deviceId]);
    },
    async pending(deviceId: string): Promise<PendingEnrolmentRow | undefined> {
      const r = await sql.get('SELECT * FROM pending_enrolments WHERE device_id = ?', [deviceId]);
      return r ? pendingFromRow(r) : undefined;
    },
    async pendingList(): Promise<PendingEnrolmentRow[]> {
      return (await sql.all('SELECT * FROM pending_enrolments ORDER BY requested_at, device_id')).map(pendingFromRow);
    },
    async insertPending(p: PendingEnrolmentRow): Promise<void> {
      await sql.run(
        'INSERT INTO pending_enrolments (device_id, public_key, fingerprint, provisioning_key_id, tags, requested_at, last_seen_at, source, hostname, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [p.deviceId, p.publicKey, p.fingerprint, p.provisioningKeyId, JSON.stringify(p.tags), p.requestedAt, p.lastSeenAt, p.source ?? null, p.hostname ?? null, p.status],
      );
    },
    async touchPending(deviceId: string, at: string): Promise<void> {
      await sql.run('UPDATE pending_enrolments SET last_seen_at = ? WHERE device_id = ?', [at, deviceId]);
    },
    async setPendingStatus(deviceId: string, status: 'pending' | 'rejected'): Promise<boolean> {
      const { changes } = await sql.run('UPDATE pending_enrolments SET status = ? WHERE device_id = ?', [status, deviceId]);
      return changes === 1;
    },
    async deletePending(deviceId: string): Promise<void> {
      await sql.run('DELETE FROM pending_enrolments WHERE device_id = ?', [deviceId]);
    },
    /** Records a proof's nonce; false when it was seen before (a replay). Forgets nonces older than `olderThanMs`. */
    async useNonce(nonce: string, nowMs: number, olderThanMs: number): Promise<boolean> {
      // Pruned now and then, not per enrolment: a first-boot burst is thousands of them a minute.
      if (nowMs - prunedAt > 10_000) {
        prunedAt = nowMs;
        await sql.run('DELETE FROM enrolment_nonces WHERE seen_at < ?', [nowMs - olderThanMs]);
      }
      const { changes } = await sql.run('INSERT INTO enrolment_nonces (nonce, seen_at) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING', [nonce, nowMs]);
      return changes === 1;
    },
  };
}

export type ProvisioningStore = ReturnType<typeof createProvisioningStore>;
