/**
 * The rollout engine end to end at the engine level: real SQLite file, the real service, and
 * in-process devices that answer desired states with the agent's deployment events (issue 7).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tmpDataDir, type TmpDir } from '../helpers/index.js';
import { createLease, createMemoryLeaseStore } from '@edgefleet/control-plane';
import { createHarness, fleet, type Harness } from './rollout-harness.js';

let dir: TmpDir | undefined;
let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  await dir?.cleanup();
  h = undefined;
  dir = undefined;
});

async function setup(n: number, extra: Partial<Parameters<typeof createHarness>[0]> = {}): Promise<Harness> {
  dir = await tmpDataDir('rollout-engine-');
  h = await createHarness({ dir: dir.path, devices: fleet(n), model: 'det', versions: ['1', '2'], initialVersion: '1', ...extra });
  return h;
}

const MIN = 60_000;
const strategy = { waves: [{ count: 1 }, { percent: 10 }, { percent: 100 }], bakeMs: 5 * MIN, ratePerMinute: 0 };

/** Publishes per device for this rollout's version: the engine must never notify a device twice. */
function notifyCounts(harness: Harness, version: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of harness.desired.published) if (p.models.some((m) => m.version === version && m.rolloutId)) counts.set(p.deviceId, (counts.get(p.deviceId) ?? 0) + 1);
  return counts;
}

async function bakeThrough(harness: Harness, waves: number): Promise<void> {
  for (let i = 0; i < waves; i++) {
    await harness.settle();
    harness.clock.advance(5 * MIN + 1);
    await harness.settle();
  }
}

