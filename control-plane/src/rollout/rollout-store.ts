/**
 * Rollout tables (issue 7). All rollout state lives here, so a restarted control plane resumes
 * exactly where it was; rows are parsed on the way out (JSON columns through the shared zod schemas).
 * Portable SQL over the store's SqlDatabase port: runs on SQLite and PostgreSQL.
 */
import {
  EdgefleetError,
  createRolloutRequestSchema,
  deviceRolloutStateSchema,
  desiredModelSchema,
  gateResultSchema,
  rolloutHaltSchema,
  rolloutStateSchema,
  waveStateSchema,
  type DesiredModel,
  type DeviceRolloutState,
  type GateResult,
  type RolloutEvent,
  type RolloutHalt,
  type RolloutSpec,
  type RolloutState,
  type WaveState,
} from '@edgefleet/shared';
import { z } from 'zod';
import { createRowListing, touchAfterWrite, type RowListing } from '../store/row-listing.js';
import type { SqlDatabase, SqlValue } from '../store/sql-database.js';

export const ROLLOUT_MIGRATIONS: readonly string[] = [
  `CREATE TABLE rollouts (
     id TEXT PRIMARY KEY,
     model TEXT NOT NULL,
     version TEXT NOT NULL,
     state TEXT NOT NULL,
     spec TEXT NOT NULL,
     created_by TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     start_at BIGINT NOT NULL,
     started_at BIGINT,
     finished_at BIGINT,
     current_wave BIGINT,
     next_notify_at BIGINT,
     halt TEXT,
     updated_at BIGINT NOT NULL
   );
   CREATE INDEX rollouts_state ON rollouts (state);
   CREATE TABLE rollout_waves (
     rollout_id TEXT NOT NULL,
     idx BIGINT NOT NULL,
     state TEXT NOT NULL,
     started_at BIGINT,
     notified_at BIGINT,
     bake_until BIGINT,
     finished_at BIGINT,
     approved_at BIGINT,
     gates TEXT,
     PRIMARY KEY (rollout_id, idx)
   );
   CREATE TABLE rollout_devices (
     rollout_id TEXT NOT NULL,
     device_id TEXT NOT NULL,
     wave BIGINT NOT NULL,
     state TEXT NOT NULL,
     error_code TEXT,
     reason TEXT,
     generation BIGINT,
     previous TEXT,
     notify_count BIGINT NOT NULL,
     entered_at BIGINT NOT NULL,
     deadline_at BIGINT,
     updated_at BIGINT NOT NULL,
     PRIMARY KEY (rollout_id, device_id)
   );
   CREATE INDEX rollout_devices_device ON rollout_devices (device_id);
   CREATE TABLE rollout_events (
     seq BIGINT PRIMARY KEY,
     rollout_id TEXT NOT NULL,
     at BIGINT NOT NULL,
     type TEXT NOT NULL,
     data TEXT NOT NULL
   );
   CREATE INDEX rollout_events_rollout ON rollout_events (rollout_id, seq)`,
  // The event sequence as a counter row (issue 16): its upsert row-locks on PostgreSQL, so
  // concurrent appends (several notify workers, several replicas) serialise there; MAX(seq)+1 in
  // a READ COMMITTED transaction let two of them pick the same number.
  `CREATE TABLE rollout_sequences (
     name TEXT PRIMARY KEY,
     value BIGINT NOT NULL
   );
   INSERT INTO rollout_sequences (name, value) SELECT 'events', COALESCE(MAX(seq), 0) FROM rollout_events`,
];

export interface RolloutRow {
  id: string;
  model: string;
  version: string;
  state: RolloutState;
  spec: RolloutSpec;
  createdBy: string;
  createdAt: number;
  startAt: number;
  startedAt?: number;
  finishedAt?: number;
  currentWave?: number;
  /** The rate limiter's cursor: the earliest time the next device may be notified. */
  nextNotifyAt?: number;
  halt?: RolloutHalt;
  updatedAt: number;
}

