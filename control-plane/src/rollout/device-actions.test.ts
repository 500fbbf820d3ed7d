import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DesiredModel } from '@edgefleet/shared';
import { migrate } from '../store/migrations.js';
import type { SqlDatabase } from '../store/sql-database.js';
import { createSqliteDatabase } from '../store/sqlite-database.js';
import { DESIRED_WRITE_ATTEMPTS, notifyDevice, revertDevice } from './device-actions.js';
import { memoryDesiredState } from './memory-ports.js';
import type { DesiredStatePort } from './ports.js';
import { ROLLOUT_MIGRATIONS, createRolloutStore, type DeviceRow, type RolloutRow, type RolloutStore } from './rollout-store.js';

const dirs: string[] = [];
const dbs: SqlDatabase[] = [];
afterEach(async () => {
  for (const db of dbs.splice(0)) await db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const model = (name: string, version: string): DesiredModel => ({ name, version, artifact: { sha256: 'a'.repeat(64), size: 1, createdAt: new Date(0).toISOString(), signature: 's' } });
const rollout: RolloutRow = { id: 'ro-1', model: 'det', version: '2', state: 'running', createdBy: 't', createdAt: 0, startAt: 0, updatedAt: 0, spec: { model: 'det', version: '2', target: { kind: 'all' } } as RolloutRow['spec'] };

async function setup(): Promise<{ store: RolloutStore; device: DeviceRow }> {
  const dir = mkdtempSync(join(tmpdir(), 'device-actions-'));
  dirs.push(dir);
  const db = createSqliteDatabase(join(dir, 'cp.db'));
  dbs.push(db);
  await migrate(db, 'rollout', ROLLOUT_MIGRATIONS);
  const store = createRolloutStore(db);
  await store.insertRollout(rollout);
  await store.insertDevice({ rolloutId: rollout.id, deviceId: 'd1', wave: 0, state: 'pending', notifyCount: 0, enteredAt: 0, updatedAt: 0 });
  return { store, device: (await store.getDevice(rollout.id, 'd1'))! };
}

/** A port where another writer changes the device's models right after each of the first `races` reads. */
function racing(races: number): DesiredStatePort & { inner: ReturnType<typeof memoryDesiredState> } {
  const inner = memoryDesiredState();
  inner.states.set('d1', { generation: 1, models: [model('det', '1')] });
  let left = races;
  return {
    inner,
    async getDesiredModels(id) {
      const read = await inner.getDesiredModels(id);
      if (left-- > 0) await inner.setDeviceModels(id, [...read.models.filter((m) => m.name !== `other-${left}`), model(`other-${left}`, '1')]);
      return read;
    },
    setDeviceModels: (id, models, expected) => inner.setDeviceModels(id, models, expected),
  };
}

describe('desired-state read-modify-write (compare-and-set)', () => {
  it('retries on the fresh state and keeps every concurrent change', async () => {
    const { store, device } = await setup();
    const port = racing(3);
    const outcome = await notifyDevice(store, port, rollout, device, model('det', '2'));
    const final = port.inner.states.get('d1')!;
    expect(final.models.map((m) => `${m.name}@${m.version}`).sort()).toEqual(['det@2', 'other-0@1', 'other-1@1', 'other-2@1']);
    expect(outcome).toEqual({ generation: final.generation, published: true });
    // Only the winning attempt published.
    expect(port.inner.published.filter((p) => p.models.some((m) => m.rolloutId === rollout.id))).toHaveLength(1);
  });

  it('gives up with STORE_CONFLICT after its bounded attempts', async () => {
    const { store, device } = await setup();
    const port = racing(DESIRED_WRITE_ATTEMPTS);
    await expect(notifyDevice(store, port, rollout, device, model('det', '2'))).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
    expect(port.inner.states.get('d1')!.models.some((m) => m.rolloutId === rollout.id)).toBe(false);
  });

  it('reverts on the fresh state too', async () => {
    const { store, device } = await setup();
    const port = racing(0);
    await notifyDevice(store, port, rollout, device, model('det', '2'));
    const notified = (await store.getDevice(rollout.id, 'd1'))!;
    const again = racing(2);
    again.inner.states.set('d1', port.inner.states.get('d1')!);
    await revertDevice(again, rollout, notified);
    expect(again.inner.states.get('d1')!.models.map((m) => `${m.name}@${m.version}`).sort()).toEqual(['det@1', 'other-0@1', 'other-1@1']);
  });
});
