import { EdgefleetError, type DesiredState, type InferenceWindow } from '@edgefleet/shared';
import type { FailureRecord } from '../store/state-store.js';
import { PASS_BACKOFF, STEP_BACKOFF, bump, earliestRetry, isReady, withoutModel, type Backoff, type BackoffTable } from './backoff.js';
import type { DeploymentEventInput } from './deployment-events.js';
import type { StatusPatch } from './model-status.js';
import type { Step } from './plan.js';
import { checkIntervalMs, observeProbation, startWatch, type ProbationWatch } from './probation-watcher.js';
import { enqueueRollback, type RollbackDecision, type RollbackPlan, type RollbackRequest } from './rollback-planner.js';
import { TERMINAL_CODES } from './terminal-codes.js';

/** One unit of work the loop runs, never two at once: a planned step, or a rollback. */
export type Work = { kind: 'step'; step: Step } | { kind: 'rollback'; plan: RollbackPlan };

export interface Running {
  work: Work;
  /** Set once the loop asked the work to stop. `silent`: only paused for a rollback; it resumes after, unreported. */
  abort?: { reason: EdgefleetError; silent: boolean };
}

/** Everything the reconcile loop decides on. Plain data: only `transition` makes the next one. */
export interface LoopState {
  desired: DesiredState | undefined;
  applied: number;
  running: Running | undefined;
  /** Rollbacks asked for and waiting for the running work to settle, oldest first. */
  rollbacks: readonly RollbackRequest[];
  probations: Readonly<Record<string, ProbationWatch>>;
  backoff: BackoffTable;
  /** Reconcile passes that failed in a row (their retry back-off grows with it). */
  passFailures: number;
  /** Something changed since the last plan: plan again once no work runs. */
  dirty: boolean;
  stopped: boolean;
}

export type LoopEvent =
  | { type: 'desired'; desired: DesiredState }
  /** Operator reload or resume: plan now, forgetting transient back-off. */
  | { type: 'trigger' }
  /** A back-off or pass retry came due, or someone waits for idle. */
  | { type: 'wake' }
  /** The plan of this moment, read by the driver when no work runs. */
  | { type: 'planned'; steps: readonly Step[] }
  /** Reading the current state or planning threw (SQLITE_FULL, say): retried with back-off. */
  | { type: 'plan-failed'; error: EdgefleetError }
  /** The rollback planner's answer for the first waiting request, over the pointers of now. */
  | { type: 'rollback-planned'; request: RollbackRequest; decision: RollbackDecision }
  | { type: 'settled'; work: Work; error?: EdgefleetError; to?: string }
  | { type: 'probation-started'; model: string; version: string; generation: number }
  | { type: 'windows'; windows: readonly InferenceWindow[] }
  | { type: 'probation-tick'; model: string }
  | { type: 'rollback'; request: RollbackRequest }
  | { type: 'stop' };

type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What the driver does for a transition, in order. */
export type Effect =
  | { type: 'start'; work: Work }
  | { type: 'abort'; reason: EdgefleetError }
  | { type: 'accept-desired'; desired: DesiredState }
  | { type: 'applied'; desired: DesiredState }
  | { type: 'status'; model: string; patch: StatusPatch }
  | { type: 'emit'; event: DeploymentEventInput }
  | { type: 'record-failure'; failure: Omit<FailureRecord, 'at'> }
  | { type: 'rollback-result'; id: number; result?: { active: string; from: string }; error?: EdgefleetError }
  | { type: 'watch'; model: string; intervalMs: number }
  | { type: 'unwatch'; model: string }
  | { type: 'wake-at'; at: number }
  | { type: 'idle' }
  | { type: 'report' }
  | { type: 'log'; level: LogLevel; fields: Record<string, unknown>; msg: string };

export interface Transition {
  state: LoopState;
  effects: Effect[];
}

export function initialState(desired: DesiredState | undefined, applied: number): LoopState {
  return { desired, applied, running: undefined, rollbacks: [], probations: {}, backoff: {}, passFailures: 0, dirty: true, stopped: false };
}

/** Unless an equal or newer generation is held. */
export function acceptsDesired(held: DesiredState | undefined, next: DesiredState): boolean {
  if (!held) return true;
  if (next.generation !== held.generation) return next.generation > held.generation;
  return JSON.stringify(next) !== JSON.stringify(held);
}

