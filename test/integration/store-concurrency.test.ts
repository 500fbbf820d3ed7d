import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { DesiredModel } from '@edgefleet/shared';
import {
  ROLLOUT_MIGRATIONS,
  createDesiredStatePublisher,
  createRolloutStore,
  createStore,
  desiredStatePortFrom,
  notifyDevice,
  systemClock,
  type DesiredStatePort,
  type DeviceBus,
  type RolloutRow,
  type Store,
} from '@edgefleet/control-plane';
import { freshPostgresDatabase, tmpDataDir, type TestPostgresDatabase, type TmpDir } from '../helpers/index.js';
import { describeNeeding } from '../setup/gate.js';
import type { RequirementId } from '../setup/requirements.mjs';

/**
 * The store's unit of work under concurrency (issue 16), on both drivers: interleaved
 * transactions, writes from outside an open transaction, the rollout event sequence and the
 * desired state's compare-and-set. PostgreSQL gets a fresh database for this file.
 */
interface Driver {
  name: 'sqlite' | 'postgres';
  needs: RequirementId[];
  open(): Promise<{ store: Store; cleanup(): Promise<void> }>;
}

const drivers: Driver[] = [
  {
    name: 'sqlite',
    needs: [],
    async open() {
      const dir: TmpDir = await tmpDataDir('store-concurrency-');
      const store = await createStore({ driver: 'sqlite', dataDir: dir.path });
      return { store, cleanup: async () => (await store.close(), await dir.cleanup()) };
    },
  },
  {
    name: 'postgres',
    needs: ['postgres'],
    async open() {
      const db: TestPostgresDatabase = await freshPostgresDatabase('store_concurrency');
      const store = await createStore({ driver: 'postgres', dataDir: '/nonexistent', url: db.url });
      return { store, cleanup: async () => (await store.close(), await db.drop()) };
    },
  },
];

const artifact = (n: number) => ({ sha256: n.toString(16).padStart(64, '0'), size: 10, createdAt: new Date(0).toISOString(), signature: 'sig' });
const model = (name: string, version: string, n: number): DesiredModel => ({ name, version, artifact: artifact(n) });

