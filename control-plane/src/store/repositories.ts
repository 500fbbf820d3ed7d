import { randomUUID } from 'node:crypto';
import {
  apiRoleSchema,
  desiredStateSchema,
  deviceTagsSchema,
  modelInspectionSchema,
  reportedStateSchema,
  type ApiToken,
  type AuditEntry,
  type DesiredState,
  type DeviceTags,
  type ModelVersionRecord,
  type ReportedState,
} from '@edgefleet/shared';
import { createRowListing, touchAfterWrite } from './row-listing.js';
import type { SqlDatabase } from './sql-database.js';

/** Rows are parsed at the edge like any other input: a corrupted row fails loudly here, not deep inside. */
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? v.toString() : '');
const json = <T>(text: unknown, parse: (v: unknown) => T): T => parse(JSON.parse(str(text)));
const opt = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : str(v));

export interface DeviceRow {
  id: string;
  secretHash: string;
  tags: DeviceTags;
  createdAt: string;
  status: 'online' | 'offline' | 'never-seen';
  lastSeen?: string | undefined;
  agentVersion?: string | undefined;
  reported?: ReportedState | undefined;
  reportedAt?: string | undefined;
}

/**
 * Parses a JSON column once per distinct text per device. The rollout engine lists the whole fleet on
 * every pass; re-parsing 10,000 unchanged reported states with zod each time was its largest cost
 * (issue 10). The text is compared in full, so a changed row is always parsed (and validated) again.
 * Callers must not mutate the returned values: they are shared between reads.
 */
function createParseCache<T>(parse: (v: unknown) => T) {
  const cache = new Map<string, { text: string; value: T }>();
  return {
    get(id: string, text: unknown): T {
      const raw = str(text);
      const hit = cache.get(id);
      if (hit?.text === raw) return hit.value;
      const value = json(raw, parse);
      cache.set(id, { text: raw, value });
      return value;
    },
    delete: (id: string) => cache.delete(id),
  };
}

