import { afterAll, expect, it } from 'vitest';
import { createStore, type Store } from '@edgefleet/control-plane';
import { POSTGRES_URL, tmpDataDir, type TmpDir } from '../helpers/index.js';
import { describeNeeding } from '../setup/gate.js';
import type { RequirementId } from '../setup/requirements.mjs';

/** The same store contract on every driver (PostgreSQL at EDGEFLEET_TEST_POSTGRES_URL). */
const drivers: { name: 'sqlite' | 'postgres'; needs: RequirementId[]; open(dir: string): Promise<Store> }[] = [
  { name: 'sqlite', needs: [], open: (dir) => createStore({ driver: 'sqlite', dataDir: dir }) },
  { name: 'postgres', needs: ['postgres'], open: (dir) => createStore({ driver: 'postgres', dataDir: dir, url: POSTGRES_URL }) },
];

for (const { name, needs, open } of drivers) describeNeeding(needs, `store contract on ${name}`, () => {
  const dirs: TmpDir[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => d.cleanup())));

  it('migrates, keeps desired generations monotonic, and stores devices, tokens and audit entries', async () => {
    const dir = await tmpDataDir();
    dirs.push(dir);
    const store = await open(dir.path);
    try {
      const suffix = `${process.pid}-${Date.now()}`;
      const id = `store-${suffix}`;
      // A second migrate is a no-op.
      await store.migrate('core-test', ['CREATE TABLE IF NOT EXISTS core_test_probe (id TEXT PRIMARY KEY)']);
      await store.migrate('core-test', ['CREATE TABLE IF NOT EXISTS core_test_probe (id TEXT PRIMARY KEY)']);
      await store.devices.insert([{ id, secretHash: 'h', tags: { a: '1' }, createdAt: new Date().toISOString() }]);
      await expect(store.devices.insert([{ id, secretHash: 'h', tags: {}, createdAt: new Date().toISOString() }])).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect(await store.devices.get(id)).toMatchObject({ id, tags: { a: '1' }, status: 'never-seen' });
      await store.devices.setPresence(id, 'online', '2026-01-01T00:00:00.000Z', '1.2.3');
      expect(await store.devices.get(id)).toMatchObject({ status: 'online', agentVersion: '1.2.3' });
      const build = (g: number) => ({ deviceId: id, generation: g, issuedAt: new Date().toISOString(), models: [] });
      const states = await Promise.all([1, 2, 3, 4].map(() => store.desired.next(id, (_p, g) => build(g))));
      expect(states.map((s) => s.generation).sort()).toEqual([1, 2, 3, 4]);
      expect((await store.desired.get(id))?.generation).toBe(4);
      await store.tokens.insert({ id: `t-${suffix}`, name: 'n', role: 'viewer', tokenHash: `hash-${suffix}`, createdAt: new Date().toISOString(), createdBy: 'test' });
      expect(await store.tokens.byHash(`hash-${suffix}`)).toMatchObject({ role: 'viewer' });
      await store.audit.append({ at: new Date().toISOString(), actor: `actor-${suffix}`, action: 'POST /x', status: 201, outcome: 'ok' });
      expect(await store.audit.list({ limit: 5, actor: `actor-${suffix}` })).toHaveLength(1);
      expect(await store.devices.remove(id)).toBe(true);
      expect(await store.desired.get(id)).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
