import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isEdgefleetError } from '@edgefleet/shared';
import { openDatabase } from './database.js';
import { MIGRATIONS, migrate } from './migrations.js';
import { createSqliteOutbox } from './outbox.js';
import { createStateStore } from './state-store.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agent-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('state database (real SQLite file)', () => {
  it('opens in WAL with synchronous=FULL and applies every migration once', () => {
    const file = join(dir, 'state.db');
    const db = openDatabase(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.at(-1)?.version);
    db.close();
    const again = openDatabase(file);
    expect(migrate(again)).toBe(MIGRATIONS.at(-1)?.version);
    again.close();
  });

  it('refuses a database from a newer agent instead of downgrading it', () => {
    const file = join(dir, 'state.db');
    const raw = new Database(file);
    raw.pragma('user_version = 99');
    raw.close();
    try {
      openDatabase(file);
      expect.unreachable();
    } catch (err) {
      expect(isEdgefleetError(err, 'STORE_FAILED')).toBe(true);
    }
  });

  it('keeps desired state, pointers, downloads and failures across a reopen', () => {
    const file = join(dir, 'state.db');
    let db = openDatabase(file);
    let store = createStateStore(db);
    store.setDesired({ deviceId: 'd', generation: 3, issuedAt: '2026-01-01T00:00:00Z', models: [] });
    store.setPointers('m', { active: '2', previous: '1' });
    store.startDownload({ sha256: 'a'.repeat(64), model: 'm', version: '3', size: 100, chunkBytes: 10, path: '/x' });
    store.markChunk('a'.repeat(64), 4);
    store.markChunk('a'.repeat(64), 4);
    store.recordFailure({ model: 'm', version: '3', sha256: 'b'.repeat(64), generation: 3, error: { code: 'SMOKE_TEST_FAILED', message: 'nan', details: { outputs: ['y'] } }, at: 'now' });
    db.close();
    db = openDatabase(file);
    store = createStateStore(db);
    expect(store.getDesired()?.generation).toBe(3);
    expect(store.pointers('m')).toEqual({ active: '2', previous: '1' });
    expect([...store.doneChunks('a'.repeat(64))]).toEqual([4]);
    expect(store.failure('m', '3', 'b'.repeat(64))?.error).toEqual({ code: 'SMOKE_TEST_FAILED', message: 'nan', details: { outputs: ['y'] } });
    store.deleteDownload('a'.repeat(64));
    expect(store.getDownload('a'.repeat(64))).toBeUndefined();
    expect(store.doneChunks('a'.repeat(64)).size).toBe(0);
    db.close();
  });
});

describe('durable outbox', () => {
  it('hands out monotonic seqs across reopen, peeks oldest first and forgets only acked entries', () => {
    const file = join(dir, 'state.db');
    let db = openDatabase(file);
    let outbox = createSqliteOutbox(db);
    const s1 = outbox.enqueue('deployment-event', 'events', (seq) => Buffer.from(`e${seq}`));
    const s2 = outbox.enqueue('telemetry', 'telemetry', (seq) => Buffer.from(`t${seq}`), 0);
    expect(s2).toBeGreaterThan(s1);
    outbox.ack(s1);
    db.close();
    db = openDatabase(file);
    outbox = createSqliteOutbox(db);
    const s3 = outbox.enqueue('deployment-event', 'events', (seq) => Buffer.from(`e${seq}`));
    expect(s3).toBeGreaterThan(s2);
    expect(outbox.peek(10).map((e) => [e.seq, e.kind, e.payload.toString(), e.qos])).toEqual([
      [s2, 'telemetry', `t${s2}`, 0],
      [s3, 'deployment-event', `e${s3}`, 1],
    ]);
    expect(outbox.size('deployment-event')).toBe(1);
    expect(outbox.peek(10, 'telemetry')).toHaveLength(1);
    db.close();
  });

  it('writes nothing when building the payload throws', () => {
    const db = openDatabase(join(dir, 'state.db'));
    const outbox = createSqliteOutbox(db);
    expect(() =>
      outbox.enqueue('deployment-event', 'events', () => {
        throw new Error('schema');
      }),
    ).toThrow('schema');
    expect(outbox.size()).toBe(0);
    db.close();
  });
});
