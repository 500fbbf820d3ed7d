import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReportedState } from '@edgefleet/shared';
import { createSqliteDatabase } from './sqlite-database.js';
import { createStoreFromDatabase, type Store } from './store.js';

const dirs: string[] = [];
const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function sqliteStore(): Promise<Store> {
  const dir = mkdtempSync(join(tmpdir(), 'repo-test-'));
  dirs.push(dir);
  const store = await createStoreFromDatabase(createSqliteDatabase(join(dir, 'cp.db')));
  stores.push(store);
  return store;
}

const reported = (deviceId: string, applied: number): ReportedState => ({
  deviceId,
  observedGeneration: applied,
  appliedGeneration: applied,
  agentVersion: 'test',
  reportedAt: new Date(0).toISOString(),
  executionProviders: ['cpu'],
  models: [],
});

describe('device repository listing (kept in memory on SQLite)', () => {
  it('reflects every write made after the first list, in id order', async () => {
    const store = await sqliteStore();
    const at = new Date(0).toISOString();
    await store.devices.insert([{ id: 'b', secretHash: 'h', tags: { site: 'x' }, createdAt: at }]);
    expect((await store.devices.list()).map((d) => d.id)).toEqual(['b']);

    await store.devices.insert([{ id: 'a', secretHash: 'h', tags: {}, createdAt: at }, { id: 'c', secretHash: 'h', tags: {}, createdAt: at }]);
    await store.devices.setPresence('b', 'online', at, '1.2.3');
    await store.devices.setReported('c', reported('c', 4), at);
    const listed = await store.devices.list();
    expect(listed.map((d) => d.id)).toEqual(['a', 'b', 'c']);
    expect(listed[1]).toMatchObject({ status: 'online', agentVersion: '1.2.3', tags: { site: 'x' } });
    expect(listed[2]?.reported?.appliedGeneration).toBe(4);

    await store.devices.remove('a');
    await store.devices.setReported('c', reported('c', 5), at);
    expect((await store.devices.list()).map((d) => [d.id, d.reported?.appliedGeneration])).toEqual([['b', undefined], ['c', 5]]);
  });

  it('equals a fresh read of the table after a rolled-back insert', async () => {
    const store = await sqliteStore();
    const at = new Date(0).toISOString();
    await store.devices.insert([{ id: 'a', secretHash: 'h', tags: {}, createdAt: at }]);
    await store.devices.list();
    // 'a' exists already: the whole insert rolls back, 'b' included.
    await expect(store.devices.insert([{ id: 'b', secretHash: 'h', tags: {}, createdAt: at }, { id: 'a', secretHash: 'h', tags: {}, createdAt: at }])).rejects.toThrow();
    const fresh = (await store.sql.all<{ id: string }>('SELECT id FROM devices ORDER BY id')).map((r) => r.id);
    expect((await store.devices.list()).map((d) => d.id)).toEqual(fresh);
    expect(fresh).toEqual(['a']);
  });

  it('forgets rows a list() inside a rolled-back transaction had seen', async () => {
    const store = await sqliteStore();
    const at = new Date(0).toISOString();
    await store.devices.list();
    await expect(
      store.transaction(async () => {
        await store.devices.insert([{ id: 'gone', secretHash: 'h', tags: {}, createdAt: at }]);
        expect((await store.devices.list()).map((d) => d.id)).toEqual(['gone']);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(await store.devices.list()).toEqual([]);
  });
});
