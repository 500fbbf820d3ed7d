/**
 * The rollout engine (issue 7): a reconcile loop over the rollouts in the store. Each pass reads a
 * snapshot, asks steps.ts for typed steps and applies them; deployment events from agents and
 * operator actions trigger a pass (coalesced). Every state lives in the store, so a restarted engine
 * continues from where the last one stopped. Operator actions are in rollout-operations.ts.
 */
import { randomUUID } from 'node:crypto';
import { EdgefleetError, type DeploymentEvent, type RolloutEvent } from '@edgefleet/shared';
import { createSoloLease, isLeaseLost, type SingletonGate } from '../lease/lease.js';
import { deadlineFor, transitionOnEvent, type DeviceTransition } from './device-state.js';
import { notifyDevice, revertDevice } from './device-actions.js';
import { evaluateGates, type GateVerdict } from './gates.js';
import { matchesTarget, planWaves, type WavePlan } from './planner.js';
import { incompatibility } from './compatibility.js';
import type { RolloutPorts } from './ports.js';
import type { DeviceRow, RolloutRow, RolloutStore, WaveRow } from './rollout-store.js';
import { windowState } from './schedule.js';
import { installNumbers, planSteps, type Step } from './steps.js';

export interface RolloutEngineOptions {
  store: RolloutStore;
  ports: RolloutPorts;
  /** Period of the reconcile loop. @default 1000 */
  tickIntervalMs?: number;
  /** @default 2000 */
  maxNotifyPerPass?: number;
  /**
   * Least time between the starts of two woken passes. Every deployment event wakes the loop, and
   * at 10,000 devices back-to-back passes over the whole rollout took a fifth of the control
   * plane's CPU (issue 10); a wave transition waits at most this long. @default 100
   */
  minPassIntervalMs?: number;
  onError?: (err: unknown) => void;
  /**
   * The singleton lease (issue 16): passes, schedule firing and deployment-event transitions run
   * only on the replica that holds it, each step fenced by its token. Operator actions run on any
   * replica. @default one process that always leads
   */
  lease?: SingletonGate;
}

export type RolloutEventListener = (event: RolloutEvent) => void;

const ENGINE = 'rollout-engine';
/** Desired-state publishes in flight at once during a notify step. */
const NOTIFY_CONCURRENCY = 32;