const targetOf = (step: Step): string | undefined => ('version' in step ? step.version : undefined);

/**
 * Pure: (state, event, now) → next state and the effects to perform. Every state change of the
 * reconciler goes through here; the driver only performs effects and turns I/O into events.
 */
export function transition(state: LoopState, event: LoopEvent, now: number, random: () => number = Math.random): Transition {
  const fx: Effect[] = [];
  const log = (level: LogLevel, fields: Record<string, unknown>, msg: string): void => void fx.push({ type: 'log', level, fields, msg });
  switch (event.type) {
    case 'desired': {
      if (state.stopped || !acceptsDesired(state.desired, event.desired)) return { state, effects: [] };
      const next = event.desired;
      fx.push({ type: 'accept-desired', desired: next });
      let running = state.running;
      // Pre-empt an in-flight deployment that the new generation no longer wants.
      if (running && !running.abort && running.work.kind === 'step' && running.work.step.type !== 'load') {
        const step = running.work.step;
        const want = next.models.find((m) => m.name === step.model);
        const target = targetOf(step);
        if (!want || (target !== undefined && want.version !== target)) {
          const reason = new EdgefleetError('DEPLOYMENT_SUPERSEDED', `generation ${next.generation} replaced ${step.model}@${target ?? '?'}`);
          running = { ...running, abort: { reason, silent: false } };
          fx.push({ type: 'abort', reason });
        }
      }
      const probations = { ...state.probations };
      for (const [model, w] of Object.entries(probations)) {
        if (next.models.find((m) => m.name === model)?.version !== w.version) {
          delete probations[model];
          fx.push({ type: 'unwatch', model });
        }
      }
      fx.push({ type: 'report' });
      return { state: { ...state, desired: next, running, probations, backoff: {}, dirty: true }, effects: fx };
    }
    case 'trigger':
      return { state: { ...state, backoff: {}, dirty: true }, effects: [] };
    case 'wake':
      return { state: { ...state, dirty: true }, effects: [] };
    case 'plan-failed': {
      const passFailures = state.passFailures + 1;
      const retry = bump({ attempt: state.passFailures, nextAt: 0 }, now, PASS_BACKOFF, random);
      log('error', { err: event.error, retryInMs: retry.nextAt - now }, 'reconcile pass failed; retrying');
      fx.push({ type: 'wake-at', at: retry.nextAt });
      return { state: { ...state, passFailures, dirty: false }, effects: fx };
    }
    case 'planned': {
      if (state.running || state.stopped) return { state, effects: [] };
      const cleared = { ...state, passFailures: 0, dirty: false };
      // Loading what is active is serving, not deploying: never held back.
      const step = event.steps.find((s) => s.type === 'load' || isReady(state.backoff, s.model, now));
      if (step) {
        const work: Work = { kind: 'step', step };
        return { state: { ...cleared, running: { work } }, effects: [{ type: 'start', work }] };
      }
      let applied = state.applied;
      if (event.steps.length === 0 && state.desired && applied < state.desired.generation) {
        applied = state.desired.generation;
        fx.push({ type: 'applied', desired: state.desired });
      }
      fx.push({ type: 'report' }, { type: 'idle' });
      // Wake for the steps that wait, not for every entry: one left by a model that since failed
      // terminally or left the plan is in the past, and waking for it would spin.
      const waiting = Object.fromEntries(event.steps.filter((s) => state.backoff[s.model]).map((s) => [s.model, state.backoff[s.model] as Backoff]));
      const wakeAt = earliestRetry(waiting);
      if (wakeAt !== undefined) fx.push({ type: 'wake-at', at: wakeAt });
      return { state: { ...cleared, applied }, effects: fx };
    }
    case 'rollback-planned': {
      if (state.running || state.stopped) return { state, effects: [] };
      const rollbacks = state.rollbacks.filter((r) => r !== event.request);
      const { request, decision } = event;
      if (decision.ok) {
        const work: Work = { kind: 'rollback', plan: decision.plan };
        return { state: { ...state, rollbacks, running: { work } }, effects: [{ type: 'start', work }] };
      }
      if (request.source === 'operator') fx.push({ type: 'rollback-result', id: request.id, error: decision.error });
      else if (decision.stale) log('info', { model: request.model, version: request.version }, 'probation failed for a version no longer active; nothing to roll back');
      else log('error', { err: decision.error, model: request.model, version: request.version }, 'probation rollback failed');
      return { state: { ...state, rollbacks }, effects: fx };
    }
    case 'settled': {
      const running = state.running;
      if (running?.work !== event.work) return { state, effects: [] };
      const next: LoopState = { ...state, running: undefined, dirty: true };
      if (event.work.kind === 'rollback') return rollbackSettled(next, event.work.plan, event.to, event.error);
      const step = event.work.step;
      if (!event.error) return { state: { ...next, backoff: withoutModel(state.backoff, step.model) }, effects: [{ type: 'report' }] };
      const error = running.abort?.reason ?? event.error;
      if (running.abort?.silent) {
        log('info', { model: step.model, step: step.type }, 'step paused for a rollback; it resumes after');
        return { state: next, effects: [...fx, { type: 'report' }] };
      }
      return stepFailed(next, step, error, now, random);
    }
    case 'probation-started': {
      const spec = state.desired?.models.find((m) => m.name === event.model && m.version === event.version)?.probation;
      if (state.stopped || !spec) return { state, effects: [] };
      const watch = startWatch(event.model, event.version, event.generation, spec, now);
      fx.push({ type: 'watch', model: event.model, intervalMs: checkIntervalMs(watch.spec) });
      return { state: { ...state, probations: { ...state.probations, [event.model]: watch } }, effects: fx };
    }
    case 'windows': {
      if (Object.keys(state.probations).length === 0) return { state, effects: [] };
      const probations: Record<string, ProbationWatch> = {};
      for (const [model, w] of Object.entries(state.probations)) {
        const o = observeProbation(w, { type: 'windows', windows: event.windows }, now);
        probations[model] = o.verdict === 'pending' ? o.watch : w;
      }
      return { state: { ...state, probations }, effects: [] };
    }
    case 'probation-tick': {
      const watch = state.probations[event.model];
      if (!watch) return { state, effects: [{ type: 'unwatch', model: event.model }] };
      const outcome = observeProbation(watch, { type: 'tick' }, now);
      if (outcome.verdict === 'pending') return { state, effects: [] };
      const { [event.model]: _done, ...probations } = state.probations;
      fx.push({ type: 'unwatch', model: event.model });
      if (outcome.verdict === 'passed') {
        fx.push({ type: 'status', model: watch.model, patch: { state: 'active' } });
        log('info', { model: watch.model, version: watch.version, metrics: outcome.metrics }, 'probation passed');
        fx.push({ type: 'report' });
        return { state: { ...state, probations }, effects: fx };
      }
      const request: RollbackRequest = { source: 'probation', model: watch.model, version: watch.version, generation: watch.generation, reason: outcome.reason, metrics: outcome.metrics };
      return askRollback({ ...state, probations }, request, fx);
    }
    case 'rollback': {
      const { request } = event;
      if (state.stopped) {
        if (request.source === 'operator') fx.push({ type: 'rollback-result', id: request.id, error: new EdgefleetError('LIFECYCLE_INVALID_STATE', 'the agent is stopping') });
        return { state, effects: fx };
      }
      // The version being rolled away from is judged by the operator now, not by its probation.
      const { [request.model]: watched, ...probations } = state.probations;
      if (watched) fx.push({ type: 'unwatch', model: request.model });
      return askRollback({ ...state, probations }, request, fx);
    }
    case 'stop': {
      if (state.stopped) return { state, effects: [] };
      for (const model of Object.keys(state.probations)) fx.push({ type: 'unwatch', model });
      let running = state.running;
      if (running && !running.abort) {
        const reason = new EdgefleetError('DRAIN_TIMEOUT', 'agent stopping');
        running = { ...running, abort: { reason, silent: false } };
        fx.push({ type: 'abort', reason });
      }
      for (const r of state.rollbacks) {
        if (r.source === 'operator') fx.push({ type: 'rollback-result', id: r.id, error: new EdgefleetError('LIFECYCLE_INVALID_STATE', 'the agent is stopping') });
      }
      return { state: { ...state, stopped: true, running, probations: {}, rollbacks: [] }, effects: fx };
    }
  }
}