describe('rollout engine', () => {
  it('a wall-clock step back on the control plane does not park the engine: a new rollout starts at once', async () => {
    const harness = await setup(3);
    // The engine ran its first pass at start; then NTP steps the wall clock back an hour.
    await new Promise((r) => setTimeout(r, 200));
    const real = Date.now();
    const stepped = vi.spyOn(Date, 'now').mockImplementation(() => real - 3_600_000);
    try {
      // No settle(): only the engine's own wake-up (queued by create) may run the pass.
      const created = await harness.service.operations.create({ model: 'det', version: '2', target: { kind: 'all' as const }, strategy }, 'alice');
      expect(created.state).toBe('scheduled');
      let state = created.state;
      for (let i = 0; i < 100 && state === 'scheduled'; i++) {
        await new Promise((r) => setTimeout(r, 20));
        state = (await harness.service.operations.view(created.id, false)).state;
      }
      expect(state).toBe('running');
    } finally {
      stepped.mockRestore();
    }
  });

  it('decides only while it holds the lease: a follower takes no step, decisions carry the term, a lapsed term stops the engine', async () => {
    let t = 0;
    const leases = createMemoryLeaseStore(() => t);
    const lease = createLease({ replicaId: 'r1', ttlMs: 3000, store: leases, monotonic: () => t });
    await leases.acquire('r2', 3000);
    await lease.step();
    const harness = await setup(5, { lease });
    const ops = harness.service.operations;
    // Operator actions are served by any replica; the engine's decisions wait for the leader.
    const created = await ops.create({ model: 'det', version: '2', target: { kind: 'all' }, strategy }, 'alice');
    await harness.settle();
    expect((await ops.view(created.id)).state).toBe('scheduled');
    expect(harness.desired.published).toHaveLength(0);

    t += 3000;
    await lease.step();
    expect(lease.status()).toEqual({ replica: 'r1', leader: true, token: 2 });
    await harness.settle();
    expect((await ops.view(created.id, true)).waves[0]).toMatchObject({ state: 'baking' });
    const rows = await harness.sql.all<{ type: string; data: string }>('SELECT type, data FROM rollout_events WHERE rollout_id = ? ORDER BY seq', [created.id]);
    const stamps = rows.map((r) => ({ type: r.type, lease: (JSON.parse(r.data) as { lease?: unknown }).lease }));
    // The operator's create is not an engine decision; everything after it is, by term 2 of r1.
    expect(stamps[0]).toEqual({ type: 'rollout-state', lease: undefined });
    expect(stamps.slice(1).every((x) => JSON.stringify(x.lease) === JSON.stringify({ replica: 'r1', token: 2 }))).toBe(true);
    expect(stamps.length).toBeGreaterThan(3);

    // No renewal for a TTL (frozen, or the database unreachable): the next bake expiry is not acted on.
    t += 3000;
    const published = harness.desired.published.length;
    harness.clock.advance(5 * MIN + 1);
    await harness.settle();
    expect(lease.isLeader()).toBe(false);
    expect(harness.desired.published).toHaveLength(published);
    expect((await ops.view(created.id, true)).waves[0]).toMatchObject({ state: 'baking' });
  });

  it('takes a good version canary → 10% → 100%, and the dry-run waves equal the executed waves', async () => {
    const harness = await setup(20);
    const ops = harness.service.operations;
    const request = { model: 'det', version: '2', target: { kind: 'all' as const }, strategy };
    const plan = await ops.dryRun(request);
    expect(plan.waves.map((w) => w.deviceIds.length)).toEqual([1, 1, 18]);
    expect(harness.desired.published).toHaveLength(0);

    const created = await ops.create(request, 'alice');
    expect(created.state).toBe('scheduled');
    await harness.settle();
    let view = await ops.view(created.id, true);
    expect(view.state).toBe('running');
    expect(view.waves[0]).toMatchObject({ state: 'baking', size: 1 });
    // Wave 1 waits for the canary's bake.
    expect(view.waves[1]?.counts.pending).toBe(1);

    await bakeThrough(harness, 3);
    view = await ops.view(created.id, true);
    expect(view.state).toBe('succeeded');
    expect(view.counts.succeeded).toBe(20);
    expect(view.waves.map((w) => w.state)).toEqual(['passed', 'passed', 'passed']);
    const executed = view.waves.map((w) => view.devices!.filter((d) => d.wave === w.index).map((d) => d.deviceId));
    expect(executed).toEqual(plan.waves.map((w) => w.deviceIds));
    expect([...harness.desiredVersions('det').values()].every((v) => v === '2')).toBe(true);
    expect([...notifyCounts(harness, '2').values()].every((n) => n === 1)).toBe(true);
    expect(view.waves[2]!.gates.find((g) => g.gate === 'p95-latency-ratio')).toMatchObject({ status: 'pass', value: 1 });
    expect(harness.audit.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['rollout.create', 'rollout.running', 'rollout.wave.passed', 'rollout.succeeded']));
  });

  it('halts at the canary when the smoke test fails, and the canary ends on the previous version', async () => {
    const harness = await setup(10);
    harness.behaviour.set('2', 'smoke-fail');
    const created = await harness.service.operations.create({ model: 'det', version: '2', target: { kind: 'all' }, strategy }, 'alice');
    await harness.settle();
    const view = await harness.service.operations.view(created.id, true);
    expect(view.state).toBe('rolled-back');
    expect(view.halt).toMatchObject({ gate: 'whole-wave-failed', wave: 0 });
    expect(view.devices!.find((d) => d.wave === 0)).toMatchObject({ state: 'failed', error: { code: 'SMOKE_TEST_FAILED' } });
    expect(view.counts.pending).toBe(9);
    expect(new Set(harness.desiredVersions('det').values())).toEqual(new Set(['1']));
    // Only the canary was touched: one publish of v2 and one of v1 back.
    expect(harness.desired.published.map((p) => p.deviceId)).toEqual(['dev-000', 'dev-000']);
  });

  it('rolls back a version 3× slower than the control cohort (p95 latency gate)', async () => {
    const harness = await setup(40);
    harness.behaviour.set('2', { p95LatencyMs: 30 });
    const gates = { minLatencySamples: 50 };
    const created = await harness.service.operations.create({ model: 'det', version: '2', target: { kind: 'all' }, strategy, gates }, 'alice');
    await harness.settle();
    const view = await harness.service.operations.view(created.id, true);
    expect(view.state).toBe('rolled-back');
    expect(view.halt?.gate).toBe('p95-latency-ratio');
    const latency = view.halt!.results.find((r) => r.gate === 'p95-latency-ratio')!;
    expect(latency).toMatchObject({ status: 'fail', value: 3, threshold: 2, control: 10, minSamples: 50 });
    expect(view.devices!.find((d) => d.wave === 0)?.state).toBe('rolled-back');
    expect(new Set(harness.desiredVersions('det').values())).toEqual(new Set(['1']));
  });

  it('resumes after a restart mid-wave and never notifies a device twice, even when it crashed between publish and record', async () => {
    const harness = await setup(20);
    const created = await harness.service.operations.create({ model: 'det', version: '2', target: { kind: 'all' }, strategy }, 'alice');
    await bakeThrough(harness, 1);
    // Crash in the middle of notifying wave 2: the publish for dev-005 lands, its record does not.
    let publishes = 0;
    const realSet = harness.desired.setDeviceModels.bind(harness.desired);
    harness.desired.setDeviceModels = async (id, models) => {
      const result = await realSet(id, models);
      if (++publishes === 4) throw new Error('simulated crash after publish');
      return result;
    };
    await harness.service.engine.tick().catch(() => undefined);
    await harness.settle().catch(() => undefined);
    harness.desired.setDeviceModels = realSet;
    await harness.restart();
    await bakeThrough(harness, 3);
    const view = await harness.service.operations.view(created.id, true);
    expect(view.state).toBe('succeeded');
    expect(view.counts.succeeded).toBe(20);
    const counts = notifyCounts(harness, '2');
    expect(counts.size).toBe(20);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const generations = harness.desired.published.map((p) => `${p.deviceId}#${p.generation}`);
    expect(new Set(generations).size).toBe(generations.length);
  });

  it('holds notifications until the maintenance window opens (injected clock)', async () => {
    const harness = await setup(3);
    harness.clock.set(Date.parse('2026-11-26T12:00:00Z'));
    const schedule = { window: { cron: '0 2 * * *', durationMinutes: 60, timezone: 'Europe/Berlin' } };
    const created = await harness.service.operations.create({ model: 'det', version: '2', target: { kind: 'all' }, strategy: { ...strategy, bakeMs: 0 }, schedule }, 'alice');
    const plan = await harness.service.operations.dryRun({ model: 'det', version: '2', target: { kind: 'all' }, strategy, schedule });
    expect(plan.startsAt).toBe('2026-11-27T01:00:00.000Z');
    await harness.settle();
    expect(harness.desired.published).toHaveLength(0);
    expect((await harness.service.operations.view(created.id)).state).toBe('running');
    harness.clock.set(Date.parse('2026-11-27T00:59:00Z'));
    await harness.settle();
    expect(harness.desired.published).toHaveLength(0);
    harness.clock.set(Date.parse('2026-11-27T01:00:00Z'));
    await harness.settle();
    expect(harness.desired.published.length).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) {
      harness.clock.advance(1000);
      await harness.settle();
    }
    expect((await harness.service.operations.view(created.id)).state).toBe('succeeded');
  });

  it('times out a device that stops progressing and skips an offline one; a wave where all failed halts', async () => {
    const harness = await setup(2);
    harness.behaviour.set('2', 'silent');
    harness.directory.upsert({ id: 'dev-001', tags: {}, online: false });
    const created = await harness.service.operations.create(
      { model: 'det', version: '2', target: { kind: 'all' }, strategy: { waves: [{ percent: 100 }], bakeMs: 0, ratePerMinute: 0, deviceDeadlineMs: MIN } },
      'alice',
    );
    await harness.settle();
    expect((await harness.service.operations.view(created.id)).counts.notified).toBe(2);
    harness.clock.advance(MIN + 1);
    await harness.settle();
    const view = await harness.service.operations.view(created.id, true);
    expect(view.devices!.map((d) => [d.deviceId, d.state, d.error?.code ?? d.reason])).toEqual([
      ['dev-000', 'failed', 'ROLLOUT_DEVICE_TIMEOUT'],
      ['dev-001', 'skipped', 'offline'],
    ]);
    // The skipped device does not count; the only notified device failed: the whole wave failed.
    expect(view.state).toBe('rolled-back');
    expect(view.halt?.gate).toBe('whole-wave-failed');
    expect(new Set(harness.desiredVersions('det').values())).toEqual(new Set(['1']));
  });

  it('retries a failed device with a new generation and completes', async () => {
    const harness = await setup(6);
    harness.deviceBehaviour.set('dev-000', 'silent');
    const created = await harness.service.operations.create(
      { model: 'det', version: '2', target: { kind: 'all' }, strategy: { waves: [{ percent: 100 }], bakeMs: 10 * MIN, ratePerMinute: 0, deviceDeadlineMs: MIN } },
      'alice',
    );
    await harness.settle();
    harness.clock.advance(MIN + 1);
    await harness.settle();
    let view = await harness.service.operations.view(created.id);
    expect(view.counts).toMatchObject({ failed: 1, baking: 5 });
    expect(view.waves[0]?.state).toBe('baking');
    harness.deviceBehaviour.delete('dev-000');
    await harness.service.operations.retry(created.id, 'bob');
    await harness.settle();
    view = await harness.service.operations.view(created.id);
    expect(view.counts).toMatchObject({ failed: 0, baking: 6 });
    harness.clock.advance(10 * MIN + 1);
    await harness.settle();
    view = await harness.service.operations.view(created.id);
    expect(view.state).toBe('succeeded');
    const gens = harness.desired.published.filter((p) => p.deviceId === 'dev-000').map((p) => p.generation);
    expect(gens).toEqual([2, 3]);
  });

  it('supports manual approval, pause/resume, late joiners and abort with revert', async () => {
    const harness = await setup(4);
    const ops = harness.service.operations;
    const created = await ops.create({ model: 'det', version: '2', target: { kind: 'all' }, strategy: { ...strategy, waves: [{ count: 1 }, { percent: 100 }], manualApproval: true } }, 'alice');
    await bakeThrough(harness, 1);
    let view = await ops.view(created.id);
    expect(view.waves[1]?.state).toBe('awaiting-approval');
    harness.directory.upsert({ id: 'dev-late', tags: {}, online: true });
    await harness.settle();
    view = await ops.view(created.id);
    expect(view.waves[1]?.size).toBe(4);

    await ops.pause(created.id, 'bob');
    await ops.approve(created.id, 'bob');
    await harness.settle();
    expect((await ops.view(created.id)).waves[1]?.state).toBe('awaiting-approval');
    await ops.resume(created.id, 'bob');
    await harness.settle();
    view = await ops.view(created.id);
    expect(view.waves[1]?.state).toBe('baking');
    expect(view.counts.baking).toBe(4);

    await ops.abort(created.id, 'revert', 'bob');
    view = await ops.view(created.id, true);
    expect(view.state).toBe('aborted');
    // Devices go back to what they had: v1, or no model at all for the late joiner.
    expect(Object.fromEntries(harness.desiredVersions('det'))).toEqual({ 'dev-000': '1', 'dev-001': '1', 'dev-002': '1', 'dev-003': '1', 'dev-late': undefined });
    await expect(ops.pause(created.id, 'bob')).rejects.toMatchObject({ code: 'ROLLOUT_INVALID_STATE' });
    expect(harness.audit.entries.filter((e) => e.actor === 'bob').map((e) => e.action)).toEqual(
      expect.arrayContaining(['rollout.pause', 'rollout.approve', 'rollout.resume', 'rollout.abort-revert']),
    );
  });

  it('rejects bad input with a clear error and writes nothing', async () => {
    const harness = await setup(2);
    const ops = harness.service.operations;
    await expect(ops.create({ model: 'det', version: '9', target: { kind: 'all' } }, 'a')).rejects.toMatchObject({ code: 'MODEL_VERSION_NOT_FOUND' });
    await expect(ops.create({ model: 'det', version: '2', target: { kind: 'tags', tags: { site: 'nowhere' } } }, 'a')).rejects.toMatchObject({ code: 'ROLLOUT_NO_TARGETS' });
    await expect(ops.create({ model: 'det', version: '2', target: { kind: 'all' }, schedule: { cron: '99 * * * *' } }, 'a')).rejects.toMatchObject({ code: 'SCHEDULE_INVALID' });
    await expect(ops.create({ model: 'det', version: '2', target: { kind: 'all' }, strategy: { waves: [] } }, 'a')).rejects.toMatchObject({ code: 'PAYLOAD_INVALID' });
    await expect(ops.view('nope')).rejects.toMatchObject({ code: 'ROLLOUT_NOT_FOUND' });
    expect(await ops.list()).toEqual([]);
  });

  it('a plan that fails before the rollout starts leaves nothing behind, and the next pass plans it once', async () => {
    const harness = await setup(5);
    // A crash between the wave inserts and the state change, at the database.
    await harness.sql.exec("CREATE TRIGGER crash_on_start BEFORE UPDATE OF state ON rollouts WHEN NEW.state = 'running' BEGIN SELECT RAISE(ABORT, 'crash before the rollout starts'); END");
    const created = await harness.service.operations.create({ model: 'det', version: '2', target: { kind: 'all' as const }, strategy }, 'alice');
    await expect(harness.service.engine.tick()).rejects.toThrow(/crash before the rollout starts/);
    const count = async (table: string): Promise<number> => Number((await harness.sql.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE rollout_id = ?`, [created.id]))!.n);
    expect([await count('rollout_waves'), await count('rollout_devices')]).toEqual([0, 0]);
    expect((await harness.service.operations.view(created.id, false)).state).toBe('scheduled');

    await harness.sql.exec('DROP TRIGGER crash_on_start');
    await harness.settle();
    expect((await harness.service.operations.view(created.id, false)).state).toBe('running');
    expect([await count('rollout_waves'), await count('rollout_devices')]).toEqual([3, 5]);
  });
});