export interface WaveRow {
  rolloutId: string;
  index: number;
  state: WaveState;
  startedAt?: number;
  notifiedAt?: number;
  bakeUntil?: number;
  finishedAt?: number;
  approvedAt?: number;
  gates?: GateResult[];
}

export interface DeviceRow {
  rolloutId: string;
  deviceId: string;
  wave: number;
  state: DeviceRolloutState;
  errorCode?: string;
  reason?: string;
  generation?: number;
  /**
   * The device's desired entry for the model before this rollout touched it; `null` when it had
   * none (a rollback then removes the model), undefined while not yet notified.
   */
  previous?: DesiredModel | null;
  /** Desired-state publishes this rollout made for the device (the no-double-notify check reads it). */
  notifyCount: number;
  enteredAt: number;
  deadlineAt?: number;
  updatedAt: number;
}

const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : v === null || v === undefined ? undefined : JSON.stringify(v));
const jsonOf = <T>(v: unknown, schema: z.ZodType<T>): T | undefined => (v === null || v === undefined ? undefined : schema.parse(JSON.parse(v as string)));

function definedEntries(obj: Record<string, unknown>): [string, unknown][] {
  return Object.entries(obj).filter(([, v]) => v !== undefined);
}

const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function toSql(value: unknown): SqlValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'object') return JSON.stringify(value);
  return value as SqlValue;
}

/** `UPDATE table SET a = ?, b = ? WHERE ...` from a patch; `null` clears a column, `undefined` leaves it. */
async function update(db: SqlDatabase, table: string, patch: Record<string, unknown>, where: string, whereParams: SqlValue[]): Promise<void> {
  const entries = definedEntries(patch);
  if (entries.length === 0) return;
  const columns = entries.map(([k]) => `${k === 'index' ? 'idx' : snake(k)} = ?`).join(', ');
  await db.run(`UPDATE ${table} SET ${columns} WHERE ${where}`, [...entries.map(([, v]) => toSql(v)), ...whereParams]);
}

const specSchema = createRolloutRequestSchema;
const previousSchema = z.union([desiredModelSchema, z.null()]);

function rolloutFrom(r: Record<string, unknown>): RolloutRow {
  return {
    id: String(r.id),
    model: String(r.model),
    version: String(r.version),
    state: rolloutStateSchema.parse(r.state),
    spec: jsonOf(r.spec, specSchema)!,
    createdBy: String(r.created_by),
    createdAt: Number(r.created_at),
    startAt: Number(r.start_at),
    startedAt: num(r.started_at),
    finishedAt: num(r.finished_at),
    currentWave: num(r.current_wave),
    nextNotifyAt: num(r.next_notify_at),
    halt: jsonOf(r.halt, rolloutHaltSchema),
    updatedAt: Number(r.updated_at),
  };
}

function waveFrom(r: Record<string, unknown>): WaveRow {
  return {
    rolloutId: String(r.rollout_id),
    index: Number(r.idx),
    state: waveStateSchema.parse(r.state),
    startedAt: num(r.started_at),
    notifiedAt: num(r.notified_at),
    bakeUntil: num(r.bake_until),
    finishedAt: num(r.finished_at),
    approvedAt: num(r.approved_at),
    gates: jsonOf(r.gates, z.array(gateResultSchema)),
  };
}

function deviceFrom(r: Record<string, unknown>): DeviceRow {
  return {
    rolloutId: String(r.rollout_id),
    deviceId: String(r.device_id),
    wave: Number(r.wave),
    state: deviceRolloutStateSchema.parse(r.state),
    errorCode: str(r.error_code),
    reason: str(r.reason),
    generation: num(r.generation),
    previous: r.previous === null || r.previous === undefined ? undefined : previousSchema.parse(JSON.parse(r.previous as string)),
    notifyCount: Number(r.notify_count),
    enteredAt: Number(r.entered_at),
    deadlineAt: num(r.deadline_at),
    updatedAt: Number(r.updated_at),
  };
}