/**
 * Queues a rollback and clears the way for it: the running step of the same model is aborted (as
 * superseded, as before), a download of another model is paused (it resumes from its chunks after),
 * anything else is short and awaited. The pointer only moves once the running work has settled.
 */
function askRollback(state: LoopState, request: RollbackRequest, fx: Effect[]): Transition {
  const rollbacks = enqueueRollback(state.rollbacks, request);
  let running = state.running;
  if (running && !running.abort && running.work.kind === 'step') {
    const step = running.work.step;
    const why = request.source === 'operator' ? 'operator rollback' : 'probation rollback';
    let abort: Running['abort'];
    if (step.model === request.model && step.type !== 'load') abort = { reason: new EdgefleetError('DEPLOYMENT_SUPERSEDED', why), silent: false };
    else if (step.model !== request.model && step.type === 'download') abort = { reason: new EdgefleetError('DEPLOYMENT_SUPERSEDED', `paused for the ${why} of ${request.model}`), silent: true };
    if (abort) {
      running = { ...running, abort };
      fx.push({ type: 'abort', reason: abort.reason });
    }
  }
  return { state: { ...state, rollbacks, running, dirty: true }, effects: fx };
}

function rollbackSettled(state: LoopState, plan: RollbackPlan, to: string | undefined, error: EdgefleetError | undefined): Transition {
  const fx: Effect[] = [];
  const { request, model, from, generation } = plan;
  if (error || to === undefined) {
    const err = error ?? new EdgefleetError('INTERNAL', `rollback of ${model} gave no version`);
    if (request.source === 'operator') fx.push({ type: 'rollback-result', id: request.id, error: err });
    else fx.push({ type: 'log', level: 'error', fields: { err, model, version: from }, msg: 'probation rollback failed' });
    fx.push({ type: 'report' });
    return { state, effects: fx };
  }
  fx.push(
    { type: 'record-failure', failure: { model, version: from, sha256: plan.sha256, generation, error: plan.error } },
    { type: 'status', model, patch: { state: 'rolled-back', lastError: plan.error } },
    { type: 'emit', event: { generation, model, version: from, type: 'rolled-back', to, reason: plan.error, ...(plan.metrics ? { metrics: plan.metrics } : {}) } },
  );
  if (request.source === 'operator') fx.push({ type: 'rollback-result', id: request.id, result: { active: to, from } });
  else fx.push({ type: 'log', level: 'warn', fields: { model, version: from, to, metrics: plan.metrics }, msg: 'probation failed; rolled back' });
  fx.push({ type: 'report' });
  return { state, effects: fx };
}