for (const driver of drivers) describeNeeding(driver.needs, `store concurrency on ${driver.name}`, () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  const ids = async (): Promise<string[]> => (await store.sql.all<{ id: string }>('SELECT id FROM uow_probe ORDER BY id')).map((r) => r.id);

  beforeAll(async () => {
    ({ store, cleanup } = await driver.open());
    await store.migrate('store-concurrency-test', ['CREATE TABLE uow_probe (id TEXT PRIMARY KEY)']);
    await store.migrate('rollout', ROLLOUT_MIGRATIONS);
  });
  afterAll(async () => cleanup?.());
  beforeEach(async () => {
    await store.sql.run('DELETE FROM uow_probe');
  });

  it('interleaved transactions: A fails after B and a plain write commit, and takes only its own row', async () => {
    const a = store.transaction(async () => {
      await store.sql.run("INSERT INTO uow_probe (id) VALUES ('a')");
      await sleep(50);
      throw new Error('a fails');
    });
    await sleep(5);
    const plain = store.sql.run("INSERT INTO uow_probe (id) VALUES ('plain')");
    const b = store.transaction(async () => {
      await store.sql.run("INSERT INTO uow_probe (id) VALUES ('b')");
      return 'committed';
    });
    await expect(a).rejects.toThrow('a fails');
    await expect(plain).resolves.toEqual({ changes: 1 });
    await expect(b).resolves.toBe('committed');
    expect(await ids()).toEqual(['b', 'plain']);
  });

  it('an unrelated write during an open transaction is not joined to it', async () => {
    let inside!: () => void;
    let release!: () => void;
    const opened = new Promise<void>((resolve) => (inside = resolve));
    const tx = store.transaction(async () => {
      await store.sql.run("INSERT INTO uow_probe (id) VALUES ('inside')");
      inside();
      await new Promise<void>((resolve) => (release = resolve));
      throw new Error('rolled back');
    });
    await opened;
    const outside = store.sql.run("INSERT INTO uow_probe (id) VALUES ('outside')");
    // Give a joined write every chance to land inside before the rollback.
    await sleep(20);
    release();
    await expect(tx).rejects.toThrow('rolled back');
    await outside;
    expect(await ids()).toEqual(['outside']);
  });

  it('nested transactions join the outer one, and its rollback takes theirs back', async () => {
    const outcomes: string[] = [];
    await expect(
      store.transaction(async () => {
        await store.sql.run("INSERT INTO uow_probe (id) VALUES ('outer')");
        await store.sql.transaction(async () => {
          await store.sql.run("INSERT INTO uow_probe (id) VALUES ('inner')");
          store.sql.afterTransaction((outcome) => outcomes.push(outcome));
        });
        expect(await ids()).toEqual(['inner', 'outer']);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(await ids()).toEqual([]);
    expect(outcomes).toEqual(['rolled-back']);
  });

  it('repositories join the transaction of the calling context (audit entry and device roll back together)', async () => {
    const actor = `uow-${driver.name}-${Date.now()}`;
    await expect(
      store.transaction(async () => {
        await store.audit.append({ at: new Date().toISOString(), actor, action: 'test', status: 200, outcome: 'ok' });
        await store.devices.insert([{ id: `${actor}-dev`, secretHash: 'h', tags: {}, createdAt: new Date().toISOString() }]);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(await store.audit.list({ limit: 5, actor })).toEqual([]);
    expect(await store.devices.get(`${actor}-dev`)).toBeUndefined();
  });

  if (driver.name === 'postgres') {
    it('a transaction whose connection dies fails with STORE_FAILED, and the store keeps working', async () => {
      await expect(
        store.transaction(async () => {
          await store.sql.run("INSERT INTO uow_probe (id) VALUES ('lost')");
          await store.sql.get('SELECT pg_terminate_backend(pg_backend_pid())');
        }),
      ).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await store.sql.run("INSERT INTO uow_probe (id) VALUES ('after')");
      expect(await ids()).toEqual(['after']);
    });
  }

  it('32 concurrent event appends get 32 distinct, consecutive sequence numbers', async () => {
    const rollouts = createRolloutStore(store.sql);
    const before = (await rollouts.eventsAfter(0, undefined, 10_000)).length;
    // As in the engine, the appends arrive while another unit of work (a desired-state write) is open.
    const other = store.transaction(async () => {
      await store.sql.run("INSERT INTO uow_probe (id) VALUES ('other')");
      await sleep(30);
    });
    await sleep(2);
    const events = await Promise.all(Array.from({ length: 32 }, (_, i) => rollouts.appendEvent(`ro-seq-${driver.name}`, Date.now(), 'test', { i })));
    await other;
    const seqs = events.map((e) => e.id).sort((x, y) => x - y);
    expect(new Set(seqs).size).toBe(32);
    expect(seqs[31]! - seqs[0]!).toBe(31);
    expect((await rollouts.eventsAfter(0, undefined, 10_000)).length).toBe(before + 32);
  });

  it("a rollout's desired-state write racing an operator PUT loses neither change", async () => {
    const deviceId = `race-${driver.name}`;
    await store.devices.insert([{ id: deviceId, secretHash: 'h', tags: {}, createdAt: new Date().toISOString() }]);
    const published: number[] = [];
    const bus = { publish: async () => undefined } as unknown as DeviceBus;
    const publisher = createDesiredStatePublisher({ store, bus, clock: systemClock, logger: pino({ level: 'silent' }) });
    publisher.onPublished((s) => published.push(s.generation));
    await publisher.setDeviceModels(deviceId, [model('det', '1.0.0', 1)]);

    // The operator's PUT lands between the rollout's read of the device's models and its write.
    const real = desiredStatePortFrom(publisher);
    let raced = false;
    const racing: DesiredStatePort = {
      ...real,
      async getDesiredModels(id) {
        const current = await real.getDesiredModels(id);
        if (!raced) {
          raced = true;
          await publisher.setDeviceModels(id, [model('det', '1.0.0', 1), model('ocr', '3.0.0', 3)]);
        }
        return current;
      },
    };
    const rollouts = createRolloutStore(store.sql);
    const now = Date.now();
    const rollout: RolloutRow = {
      id: `ro-race-${driver.name}`, model: 'det', version: '2.0.0', state: 'running', createdBy: 'test', createdAt: now, startAt: now, updatedAt: now,
      spec: { model: 'det', version: '2.0.0', target: { kind: 'all' } } as RolloutRow['spec'],
    };
    await rollouts.insertRollout(rollout);
    await rollouts.insertDevice({ rolloutId: rollout.id, deviceId, wave: 0, state: 'pending', notifyCount: 0, enteredAt: now, updatedAt: now });
    const device = (await rollouts.getDevice(rollout.id, deviceId))!;

    const outcome = await notifyDevice(rollouts, racing, rollout, device, model('det', '2.0.0', 2));
    const final = await publisher.get(deviceId);
    expect(final?.models.map((m) => `${m.name}@${m.version}`).sort()).toEqual(['det@2.0.0', 'ocr@3.0.0']);
    expect(final?.generation).toBe(3);
    expect(outcome.generation).toBe(3);
    // The rollout's `previous` is what the device had when its write went in, not the stale read.
    expect((await rollouts.getDevice(rollout.id, deviceId))?.previous).toMatchObject({ name: 'det', version: '1.0.0' });
    expect(published).toEqual([1, 2, 3]);
  });
});
