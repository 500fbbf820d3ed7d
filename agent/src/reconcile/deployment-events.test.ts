import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deploymentEventSchema } from '@edgefleet/shared';
import { openDatabase } from '../store/database.js';
import { createSqliteOutbox, type Outbox } from '../store/outbox.js';
import { DEPLOYMENT_EVENT_KIND, createDeploymentJournal } from './deployment-events.js';

let dir: string;
let db: Database.Database;
let outbox: Outbox;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agent-journal-'));
  db = openDatabase(join(dir, 'state.db'));
  outbox = createSqliteOutbox(db);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A real SQLITE_FULL: the database may not grow past its pages, and their free room is used up. */
function fillDatabase(): void {
  db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
  // Filler rows in the outbox's own b-tree (another kind), so no page of it has room left.
  const put = db.prepare("INSERT INTO outbox (topic, payload, qos, kind, created_at) VALUES ('filler', ?, 0, 'filler', 'now')");
  for (let size = 4096; size >= 1; ) {
    try {
      put.run(Buffer.alloc(size));
    } catch {
      size = Math.floor(size / 2);
    }
  }
}
function freeDatabase(): void {
  db.pragma('max_page_count = 1073741823');
}

const failed = (version: string) =>
  ({ generation: 2, model: 'm', version, type: 'failed', error: { code: 'DISK_SPACE_INSUFFICIENT', message: 'disk full' } }) as const;

function writtenEvents(): { seq: number; version: string; type: string }[] {
  return outbox.peek(100, DEPLOYMENT_EVENT_KIND).map((e) => {
    const ev = deploymentEventSchema.parse(JSON.parse(e.payload.toString('utf8')));
    expect(ev.seq).toBe(e.seq);
    return { seq: ev.seq, version: ev.version, type: ev.type };
  });
}

describe('deployment journal on a full database (real SQLite, max_page_count)', () => {
  it('writes straight to the outbox when it can', () => {
    let enqueued = 0;
    const journal = createDeploymentJournal({ deviceId: 'd1', outbox, onEnqueued: () => enqueued++, logger: pino({ level: 'silent' }) });
    journal.emit(failed('1'));
    expect(journal.pending()).toBe(0);
    expect(enqueued).toBe(1);
    expect(writtenEvents()).toEqual([{ seq: 1, version: '1', type: 'failed' }]);
    expect(journal.recent().map((e) => e.seq)).toEqual([1]);
  });

  it('does not throw on SQLITE_FULL, holds the events in order and writes them all once space is back', () => {
    let enqueued = 0;
    const journal = createDeploymentJournal({ deviceId: 'd1', outbox, onEnqueued: () => enqueued++, logger: pino({ level: 'silent' }), retryBaseMs: 60_000 });
    fillDatabase();
    // The database really is full: a plain outbox write fails with SQLite's own code.
    expect(() => outbox.enqueue('probe', 'events', () => Buffer.alloc(8192))).toThrow(expect.objectContaining({ code: 'SQLITE_FULL' }) as Error);
    expect(() => journal.emit(failed('1'))).not.toThrow();
    expect(() => journal.emit(failed('2'))).not.toThrow();
    expect(journal.pending()).toBe(2);
    expect(outbox.size(DEPLOYMENT_EVENT_KIND)).toBe(0);
    expect(enqueued).toBe(0);

    journal.retry();
    expect(journal.pending()).toBe(2);

    freeDatabase();
    journal.retry();
    expect(journal.pending()).toBe(0);
    expect(enqueued).toBe(1);
    const written = writtenEvents();
    expect(written.map((e) => e.version)).toEqual(['1', '2']);
    expect(written[1]?.seq).toBeGreaterThan(written[0]?.seq ?? Infinity);

    // A later event comes after the held ones, not before.
    journal.emit(failed('3'));
    expect(writtenEvents().map((e) => e.version)).toEqual(['1', '2', '3']);
  });

  it('retries on its own with backoff, without a new emit', async () => {
    const journal = createDeploymentJournal({ deviceId: 'd1', outbox, onEnqueued: () => undefined, logger: pino({ level: 'silent' }), retryBaseMs: 20, retryMaxMs: 40 });
    fillDatabase();
    journal.emit(failed('1'));
    expect(journal.pending()).toBe(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(journal.pending()).toBe(1);
    freeDatabase();
    const deadline = Date.now() + 2000;
    while (journal.pending() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(journal.pending()).toBe(0);
    expect(writtenEvents().map((e) => e.version)).toEqual(['1']);
  });
});
