/**
 * Operator actions on rollouts (issue 7): create (or dry-run), pause, resume, abort (keep or
 * revert), rollback, retry failed devices, approve the next wave. Each validates the rollout's
 * state, writes the store, lands in the audit log and wakes the engine.
 */
import { EdgefleetError, createRolloutRequestSchema, formatIssues, type DryRunPlan, type RolloutState, type RolloutView } from '@edgefleet/shared';
import type { RolloutEngine } from './engine.js';
import { dryRun, planWaves } from './planner.js';
import type { RolloutRow } from './rollout-store.js';
import { nextNotifyTime, scheduledStart, validateSchedule } from './schedule.js';
import { rolloutView } from './views.js';

function invalidState(r: RolloutRow, op: string, allowed: readonly RolloutState[]): EdgefleetError {
  return new EdgefleetError('ROLLOUT_INVALID_STATE', `cannot ${op} rollout ${r.id}: it is ${r.state} (allowed: ${allowed.join(', ')})`, { details: { state: r.state } });
}

export function createRolloutOperations(engine: RolloutEngine) {
  const { store, ports } = engine;

  async function load(id: string): Promise<RolloutRow> {
    const r = await store.getRollout(id);
    if (!r) throw new EdgefleetError('ROLLOUT_NOT_FOUND', `no rollout ${JSON.stringify(id)}`);
    return r;
  }

  async function view(id: string, withDevices = false): Promise<RolloutView> {
    const r = await load(id);
    const [waves, devices] = await Promise.all([store.getWaves(id), store.getDevices(id)]);
    return rolloutView(r, waves, devices, withDevices);
  }

  function parse(input: unknown) {
    const parsed = createRolloutRequestSchema.safeParse(input);
    if (!parsed.success) throw new EdgefleetError('PAYLOAD_INVALID', `rollout request is invalid: ${formatIssues(parsed.error.issues)}`, { cause: parsed.error });
    validateSchedule(parsed.data.schedule);
    return parsed.data;
  }

  async function planFor(spec: ReturnType<typeof parse>): Promise<DryRunPlan> {
    if (!(await ports.models.desiredModel(spec.model, spec.version))) {
      throw new EdgefleetError('MODEL_VERSION_NOT_FOUND', `model ${spec.model}@${spec.version} is not registered`);
    }
    const [devices, requirements] = await Promise.all([ports.devices.listDevices(), ports.models.requirements(spec.model, spec.version)]);
    const plan = planWaves(spec.target, spec.strategy.waves, devices, requirements);
    if (plan.waves.length === 0 && plan.skipped.length === 0) throw new EdgefleetError('ROLLOUT_NO_TARGETS', 'the rollout target selects no devices');
    const start = scheduledStart(spec.schedule, ports.clock.now());
    const startsAt = nextNotifyTime(spec.schedule?.window, start) ?? start;
    return dryRun({ model: spec.model, version: spec.version, plan, startsAtMs: startsAt, bakeMs: spec.strategy.bakeMs, ratePerMinute: spec.strategy.ratePerMinute, jitterMs: spec.strategy.jitterMs });
  }

  async function act(id: string, actor: string, op: string, allowed: readonly RolloutState[], fn: (r: RolloutRow) => Promise<void>): Promise<RolloutView> {
    await engine.serial(async () => {
      const r = await load(id);
      if (!allowed.includes(r.state)) throw invalidState(r, op, allowed);
      await fn(r);
      await engine.audit(actor, `rollout.${op}`, id, { from: r.state });
    });
    engine.queueTick();
    return await view(id);
  }

  return {
    view,
    async list(): Promise<RolloutView[]> {
      const rows = await store.listRollouts();
      return await Promise.all(rows.map((r) => view(r.id)));
    },
    /** The dry-run: which devices fall into which wave, and when. Writes nothing. */
    async dryRun(input: unknown): Promise<DryRunPlan> {
      return await planFor(parse(input));
    },
    async create(input: unknown, actor: string): Promise<RolloutView> {
      const spec = parse(input);
      await planFor(spec);
      const now = ports.clock.now();
      const id = engine.newId();
      await engine.serial(async () => {
        await store.insertRollout({ id, model: spec.model, version: spec.version, state: 'scheduled', spec, createdBy: actor, createdAt: now, startAt: scheduledStart(spec.schedule, now), updatedAt: now });
        await engine.emit(id, 'rollout-state', { to: 'scheduled', actor });
        await engine.audit(actor, 'rollout.create', id, { model: spec.model, version: spec.version, target: spec.target });
      });
      engine.queueTick();
      return await view(id);
    },
    pause: (id: string, actor: string) =>
      act(id, actor, 'pause', ['scheduled', 'running'], (r) => engine.setRolloutState(r, 'paused', actor)),
    resume: (id: string, actor: string) =>
      act(id, actor, 'resume', ['paused', 'halted'], async (r) => {
        if (r.state === 'halted') {
          // Resuming a halted rollout is the operator overriding the gate: the failed wave counts as passed.
          const waves = await store.getWaves(id);
          const current = r.currentWave ?? 0;
          await store.updateWave(id, current, { state: 'passed', finishedAt: ports.clock.now() });
          const next = waves.find((w) => w.index > current)?.index;
          if (next === undefined) return engine.setRolloutState(r, 'succeeded', actor, { halt: null });
          return engine.setRolloutState(r, 'running', actor, { currentWave: next, halt: null, finishedAt: null });
        }
        return engine.setRolloutState(r, r.startedAt === undefined ? 'scheduled' : 'running', actor);
      }),
    abort: (id: string, mode: 'keep' | 'revert', actor: string) =>
      act(id, actor, `abort-${mode}`, ['scheduled', 'running', 'paused', 'halted'], async (r) => {
        if (mode === 'revert') await engine.revertDevices(r, await store.getDevices(id), actor, 'aborted with revert');
        await engine.setRolloutState(r, 'aborted', actor);
      }),
    rollback: (id: string, actor: string) =>
      act(id, actor, 'rollback', ['scheduled', 'running', 'paused', 'halted', 'succeeded', 'aborted'], async (r) => {
        await engine.revertDevices(r, await store.getDevices(id), actor, 'rollout rolled back by an operator');
        await engine.setRolloutState(r, 'rolled-back', actor);
      }),
    retry: (id: string, actor: string) =>
      act(id, actor, 'retry', ['running', 'paused'], async (r) => {
        const current = r.currentWave ?? 0;
        const now = ports.clock.now();
        const devices = (await store.getDevices(id)).filter((d) => d.wave <= current && (d.state === 'failed' || d.state === 'rolled-back' || (d.state === 'skipped' && d.reason === 'offline')));
        for (const d of devices) await engine.moveDevice(r, d, { state: 'pending' }, `retry by ${actor}`);
        const wave = (await store.getWaves(id))[current];
        if (devices.length && wave?.state === 'baking') await store.updateWave(id, current, { state: 'notifying', bakeUntil: null });
        await store.updateRollout(id, { updatedAt: now });
      }),
    approve: (id: string, actor: string) =>
      act(id, actor, 'approve', ['scheduled', 'running', 'paused'], async () => {
        const waves = await store.getWaves(id);
        const wave = waves.find((w) => w.state === 'awaiting-approval') ?? waves.find((w) => w.state === 'pending' && w.approvedAt === undefined);
        if (!wave) throw new EdgefleetError('ROLLOUT_INVALID_STATE', `rollout ${id} has no wave waiting for approval`);
        await store.updateWave(id, wave.index, { approvedAt: ports.clock.now() });
        await engine.emit(id, 'wave', { wave: wave.index, approvedBy: actor });
      }),
  };
}

export type RolloutOperations = ReturnType<typeof createRolloutOperations>;