export function createDeviceRepository(db: SqlDatabase) {
  const tags = createParseCache((v) => deviceTagsSchema.parse(v));
  const reported = createParseCache((v) => reportedStateSchema.parse(v));
  const deviceFromRow = (r: Record<string, unknown>): DeviceRow => {
    const id = String(r.id);
    return {
      id,
      secretHash: String(r.secret_hash),
      tags: tags.get(id, r.tags),
      createdAt: String(r.created_at),
      status: String(r.status) as DeviceRow['status'],
      lastSeen: opt(r.last_seen),
      agentVersion: opt(r.agent_version),
      reported: r.reported ? reported.get(id, r.reported) : undefined,
      reportedAt: opt(r.reported_at),
    };
  };
  // On SQLite this process is the file's only writer, so the fleet listing is kept in memory; on
  // PostgreSQL several replicas write, so the table is always read.
  const listing =
    db.dialect === 'sqlite'
      ? createRowListing({
          loadAll: async () => (await db.all('SELECT * FROM devices ORDER BY id')).map(deviceFromRow),
          loadSome: async (ids) => (await db.all(`SELECT * FROM devices WHERE id IN (${ids.map(() => '?').join(',')})`, ids)).map(deviceFromRow),
          keyOf: (d) => d.id,
          compare: (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
        })
      : undefined;
  const touch = (id: string): void => touchAfterWrite(db, listing, id);
  return {
    async insert(rows: readonly { id: string; secretHash: string; tags: DeviceTags; createdAt: string }[]): Promise<void> {
      try {
        await db.transaction(async (tx) => {
          for (const d of rows) {
            await tx.run("INSERT INTO devices (id, secret_hash, tags, created_at, status) VALUES (?, ?, ?, ?, 'never-seen')", [d.id, d.secretHash, JSON.stringify(d.tags), d.createdAt]);
          }
        });
      } finally {
        for (const d of rows) touch(d.id);
      }
    },
    async get(id: string): Promise<DeviceRow | undefined> {
      const row = await db.get('SELECT * FROM devices WHERE id = ?', [id]);
      return row ? deviceFromRow(row) : undefined;
    },
    async existing(ids: readonly string[]): Promise<string[]> {
      if (ids.length === 0) return [];
      const rows = await db.all<{ id: string }>(`SELECT id FROM devices WHERE id IN (${ids.map(() => '?').join(',')})`, ids);
      return rows.map((r) => r.id);
    },
    async list(): Promise<DeviceRow[]> {
      if (listing) return await listing.list();
      return (await db.all('SELECT * FROM devices ORDER BY id')).map(deviceFromRow);
    },
    async remove(id: string): Promise<boolean> {
      tags.delete(id);
      reported.delete(id);
      try {
        return await db.transaction(async (tx) => {
          await tx.run('DELETE FROM desired_states WHERE device_id = ?', [id]);
          return (await tx.run('DELETE FROM devices WHERE id = ?', [id])).changes > 0;
        });
      } finally {
        touch(id);
      }
    },
    /** False when no such device. */
    async setSecretHash(id: string, secretHash: string): Promise<boolean> {
      try {
        return (await db.run('UPDATE devices SET secret_hash = ? WHERE id = ?', [secretHash, id])).changes > 0;
      } finally {
        touch(id);
      }
    },
    async setPresence(id: string, status: 'online' | 'offline', at: string, agentVersion?: string): Promise<void> {
      try {
        await db.run('UPDATE devices SET status = ?, last_seen = ?, agent_version = COALESCE(?, agent_version) WHERE id = ?', [status, at, agentVersion ?? null, id]);
      } finally {
        touch(id);
      }
    },
    async setReported(id: string, reported: ReportedState, at: string): Promise<void> {
      try {
        await db.run('UPDATE devices SET reported = ?, reported_at = ?, last_seen = ?, agent_version = ? WHERE id = ?', [JSON.stringify(reported), at, at, reported.agentVersion, id]);
      } finally {
        touch(id);
      }
    },
  };
}
export type DeviceRepository = ReturnType<typeof createDeviceRepository>;

function modelFromRow(r: Record<string, unknown>): ModelVersionRecord {
  return {
    name: String(r.name),
    version: String(r.version),
    sha256: String(r.sha256),
    size: Number(r.size),
    createdAt: String(r.created_at),
    signature: String(r.signature),
    labels: json(r.labels, (v) => v as string[]),
    source: opt(r.source),
    notes: opt(r.notes),
    pushedBy: String(r.pushed_by),
    inspection: json(r.inspection, (v) => modelInspectionSchema.parse(v)),
    golden: r.golden_sha256 ? { sha256: str(r.golden_sha256), size: Number(r.golden_size) } : undefined,
  };
}

export function createModelRepository(db: SqlDatabase) {
  return {
    /** Returns false when name@version already exists (versions are immutable). */
    async insert(m: ModelVersionRecord): Promise<boolean> {
      const { changes } = await db.run(
        `INSERT INTO model_versions (name, version, sha256, size, created_at, signature, labels, notes, source, pushed_by, inspection, golden_sha256, golden_size)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name, version) DO NOTHING`,
        [m.name, m.version, m.sha256, m.size, m.createdAt, m.signature, JSON.stringify(m.labels), m.notes ?? null, m.source ?? null, m.pushedBy, JSON.stringify(m.inspection), m.golden?.sha256 ?? null, m.golden?.size ?? null],
      );
      return changes > 0;
    },
    async get(name: string, version: string): Promise<ModelVersionRecord | undefined> {
      const row = await db.get('SELECT * FROM model_versions WHERE name = ? AND version = ?', [name, version]);
      return row ? modelFromRow(row) : undefined;
    },
    async versions(name: string): Promise<ModelVersionRecord[]> {
      return (await db.all('SELECT * FROM model_versions WHERE name = ? ORDER BY created_at, version', [name])).map(modelFromRow);
    },
    async all(): Promise<ModelVersionRecord[]> {
      return (await db.all('SELECT * FROM model_versions ORDER BY name, created_at, version')).map(modelFromRow);
    },
    async setLabels(name: string, version: string, labels: readonly string[]): Promise<void> {
      await db.run('UPDATE model_versions SET labels = ? WHERE name = ? AND version = ?', [JSON.stringify(labels), name, version]);
    },
  };
}
export type ModelRepository = ReturnType<typeof createModelRepository>;

export interface TokenRow extends ApiToken {
  tokenHash: string;
}

function tokenFromRow(r: Record<string, unknown>): TokenRow {
  return {
    id: String(r.id),
    name: String(r.name),
    role: apiRoleSchema.parse(r.role),
    tokenHash: String(r.token_hash),
    createdAt: String(r.created_at),
    createdBy: String(r.created_by),
    revokedAt: opt(r.revoked_at),
    lastUsedAt: opt(r.last_used_at),
  };
}

export function createTokenRepository(db: SqlDatabase) {
  return {
    async insert(t: TokenRow): Promise<void> {
      await db.run('INSERT INTO api_tokens (id, name, role, token_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)', [t.id, t.name, t.role, t.tokenHash, t.createdAt, t.createdBy]);
    },
    async byHash(hash: string): Promise<TokenRow | undefined> {
      const row = await db.get('SELECT * FROM api_tokens WHERE token_hash = ?', [hash]);
      return row ? tokenFromRow(row) : undefined;
    },
    async get(id: string): Promise<TokenRow | undefined> {
      const row = await db.get('SELECT * FROM api_tokens WHERE id = ?', [id]);
      return row ? tokenFromRow(row) : undefined;
    },
    async list(): Promise<TokenRow[]> {
      return (await db.all('SELECT * FROM api_tokens ORDER BY created_at, id')).map(tokenFromRow);
    },
    async revoke(id: string, at: string): Promise<boolean> {
      return (await db.run('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [at, id])).changes > 0;
    },
    async touch(id: string, at: string): Promise<void> {
      await db.run('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', [at, id]);
    },
  };
}
export type TokenRepository = ReturnType<typeof createTokenRepository>;

export function createAuditRepository(db: SqlDatabase) {
  return {
    async append(entry: Omit<AuditEntry, 'id'>): Promise<AuditEntry> {
      const full = { ...entry, id: randomUUID() };
      await db.run('INSERT INTO audit_log (id, at, actor, action, target, status, outcome, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
        full.id, full.at, full.actor, full.action, full.target ?? null, full.status, full.outcome, full.details ? JSON.stringify(full.details) : null,
      ]);
      return full;
    },
    /** Newest first. */
    async list(query: { limit: number; actor?: string | undefined; before?: string | undefined }): Promise<AuditEntry[]> {
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (query.actor) {
        where.push('actor = ?');
        params.push(query.actor);
      }
      if (query.before) {
        where.push('at < ?');
        params.push(query.before);
      }
      const rows = await db.all(`SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT ?`, [...params, query.limit]);
      return rows.map((r) => ({
        id: String(r.id),
        at: String(r.at),
        actor: String(r.actor),
        action: String(r.action),
        target: opt(r.target),
        status: Number(r.status),
        outcome: String(r.outcome) as AuditEntry['outcome'],
        details: r.details ? (JSON.parse(str(r.details)) as Record<string, unknown>) : undefined,
      }));
    },
  };
}
export type AuditRepository = ReturnType<typeof createAuditRepository>;

export function createDesiredStateRepository(db: SqlDatabase) {
  const parse = (r: Record<string, unknown>): DesiredState => json(r.state, (v) => desiredStateSchema.parse(v));
  return {
    async get(deviceId: string): Promise<DesiredState | undefined> {
      const row = await db.get('SELECT state FROM desired_states WHERE device_id = ?', [deviceId]);
      return row ? parse(row) : undefined;
    },
    async all(): Promise<DesiredState[]> {
      return (await db.all('SELECT state FROM desired_states ORDER BY device_id')).map(parse);
    },
    /**
     * Stores the next generation atomically: `build` receives the previous state (if any) and returns
     * the new one; the generation is always previous + 1, so two writers can never issue the same one.
     */
    /**
     * Compare-and-set: stores `build(expected + 1)` only while the device's stored generation is
     * still `expected` (0: none stored yet). Undefined when another writer got there first; the
     * caller re-reads and decides again on the fresh state.
     */
    async compareAndSet(deviceId: string, expected: number, build: (generation: number) => DesiredState): Promise<DesiredState | undefined> {
      const state = desiredStateSchema.parse(build(expected + 1));
      const text = JSON.stringify(state);
      const { changes } =
        expected === 0
          ? await db.run('INSERT INTO desired_states (device_id, generation, state, updated_at) VALUES (?, 1, ?, ?) ON CONFLICT (device_id) DO NOTHING', [deviceId, text, state.issuedAt])
          : await db.run('UPDATE desired_states SET generation = ?, state = ?, updated_at = ? WHERE device_id = ? AND generation = ?', [expected + 1, text, state.issuedAt, deviceId, expected]);
      return changes === 1 ? state : undefined;
    },
    async next(deviceId: string, build: (previous: DesiredState | undefined, generation: number) => DesiredState): Promise<DesiredState> {
      return await db.transaction(async (tx) => {
        // Increment in one upsert: on PostgreSQL it also row-locks, so concurrent writers (several
        // replicas) serialise here instead of reading the same previous generation.
        const bumped = await tx.get<{ generation: number | string }>(
          "INSERT INTO desired_states (device_id, generation, state, updated_at) VALUES (?, 1, 'null', ?) ON CONFLICT (device_id) DO UPDATE SET generation = desired_states.generation + 1 RETURNING generation",
          [deviceId, new Date().toISOString()],
        );
        const generation = Number(bumped?.generation);
        const row = await tx.get<{ state: string }>('SELECT state FROM desired_states WHERE device_id = ?', [deviceId]);
        const previous = row && row.state !== 'null' ? parse(row) : undefined;
        const state = desiredStateSchema.parse(build(previous, generation));
        await tx.run('UPDATE desired_states SET state = ?, updated_at = ? WHERE device_id = ?', [JSON.stringify(state), state.issuedAt, deviceId]);
        return state;
      });
    },
  };
}
export type DesiredStateRepository = ReturnType<typeof createDesiredStateRepository>;