export type RolloutPatch = Partial<{ [K in keyof RolloutRow]: RolloutRow[K] | null }>;
export type WavePatch = Partial<{ [K in keyof WaveRow]: WaveRow[K] | null }>;
export type DevicePatch = Partial<{ [K in keyof DeviceRow]: DeviceRow[K] | null }>;

const byWaveThenId = (a: DeviceRow, b: DeviceRow): number => a.wave - b.wave || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0);

export function createRolloutStore(db: SqlDatabase) {
  // A rollout's devices stay in memory on SQLite (this process is the file's only writer): every
  // pass reads all of them, and re-reading 10,000 rows each time was the largest part of a pass at
  // fleet scale (issue 10). PostgreSQL may have other writers, so there the table is always read.
  const listings = new Map<string, RowListing<DeviceRow>>();
  const listingOf = (rolloutId: string): RowListing<DeviceRow> | undefined => {
    if (db.dialect !== 'sqlite') return undefined;
    let listing = listings.get(rolloutId);
    if (!listing) {
      listing = createRowListing({
        loadAll: async () => (await db.all('SELECT * FROM rollout_devices WHERE rollout_id = ? ORDER BY wave, device_id', [rolloutId])).map(deviceFrom),
        loadSome: async (ids) => (await db.all(`SELECT * FROM rollout_devices WHERE rollout_id = ? AND device_id IN (${ids.map(() => '?').join(',')})`, [rolloutId, ...ids])).map(deviceFrom),
        keyOf: (d) => d.deviceId,
        compare: byWaveThenId,
      });
      listings.set(rolloutId, listing);
    }
    return listing;
  };
  const touch = (rolloutId: string, deviceId: string): void => touchAfterWrite(db, listings.get(rolloutId), deviceId);
  return {
    db,
    /** One unit of work: every call on this store (and the core store's) awaited inside joins it. */
    transaction: <T>(fn: () => Promise<T>): Promise<T> => db.transaction(() => fn()),

    async insertRollout(row: RolloutRow): Promise<void> {
      await db.run(
        'INSERT INTO rollouts (id, model, version, state, spec, created_by, created_at, start_at, next_notify_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [row.id, row.model, row.version, row.state, JSON.stringify(row.spec), row.createdBy, row.createdAt, row.startAt, row.nextNotifyAt ?? null, row.updatedAt],
      );
    },
    async getRollout(id: string): Promise<RolloutRow | undefined> {
      const r = await db.get('SELECT * FROM rollouts WHERE id = ?', [id]);
      return r ? rolloutFrom(r) : undefined;
    },
    async listRollouts(states?: readonly RolloutState[]): Promise<RolloutRow[]> {
      const where = states?.length ? `WHERE state IN (${states.map(() => '?').join(', ')})` : '';
      return (await db.all(`SELECT * FROM rollouts ${where} ORDER BY created_at DESC, id DESC`, [...(states ?? [])])).map(rolloutFrom);
    },
    async updateRollout(id: string, patch: RolloutPatch): Promise<void> {
      await update(db, 'rollouts', patch, 'id = ?', [id]);
    },

    async insertWave(row: WaveRow): Promise<void> {
      await db.run('INSERT INTO rollout_waves (rollout_id, idx, state) VALUES (?, ?, ?)', [row.rolloutId, row.index, row.state]);
    },
    async getWaves(rolloutId: string): Promise<WaveRow[]> {
      return (await db.all('SELECT * FROM rollout_waves WHERE rollout_id = ? ORDER BY idx', [rolloutId])).map(waveFrom);
    },
    async updateWave(rolloutId: string, index: number, patch: WavePatch): Promise<void> {
      await update(db, 'rollout_waves', patch, 'rollout_id = ? AND idx = ?', [rolloutId, index]);
    },

    async insertDevice(row: DeviceRow): Promise<void> {
      try {
        await db.run(
          'INSERT INTO rollout_devices (rollout_id, device_id, wave, state, error_code, reason, notify_count, entered_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [row.rolloutId, row.deviceId, row.wave, row.state, row.errorCode ?? null, row.reason ?? null, row.notifyCount, row.enteredAt, row.updatedAt],
        );
      } finally {
        touch(row.rolloutId, row.deviceId);
      }
    },
    /** Sorted by wave, then device id. The rows may be shared between calls: never mutate them. */
    async getDevices(rolloutId: string): Promise<DeviceRow[]> {
      const listing = listingOf(rolloutId);
      if (listing) return await listing.list();
      return (await db.all('SELECT * FROM rollout_devices WHERE rollout_id = ? ORDER BY wave, device_id', [rolloutId])).map(deviceFrom);
    },
    async getDevice(rolloutId: string, deviceId: string): Promise<DeviceRow | undefined> {
      const r = await db.get('SELECT * FROM rollout_devices WHERE rollout_id = ? AND device_id = ?', [rolloutId, deviceId]);
      return r ? deviceFrom(r) : undefined;
    },
    /** The rollout (not finished) that published `generation` of `model` to the device, if any. */
    async rolloutForGeneration(deviceId: string, model: string, generation: number): Promise<string | undefined> {
      const row = await db.get<{ id: string }>(
        `SELECT r.id AS id FROM rollout_devices d JOIN rollouts r ON r.id = d.rollout_id
         WHERE d.device_id = ? AND d.generation = ? AND r.model = ? AND r.state IN ('running', 'paused', 'halted')`,
        [deviceId, generation, model],
      );
      return row?.id;
    },
    async updateDevice(rolloutId: string, deviceId: string, patch: DevicePatch): Promise<void> {
      try {
        await update(db, 'rollout_devices', { ...patch, previous: patch.previous === null ? 'null' : patch.previous }, 'rollout_id = ? AND device_id = ?', [rolloutId, deviceId]);
      } finally {
        touch(rolloutId, deviceId);
      }
    },

    /** Appends with the next sequence number, taken and used in one transaction. */
    async appendEvent(rolloutId: string, at: number, type: string, data: Record<string, unknown>): Promise<RolloutEvent> {
      return await db.transaction(async (tx) => {
        // The migration seeded the counter from the events already stored.
        const row = await tx.get<{ value: number | string }>("UPDATE rollout_sequences SET value = value + 1 WHERE name = 'events' RETURNING value");
        if (!row) throw new EdgefleetError('STORE_FAILED', 'the rollout event counter is missing (rollout migration 2 not applied?)');
        const seq = Number(row?.value);
        await tx.run('INSERT INTO rollout_events (seq, rollout_id, at, type, data) VALUES (?, ?, ?, ?, ?)', [seq, rolloutId, at, type, JSON.stringify(data)]);
        return { id: seq, rolloutId, at: new Date(at).toISOString(), type, data };
      });
    },
    /**
     * Claims a scheduled rollout for planning: true for exactly one caller. The conditional update
     * row-locks it on PostgreSQL until the caller's transaction ends.
     */
    async claimScheduled(id: string, at: number): Promise<boolean> {
      return (await db.run("UPDATE rollouts SET updated_at = ? WHERE id = ? AND state = 'scheduled'", [at, id])).changes === 1;
    },
    async eventsAfter(seq: number, rolloutId?: string, limit = 500): Promise<RolloutEvent[]> {
      const rows = await db.all(
        `SELECT * FROM rollout_events WHERE seq > ? ${rolloutId ? 'AND rollout_id = ?' : ''} ORDER BY seq LIMIT ?`,
        rolloutId ? [seq, rolloutId, limit] : [seq, limit],
      );
      return rows.map((r) => ({ id: Number(r.seq), rolloutId: String(r.rollout_id), at: new Date(Number(r.at)).toISOString(), type: String(r.type), data: JSON.parse(String(r.data)) as Record<string, unknown> }));
    },
  };
}

export type RolloutStore = ReturnType<typeof createRolloutStore>;
