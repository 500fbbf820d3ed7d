import type { Logger } from 'pino';
import { EdgefleetError, toEdgefleetError, type DesiredState, type InferenceWindow } from '@edgefleet/shared';
import type { Pointers } from '../store/state-store.js';
import type { DeploymentJournal } from './deployment-events.js';
import type { FailureStore } from './failure-store.js';
import { updateStatus, type StatusBoard } from './model-status.js';
import { failureKey, plan, type CurrentState, type Step } from './plan.js';
import { planRollback, type RollbackFacts, type RollbackRequest } from './rollback-planner.js';
import { acceptsDesired, initialState, transition, type Effect, type LoopEvent, type LoopState, type Work } from './transition.js';

/** The outside world of the loop: reads are synchronous (SQLite, the runtime's tables), work is async. */
export interface LoopPorts {
  logger: Logger;
  /** Monotonic ms. */
  now(): number;
  /** A timer that does not hold the process open; returns its cancel. */
  after(ms: number, fn: () => void): () => void;
  every(ms: number, fn: () => void): () => void;
  initialDesired: DesiredState | undefined;
  initialApplied: number;
  keepExtraVersions: number;
  /** Installed, loaded, active and staged as they are now (failures come from `failures`). */
  current(): Omit<CurrentState, 'failures'>;
  pointers(model: string): Pointers;
  installedSha(model: string, version: string): string | undefined;
  /** Applies one step; `startProbation` is how a step that activated a version asks for its watch. */
  runStep(step: Step, signal: AbortSignal, startProbation: (model: string, version: string, generation: number) => void): Promise<void>;
  /** active ← previous for `model` (loading and labelling it), releasing `from`; resolves to the new active. */
  switchBack(model: string, from: string): Promise<string>;
  persistDesired(desired: DesiredState): void;
  persistApplied(generation: number): void;
  failures: FailureStore;
  journal: Pick<DeploymentJournal, 'emit' | 'retry'>;
  board: StatusBoard;
  windows: { subscribe(listener: (w: InferenceWindow[]) => void): () => void; poll(): void };
  /** Asks for a (throttled) reported-state publish. */
  report(): void;
}

export interface ReconcileLoop {
  start(): void;
  setDesired(desired: DesiredState): boolean;
  trigger(): void;
  rollback(model: string, reason?: string): Promise<{ active: string; from: string }>;
  state(): LoopState;
  idle(): Promise<void>;
  stop(deadlineMs: number): Promise<void>;
}

/**
 * The driver: feeds events through `transition` one at a time, performs its effects, and turns the
 * outside world (timers, step results, commands) back into events. Timers only enqueue events;
 * work runs one at a time and its settling is an event like any other.
 */