/** A failed step: superseded (reported, not retried), terminal for its generation, or retried with back-off. */
function stepFailed(state: LoopState, step: Step, err: EdgefleetError, now: number, random: () => number): Transition {
  const fx: Effect[] = [];
  const { model } = step;
  const version = targetOf(step);
  const generation = state.desired?.generation ?? 0;
  const failed = (): Effect => ({ type: 'emit', event: { generation, model, version: version ?? '', type: 'failed', error: err.toJSON() } });
  if (err.code === 'DEPLOYMENT_SUPERSEDED') {
    fx.push({ type: 'log', level: 'info', fields: { model, version, step: step.type }, msg: 'deployment superseded by a newer generation' });
    // The control plane learns the old target was abandoned, not lost.
    if (version && step.type !== 'load') fx.push(failed());
    fx.push({ type: 'report' });
    return { state, effects: fx };
  }
  if (TERMINAL_CODES.has(err.code) && version !== undefined && step.type !== 'load') {
    const sha256 = state.desired?.models.find((m) => m.name === model)?.artifact.sha256 ?? '';
    fx.push(
      { type: 'record-failure', failure: { model, version, sha256, generation, error: err.toJSON() } },
      { type: 'status', model, patch: { state: 'failed', target: version, lastError: err.toJSON(), clear: ['progress'] } },
      failed(),
      { type: 'log', level: 'warn', fields: { model, version, code: err.code, err: err.message }, msg: 'deployment failed' },
      { type: 'report' },
    );
    return { state, effects: fx };
  }
  const b = bump(state.backoff[model], now, STEP_BACKOFF, random);
  fx.push({ type: 'status', model, patch: { lastError: err.toJSON() } });
  if (version && step.type === 'download') fx.push(failed());
  fx.push({ type: 'log', level: 'warn', fields: { model, version, step: step.type, code: err.code, err: err.message, retryInMs: b.nextAt - now }, msg: 'step failed; will retry' }, { type: 'report' });
  return { state: { ...state, backoff: { ...state.backoff, [model]: b } }, effects: fx };
}
