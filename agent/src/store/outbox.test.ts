import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import { createSqliteOutbox } from './outbox.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('outbox removeAcked (real SQLite file)', () => {
  it('deletes only the named seqs on the named topic and reports which, across a reopen', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-outbox-acked-'));
    dirs.push(dir);
    let db = openDatabase(join(dir, 'state.db'));
    let outbox = createSqliteOutbox(db);
    const e1 = outbox.enqueue('deployment-event', 'events', () => Buffer.from('e1'));
    const t1 = outbox.enqueue('telemetry', 'telemetry', () => Buffer.from('t1'));
    const e2 = outbox.enqueue('deployment-event', 'events', () => Buffer.from('e2'));
    expect(outbox.removeAcked('events', [e1, t1, 9999])).toEqual([e1]);
    expect(outbox.removeAcked('events', [e1])).toEqual([]);
    db.close();
    db = openDatabase(join(dir, 'state.db'));
    outbox = createSqliteOutbox(db);
    expect(outbox.peek(10).map((e) => e.seq)).toEqual([t1, e2]);
    expect(outbox.removeAcked('telemetry', [t1])).toEqual([t1]);
    expect(outbox.size()).toBe(1);
    db.close();
  });
});