export function createReconcileLoop(ports: LoopPorts): ReconcileLoop {
  const log = ports.logger;
  let state = initialState(ports.initialDesired, ports.initialApplied);
  const queue: LoopEvent[] = [];
  let draining = false;
  let started = false;
  let inFlight: { controller: AbortController; settled: Promise<void> } | undefined;
  let cancelWake: (() => void) | undefined;
  let unsubscribe: (() => void) | undefined;
  const watches = new Map<string, () => void>();
  const rollbackWaiters = new Map<number, { resolve: (r: { active: string; from: string }) => void; reject: (e: Error) => void }>();
  let idleWaiters: (() => void)[] = [];
  let nextRollbackId = 0;

  function dispatch(event: LoopEvent): void {
    queue.push(event);
    // Re-entrant calls (a step's synchronous callback, a window poll) queue behind the current event.
    if (draining) return;
    draining = true;
    try {
      for (let e = queue.shift() ?? pump(); e; e = queue.shift() ?? pump()) {
        const t = transition(state, e, ports.now());
        state = t.state;
        for (const effect of t.effects) {
          try {
            perform(effect);
          } catch (err) {
            // One effect's I/O failing (the store, a logger) must not leave the loop half-way.
            log.error({ err, effect: effect.type }, 'reconcile effect failed');
          }
        }
      }
    } finally {
      draining = false;
    }
  }

  /** When nothing runs and something changed: what the rollback planner or the planner says now. */
  function pump(): LoopEvent | undefined {
    if (!started || !state.dirty || state.running || state.stopped) return undefined;
    const request = state.rollbacks[0];
    if (request) return { type: 'rollback-planned', request, decision: planRollback(request, facts(request.model)) };
    try {
      return { type: 'planned', steps: plan(state.desired, readCurrent(), { keepExtraVersions: ports.keepExtraVersions }) };
    } catch (err) {
      return { type: 'plan-failed', error: toEdgefleetError(err) };
    }
  }

  function facts(model: string): RollbackFacts {
    return { pointers: ports.pointers(model), desired: state.desired, installedSha: (version) => ports.installedSha(model, version) };
  }

  function readCurrent(): CurrentState {
    const failures: CurrentState['failures'] = {};
    for (const m of state.desired?.models ?? []) {
      const f = ports.failures.get(m.name, m.version, m.artifact.sha256);
      if (f) failures[failureKey(m.name, m.version, m.artifact.sha256)] = { generation: f.generation, code: f.error.code };
    }
    return { ...ports.current(), failures };
  }

  function startWork(work: Work): void {
    const controller = new AbortController();
    const startProbation = (model: string, version: string, generation: number): void => dispatch({ type: 'probation-started', model, version, generation });
    let run: Promise<string | void>;
    try {
      run = work.kind === 'step' ? ports.runStep(work.step, controller.signal, startProbation) : ports.switchBack(work.plan.model, work.plan.from);
    } catch (err) {
      run = Promise.reject(toEdgefleetError(err));
    }
    if (work.kind === 'step') log.debug({ step: describeStep(work.step) }, 'applying step');
    const settled = run.then(
      (to) => dispatch({ type: 'settled', work, ...(typeof to === 'string' ? { to } : {}) }),
      (err: unknown) => dispatch({ type: 'settled', work, error: toEdgefleetError(err) }),
    );
    inFlight = { controller, settled: settled.finally(() => (inFlight?.controller === controller ? (inFlight = undefined) : undefined)) };
  }

  function perform(effect: Effect): void {
    switch (effect.type) {
      case 'start':
        return startWork(effect.work);
      case 'abort':
        return inFlight?.controller.abort(effect.reason);
      case 'accept-desired': {
        const d = effect.desired;
        try {
          ports.persistDesired(d);
        } catch (err) {
          // Converge anyway; the broker's retained desired state covers a restart meanwhile.
          log.error({ err, generation: d.generation }, 'could not persist the desired state; applying it from memory');
        }
        // Something changed on the device's side too: held deployment events get a fresh try.
        ports.journal.retry();
        log.info({ generation: d.generation, models: d.models.map((m) => `${m.name}@${m.version}`) }, 'desired state received');
        return;
      }
      case 'applied': {
        for (const m of effect.desired.models) {
          const s = ports.board.get(m.name);
          if (s && s.state !== 'failed' && s.state !== 'probation' && s.state !== 'rolled-back') updateStatus(ports.board, m.name, { state: 'active' });
        }
        log.info({ generation: effect.desired.generation }, 'desired generation applied');
        return ports.persistApplied(effect.desired.generation);
      }
      case 'status':
        return updateStatus(ports.board, effect.model, effect.patch);
      case 'emit':
        return ports.journal.emit(effect.event);
      case 'record-failure':
        return ports.failures.record({ ...effect.failure, at: new Date().toISOString() });
      case 'rollback-result': {
        const w = rollbackWaiters.get(effect.id);
        rollbackWaiters.delete(effect.id);
        if (effect.result) w?.resolve(effect.result);
        else w?.reject(effect.error ?? new EdgefleetError('INTERNAL', 'rollback ended without a result'));
        return;
      }
      case 'watch': {
        watches.get(effect.model)?.();
        const { model } = effect;
        // Only asks: the verdict, and any rollback it leads to, is the loop's to make.
        const cancel = ports.every(effect.intervalMs, () => {
          ports.windows.poll();
          dispatch({ type: 'probation-tick', model });
        });
        watches.set(model, cancel);
        return;
      }
      case 'unwatch':
        watches.get(effect.model)?.();
        watches.delete(effect.model);
        return;
      case 'wake-at':
        cancelWake?.();
        cancelWake = ports.after(Math.max(0, effect.at - ports.now()), () => {
          cancelWake = undefined;
          dispatch({ type: 'wake' });
        });
        return;
      case 'idle': {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const w of waiters) w();
        return;
      }
      case 'report':
        return ports.report();
      case 'log':
        return log[effect.level](effect.fields, effect.msg);
    }
  }

  return {
    state: () => state,
    start() {
      if (started) return;
      started = true;
      unsubscribe = ports.windows.subscribe((windows) => dispatch({ type: 'windows', windows }));
      dispatch({ type: 'wake' });
    },
    setDesired(desired) {
      const accepted = !state.stopped && acceptsDesired(state.desired, desired);
      dispatch({ type: 'desired', desired });
      return accepted;
    },
    trigger() {
      dispatch({ type: 'trigger' });
    },
    async rollback(model, reason) {
      const request: RollbackRequest = { source: 'operator', id: ++nextRollbackId, model, ...(reason !== undefined ? { reason } : {}) };
      // Refused at once when there is nothing to roll back to; otherwise asked again when it runs.
      const early = planRollback(request, facts(model));
      if (!early.ok) throw early.error;
      return new Promise((resolve, reject) => {
        rollbackWaiters.set(request.id, { resolve, reject });
        dispatch({ type: 'rollback', request });
      });
    },
    idle() {
      return new Promise((resolve) => {
        idleWaiters.push(resolve);
        dispatch({ type: 'wake' });
      });
    },
    async stop(deadlineMs) {
      dispatch({ type: 'stop' });
      cancelWake?.();
      unsubscribe?.();
      for (const cancel of watches.values()) cancel();
      watches.clear();
      if (inFlight) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([inFlight.settled, new Promise((r) => (timer = setTimeout(r, deadlineMs)))]);
        clearTimeout(timer);
      }
    },
  };
}

function describeStep(step: Step): Record<string, unknown> {
  return { ...step, ...('artifact' in step ? { artifact: step.artifact.sha256 } : {}), ...('desired' in step ? { desired: undefined } : {}) };
}