export function createRolloutEngine(options: RolloutEngineOptions) {
  const { store, ports } = options;
  const random = ports.random ?? Math.random;
  const lease = options.lease ?? createSoloLease('local');
  const listeners = new Set<RolloutEventListener>();
  const windowCache = new Map<string, { open: boolean; validUntil: number }>();
  let chain: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let tickQueued = false;
  let lastPassAt = -Infinity;
  let state: 'idle' | 'running' | 'stopped' = 'idle';
  // True while one of the engine's own fenced steps runs. Passes, events and operator actions all
  // run one at a time on `chain`, so one flag tells an engine decision from an operator's.
  let deciding = false;

  /**
   * One engine decision: runs only while this replica's lease term is current (checked under the
   * store's lock), and every event it records carries the replica and token (the fault campaign
   * counts a stale leader's decisions from them).
   */
  async function decide<T>(fn: () => Promise<T>): Promise<T> {
    return await lease.fenced(async () => {
      deciding = true;
      try {
        return await fn();
      } finally {
        deciding = false;
      }
    });
  }

  /** Runs `fn` after everything queued before it: passes and operations never interleave. */
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const result = chain.then(fn);
    chain = result.catch(() => undefined);
    return result;
  }

  async function emit(rolloutId: string, type: string, data: Record<string, unknown>): Promise<void> {
    // A process frozen mid-step (SIGSTOP) wakes here with its term lapsed: nothing more is recorded.
    if (deciding) lease.assertHeld();
    const stamp = deciding ? lease.stamp() : undefined;
    const event = await store.appendEvent(rolloutId, ports.clock.now(), type, stamp ? { ...data, lease: stamp } : data);
    // Inside a unit of work (planning, a fenced step) listeners hear of the event only once it is committed.
    store.db.afterTransaction((outcome) => {
      if (outcome === 'committed') for (const l of listeners) l(event);
    });
  }

  async function audit(actor: string, action: string, subject: string, details?: Record<string, unknown>): Promise<void> {
    await ports.audit.record({ actor, action, subject, ...(details ? { details } : {}) });
  }

  async function setRolloutState(r: RolloutRow, next: RolloutRow['state'], actor: string, extra: Parameters<RolloutStore['updateRollout']>[1] = {}): Promise<void> {
    const now = ports.clock.now();
    const finished = ['succeeded', 'halted', 'rolled-back', 'aborted'].includes(next);
    await store.updateRollout(r.id, { state: next, updatedAt: now, ...(finished ? { finishedAt: now } : {}), ...extra });
    await emit(r.id, 'rollout-state', { from: r.state, to: next, actor });
    await audit(actor, `rollout.${next}`, r.id, { from: r.state });
  }

  async function moveDevice(r: RolloutRow, d: DeviceRow, t: DeviceTransition, cause: string): Promise<void> {
    const now = ports.clock.now();
    const deadline = deadlineFor(t.state, now, r.spec.strategy.deviceDeadlineMs);
    await store.updateDevice(r.id, d.deviceId, {
      state: t.state,
      errorCode: t.errorCode ?? null,
      reason: t.reason ?? null,
      enteredAt: now,
      deadlineAt: deadline ?? null,
      updatedAt: now,
    });
    await emit(r.id, 'device', { deviceId: d.deviceId, from: d.state, to: t.state, cause, ...(t.errorCode ? { code: t.errorCode } : {}), ...(t.reason ? { reason: t.reason } : {}) });
  }

  async function isWindowOpen(r: RolloutRow, now: number): Promise<boolean> {
    const window = r.spec.schedule?.window;
    if (!window) return true;
    const cached = windowCache.get(r.id);
    if (cached && cached.validUntil > now) return cached.open;
    const ws = windowState(window, now);
    const validUntil = ws.open ? ws.closesAtMs! : (ws.opensAtMs ?? now + 60_000);
    windowCache.set(r.id, { open: ws.open, validUntil });
    if (!ws.open) await emit(r.id, 'window-closed', { opensAt: ws.opensAtMs ? new Date(ws.opensAtMs).toISOString() : null });
    return ws.open;
  }

  async function verdictFor(r: RolloutRow, wave: WaveRow, devices: readonly DeviceRow[], now: number): Promise<GateVerdict> {
    const install = installNumbers(devices, wave.index);
    const updated = devices.filter((d) => d.wave === wave.index && (d.state === 'baking' || d.state === 'succeeded'));
    if (updated.length === 0) return evaluateGates(r.spec.gates, install);
    const from = wave.startedAt ?? now;
    const waveHealth = await ports.health.cohortHealth({ model: r.model, version: r.version, deviceIds: updated.map((d) => d.deviceId), from, to: now });
    const previousVersion = updated.find((d) => d.previous)?.previous?.version;
    if (!previousVersion) return evaluateGates(r.spec.gates, { ...install, wave: waveHealth });
    // Control cohort: devices still on the previous version over the same window; when none are
    // left (the last wave) the wave's own devices before they were notified.
    const untouched = devices.filter((d) => d.state === 'pending' && d.wave > wave.index).map((d) => d.deviceId);
    const control = untouched.length
      ? await ports.health.cohortHealth({ model: r.model, version: previousVersion, deviceIds: untouched, from, to: now })
      : await ports.health.cohortHealth({ model: r.model, version: previousVersion, deviceIds: updated.map((d) => d.deviceId), from: from - Math.max(now - from, 60_000), to: from });
    return evaluateGates(r.spec.gates, { ...install, wave: waveHealth, control });
  }

  async function startRollout(r: RolloutRow, now: number): Promise<void> {
    const [devices, requirements] = await Promise.all([ports.devices.listDevices(), ports.models.requirements(r.model, r.version)]);
    const plan = planWaves(r.spec.target, r.spec.strategy.waves, devices, requirements);
    // One unit of work (issue 16): a crash or error between the first wave insert and the state
    // change leaves no half plan behind (which made every later re-plan fail on the primary key).
    await store.transaction(async () => {
      // Someone else planned it meanwhile (an operator abort, another replica): nothing to do.
      if (!(await store.claimScheduled(r.id, now))) return;
      await writePlan(r, plan, now);
    });
  }

  async function writePlan(r: RolloutRow, plan: WavePlan, now: number): Promise<void> {
    for (const [index, ids] of plan.waves.entries()) {
      await store.insertWave({ rolloutId: r.id, index, state: 'pending' });
      for (const deviceId of ids) await store.insertDevice({ rolloutId: r.id, deviceId, wave: index, state: 'pending', notifyCount: 0, enteredAt: now, updatedAt: now });
    }
    for (const s of plan.skipped) {
      await store.insertDevice({ rolloutId: r.id, deviceId: s.deviceId, wave: 0, state: 'skipped', reason: 'incompatible', errorCode: 'DEVICE_INCOMPATIBLE', notifyCount: 0, enteredAt: now, updatedAt: now });
      await emit(r.id, 'device', { deviceId: s.deviceId, from: 'pending', to: 'skipped', reason: 'incompatible', detail: s.detail });
    }
    await emit(r.id, 'planned', { waves: plan.waves, skipped: plan.skipped.length });
    if (plan.waves.length === 0) {
      await setRolloutState(r, 'halted', ENGINE, { halt: { reason: 'the target selects no compatible device', results: [], at: new Date(now).toISOString() } });
      return;
    }
    await setRolloutState(r, 'running', ENGINE, { startedAt: now, currentWave: 0 });
  }

  async function applyStep(r: RolloutRow, devices: Map<string, DeviceRow>, step: Step, now: number): Promise<void> {
    switch (step.type) {
      case 'add-device': {
        const skipped = step.incompatible !== undefined;
        await store.insertDevice({ rolloutId: r.id, deviceId: step.deviceId, wave: step.wave, state: skipped ? 'skipped' : 'pending', ...(skipped ? { reason: 'incompatible', errorCode: 'DEVICE_INCOMPATIBLE' } : {}), notifyCount: 0, enteredAt: now, updatedAt: now });
        await emit(r.id, 'device-joined', { deviceId: step.deviceId, wave: step.wave, ...(skipped ? { skipped: step.incompatible } : {}) });
        return;
      }
      case 'device-transition': {
        const d = devices.get(step.deviceId);
        if (!d) return;
        await moveDevice(r, d, step.transition, step.cause);
        // An offline device must not pick the version up when it returns after being skipped.
        if (step.transition.state === 'skipped') await revertDevice(ports.desired, r, d);
        return;
      }
      case 'await-approval':
        await store.updateWave(r.id, step.wave, { state: 'awaiting-approval' });
        await emit(r.id, 'wave', { wave: step.wave, state: 'awaiting-approval' });
        return;
      case 'start-wave':
        await store.updateWave(r.id, step.wave, { state: 'notifying', startedAt: now });
        await emit(r.id, 'wave', { wave: step.wave, state: 'notifying' });
        await audit(ENGINE, 'rollout.wave.started', r.id, { wave: step.wave });
        return;
      case 'notify': {
        const model = await ports.models.desiredModel(r.model, r.version);
        if (!model) throw new EdgefleetError('MODEL_VERSION_NOT_FOUND', `${r.model}@${r.version} is no longer registered`);
        await store.updateRollout(r.id, { nextNotifyAt: step.nextNotifyAt, updatedAt: now });
        // Devices are independent: notify several at once (each publish waits for its broker ack).
        const queue = [...step.deviceIds];
        const worker = async (): Promise<void> => {
          for (let id = queue.shift(); id !== undefined; id = queue.shift()) await notifyOne(id);
        };
        const notifyOne = async (id: string): Promise<void> => {
          const d = devices.get(id);
          if (!d) return;
          const outcome = await notifyDevice(store, ports.desired, r, d, model);
          const fresh = await store.getDevice(r.id, id);
          await store.updateDevice(r.id, id, {
            state: 'notified',
            generation: outcome.generation,
            notifyCount: d.notifyCount + (outcome.published ? 1 : 0),
            enteredAt: now,
            deadlineAt: deadlineFor('notified', now, r.spec.strategy.deviceDeadlineMs) ?? null,
            updatedAt: now,
            errorCode: null,
            reason: null,
          });
          await emit(r.id, 'device', { deviceId: id, from: fresh?.state ?? d.state, to: 'notified', generation: outcome.generation, published: outcome.published });
        };
        // allSettled: a failed publish must not end the step while other publishes are still in flight.
        const results = await Promise.allSettled(Array.from({ length: Math.min(NOTIFY_CONCURRENCY, queue.length) }, worker));
        const failed = results.find((x): x is PromiseRejectedResult => x.status === 'rejected');
        if (failed) throw failed.reason;
        return;
      }
      case 'start-bake':
        await store.updateWave(r.id, step.wave, { state: 'baking', notifiedAt: now, bakeUntil: step.bakeUntil });
        await emit(r.id, 'wave', { wave: step.wave, state: 'baking', bakeUntil: new Date(step.bakeUntil).toISOString() });
        return;
      case 'record-gates':
        await store.updateWave(r.id, step.wave, { gates: step.results });
        return;
      case 'halt': {
        const halt = { gate: step.breach.gate, wave: step.wave, reason: `gate ${step.breach.gate} breached`, results: step.results, at: new Date(now).toISOString() };
        await store.updateWave(r.id, step.wave, { state: 'failed', finishedAt: now, gates: step.results });
        await emit(r.id, 'gate-breach', { wave: step.wave, gate: step.breach.gate, value: step.breach.value, threshold: step.breach.threshold, samples: step.breach.samples });
        await setRolloutState(r, 'halted', ENGINE, { halt });
        if (step.rollback) {
          const all = await store.getDevices(r.id);
          await revertDevices({ ...r, state: 'halted' }, all.filter((d) => d.wave === step.wave), ENGINE, 'gate breach');
          await setRolloutState({ ...r, state: 'halted' }, 'rolled-back', ENGINE);
        }
        return;
      }
      case 'pass-wave': {
        await store.updateWave(r.id, step.wave, { state: 'passed', finishedAt: now });
        const all = await store.getDevices(r.id);
        for (const d of all.filter((x) => x.wave === step.wave && x.state === 'baking')) await moveDevice(r, d, { state: 'succeeded' }, 'wave-passed');
        await emit(r.id, 'wave', { wave: step.wave, state: 'passed' });
        await audit(ENGINE, 'rollout.wave.passed', r.id, { wave: step.wave });
        if (step.next === undefined) await setRolloutState(r, 'succeeded', ENGINE);
        else await store.updateRollout(r.id, { currentWave: step.next, updatedAt: now });
        return;
      }
    }
  }

  /** Puts touched devices back on what they had before this rollout. */
  async function revertDevices(r: RolloutRow, devices: readonly DeviceRow[], actor: string, why: string): Promise<number> {
    let reverted = 0;
    for (const d of devices) {
      // Never-notified devices have nothing to revert; failed and skipped ones keep their state but get their old desired entry back.
      if (d.previous === undefined) continue;
      const generation = await revertDevice(ports.desired, r, d);
      if (!['failed', 'rolled-back', 'skipped'].includes(d.state)) await moveDevice(r, d, { state: 'rolled-back', reason: why }, actor);
      if (generation !== undefined) reverted++;
    }
    await audit(actor, 'rollout.devices.reverted', r.id, { devices: reverted, reason: why });
    return reverted;
  }

  async function reconcile(r: RolloutRow): Promise<void> {
    const now = ports.clock.now();
    if (r.state === 'scheduled') {
      if (now >= r.startAt) await decide(() => startRollout(r, now));
      return;
    }
    const [waves, devices, fleet] = await Promise.all([store.getWaves(r.id), store.getDevices(r.id), ports.devices.listDevices()]);
    const held = new Set(devices.map((d) => d.deviceId));
    const requirements = await ports.models.requirements(r.model, r.version);
    const joiners = fleet
      .filter((f) => !held.has(f.id) && matchesTarget(r.spec.target, f))
      .map((f) => ({ deviceId: f.id, ...(incompatibility(f, requirements) ? { incompatible: incompatibility(f, requirements)! } : {}) }));
    const byId = new Map(devices.map((d) => [d.deviceId, d]));
    const reportedActive = new Set<string>();
    for (const f of fleet) {
      const d = byId.get(f.id);
      const m = f.reported?.models.find((x) => x.name === r.model);
      if (d?.generation !== undefined && m?.active === r.version && (f.reported?.appliedGeneration ?? 0) >= d.generation) reportedActive.add(f.id);
    }
    const current = waves[r.currentWave ?? 0];
    const verdict = r.state === 'running' && current && (current.state === 'notifying' || current.state === 'baking') ? await verdictFor(r, current, devices, now) : undefined;
    const steps = planSteps({
      now,
      rollout: r,
      waves,
      devices,
      joiners,
      online: new Map(fleet.map((f) => [f.id, f.online])),
      reportedActive,
      windowOpen: r.state === 'running' ? await isWindowOpen(r, now) : false,
      ...(verdict ? { verdict } : {}),
      random,
      maxNotifyPerPass: options.maxNotifyPerPass ?? 2000,
    });
    for (const step of steps) await decide(() => applyStep(r, byId, step, now));
  }

  async function pass(): Promise<void> {
    if (!lease.isLeader()) return;
    for (const r of await store.listRollouts(['scheduled', 'running', 'paused'])) {
      try {
        await reconcile(r);
      } catch (err) {
        // The term ended mid-pass: stand down now, the next leader redoes what is left.
        if (isLeaseLost(err)) return;
        options.onError?.(err);
      }
    }
  }

  async function handleEvent(event: DeploymentEvent): Promise<void> {
    // An agent may leave rolloutId out of an event; the generation tells which rollout published it.
    const rolloutId = event.rolloutId ?? (await store.rolloutForGeneration(event.deviceId, event.model, event.generation));
    if (!rolloutId) return;
    const r = await store.getRollout(rolloutId);
    const d = r ? await store.getDevice(r.id, event.deviceId) : undefined;
    if (!r || !d) return;
    const t = transitionOnEvent(d, r.version, event);
    if (t) await decide(() => moveDevice(r, d, t, `event:${event.type}`));
  }

  function queueTick(): void {
    if (tickQueued || state !== 'running') return;
    tickQueued = true;
    // Monotonic: a wall-clock step back must not park the next pass (and every later one) for hours.
    const wait = lastPassAt + (options.minPassIntervalMs ?? 100) - performance.now();
    const later = (fn: () => void): void => void (wait > 0 ? setTimeout(fn, wait) : setImmediate(fn));
    later(() => {
      if (state !== 'running') {
        tickQueued = false;
        return;
      }
      // Stays queued until the pass starts: it runs after everything already on the chain, so the
      // events that finish meanwhile need no pass of their own (at 10,000 devices each pass lists
      // the fleet, and one per event kept the loop busy; issue 10).
      const queuedPass = async (): Promise<void> => {
        tickQueued = false;
        lastPassAt = performance.now();
        await pass();
      };
      serial(queuedPass).catch((err: unknown) => {
        try {
          options.onError?.(err);
        } catch {
          // A throwing error handler must not become an unhandled rejection of the loop.
        }
      });
    });
  }

  return {
    store,
    ports,
    serial,
    emit,
    audit,
    setRolloutState,
    moveDevice,
    revertDevices,
    /** One reconcile pass over every active rollout (tests call it with an injected clock). */
    tick: (): Promise<void> => serial(pass),
    handleDeploymentEvent: (event: DeploymentEvent): Promise<void> => serial(() => handleEvent(event)),
    /** Wakes the loop now instead of at the next interval. */
    queueTick,
    newId: (): string => `ro-${randomUUID().slice(0, 8)}`,
    onEvent(listener: RolloutEventListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async start(): Promise<void> {
      if (state !== 'idle') throw new EdgefleetError('LIFECYCLE_INVALID_STATE', `rollout engine is ${state}`);
      state = 'running';
      // The returned promise settles once the event is stored: the device bus acks it to the agent only then (issue 10).
      unsubscribe = ports.events.onDeploymentEvent((event) => {
        // Every replica hears every deployment event; only the leader applies (and so acks) it.
        // The source reads `applies` right after this returns, in the same tick.
        if (!lease.isLeader()) return;
        return serial(() => handleEvent(event)).then(queueTick, (err: unknown) => {
          if (!isLeaseLost(err)) options.onError?.(err);
          throw err;
        });
      }, { applies: () => lease.isLeader() });
      timer = setInterval(queueTick, options.tickIntervalMs ?? 1000);
      timer.unref();
      queueTick();
    },
    /** Stops intake and the loop, then waits for the pass in progress. */
    async stop(): Promise<void> {
      if (state === 'stopped') return;
      state = 'stopped';
      unsubscribe?.();
      if (timer) clearInterval(timer);
      await chain;
    },
  };
}

export type RolloutEngine = ReturnType<typeof createRolloutEngine>;
