import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { SqlDatabase } from './sql-database.js';
import { createSqliteDatabase } from './sqlite-database.js';
import { createStoreFromDatabase } from './store.js';

/**
 * What a transaction means on the SQLite driver (issue 16): the unit of work follows the async
 * context that opened it, so unrelated callers never land inside it. The same cases run on both
 * drivers through the package entry in test/integration/store-concurrency.test.ts.
 */
const dirs: string[] = [];
const dbs: SqlDatabase[] = [];
afterEach(async () => {
  for (const db of dbs.splice(0)) await db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function database(): Promise<SqlDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'uow-test-'));
  dirs.push(dir);
  const db = createSqliteDatabase(join(dir, 'cp.db'));
  dbs.push(db);
  await db.exec('CREATE TABLE t (id TEXT PRIMARY KEY)');
  return db;
}

const ids = async (db: SqlDatabase): Promise<string[]> => (await db.all<{ id: string }>('SELECT id FROM t ORDER BY id')).map((r) => r.id);

describe('sqlite unit of work', () => {
  it('keeps interleaved transactions apart: a failed one takes only its own writes with it', async () => {
    const db = await database();
    const a = db.transaction(async (tx) => {
      await tx.run("INSERT INTO t (id) VALUES ('a')");
      await sleep(50);
      throw new Error('a fails');
    });
    await sleep(5);
    const plain = db.run("INSERT INTO t (id) VALUES ('plain')");
    const b = db.transaction(async (tx) => {
      await tx.run("INSERT INTO t (id) VALUES ('b')");
      return 'committed';
    });
    await expect(a).rejects.toThrow('a fails');
    await expect(plain).resolves.toEqual({ changes: 1 });
    await expect(b).resolves.toBe('committed');
    expect(await ids(db)).toEqual(['b', 'plain']);
  });

  it('never runs a statement from outside inside an open transaction, nor shows it uncommitted rows', async () => {
    const db = await database();
    let release!: () => void;
    const opened = new Promise<void>((resolve) => {
      void db.transaction(async (tx) => {
        await tx.run("INSERT INTO t (id) VALUES ('inside')");
        resolve();
        await new Promise<void>((r) => (release = r));
        throw new Error('rolled back');
      }).catch(() => undefined);
    });
    await opened;
    const seen = db.all<{ id: string }>('SELECT id FROM t');
    const outside = db.run("INSERT INTO t (id) VALUES ('outside')");
    release();
    expect((await seen).map((r) => r.id)).toEqual([]);
    await outside;
    expect(await ids(db)).toEqual(['outside']);
  });

  it('joins nested calls from inside; an error rolls back the whole unit', async () => {
    const db = await database();
    await expect(
      db.transaction(async () => {
        await db.run("INSERT INTO t (id) VALUES ('outer')");
        await db.transaction(async () => {
          await db.run("INSERT INTO t (id) VALUES ('inner')");
        });
        // Joined, not committed on its own: the outer transaction sees it and takes it back.
        expect(await ids(db)).toEqual(['inner', 'outer']);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(await ids(db)).toEqual([]);
  });

  it('binds the store repositories to the transaction of the calling context', async () => {
    const sql = await database();
    const store = await createStoreFromDatabase(sql);
    await expect(
      store.transaction(async () => {
        await store.audit.append({ at: new Date(0).toISOString(), actor: 'x', action: 'y', status: 200, outcome: 'ok' });
        await store.devices.insert([{ id: 'd1', secretHash: 'h', tags: {}, createdAt: new Date(0).toISOString() }]);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(await store.audit.list({ limit: 10 })).toEqual([]);
    expect(await store.devices.list()).toEqual([]);
  });

  it('runs after-transaction work once the transaction ends, with its outcome', async () => {
    const db = await database();
    const calls: string[] = [];
    await db.transaction(async () => {
      db.afterTransaction((outcome) => calls.push(`first ${outcome}`));
      await db.run("INSERT INTO t (id) VALUES ('x')");
      expect(calls).toEqual([]);
    });
    await db.transaction(async () => {
      db.afterTransaction((outcome) => calls.push(`second ${outcome}`));
      throw new Error('no');
    }).catch(() => undefined);
    db.afterTransaction((outcome) => calls.push(`outside ${outcome}`));
    expect(calls).toEqual(['first committed', 'second rolled-back', 'outside committed']);
  });

  it('treats work that outlives its transaction as outside it', async () => {
    const db = await database();
    let late: Promise<unknown> | undefined;
    await db.transaction(async () => {
      expect(db.inTransaction()).toBe(true);
      late = sleep(10).then(() => db.inTransaction());
    });
    expect(await late).toBe(false);
  });
});
