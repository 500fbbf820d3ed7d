import {
  EdgefleetError,
  probationSchema,
  toEdgefleetError,
  type DesiredState,
  type ReportedModel,
} from '@edgefleet/shared';
import { backoffDelayMs } from '../mqtt/backoff.js';
import type { FailureRecord } from '../store/state-store.js';
import { updateStatus, type StatusBoard } from './model-status.js';
import { failureKey, plan, type CurrentState, type Step } from './plan.js';
import { addWindow, emptyTally, judgeProbation, type InferenceWindowHub, type ProbationTally } from './probation.js';
import { TERMINAL_CODES, applyStep, type StepContext } from './steps.js';

export interface Reconciler {
  start(): void;
  /** Accepts a desired state unless an equal or newer generation is held; persists it, then reconciles. */
  setDesired(desired: DesiredState): boolean;
  desired(): DesiredState | undefined;
  /** Re-plans now (coalesced with other triggers); clears transient back-off. */
  trigger(): void;
  /** Operator rollback: active ← previous, and the rolled-away version stays off for this generation. */
  rollback(model: string, reason?: string): Promise<{ active: string; from: string }>;
  reportedModels(): ReportedModel[];
  readonly observedGeneration: number;
  readonly appliedGeneration: number;
  /** Resolves once the loop is idle with nothing left to do (tests, benchmarks). */
  idle(): Promise<void>;
  stop(deadlineMs: number): Promise<void>;
}

/** The step context's dependencies; the reconciler supplies the status board, desired state and probation itself. */
export interface CreateReconcilerOptions extends Omit<StepContext, 'board' | 'desired' | 'startProbation'> {
  windows: InferenceWindowHub;
}

interface Backoff {
  attempt: number;
  nextAt: number;
}

interface ProbationWatch {
  version: string;
  generation: number;
  until: number;
  tally: ProbationTally;
  timer: NodeJS.Timeout;
}

export function createReconciler(opts: CreateReconcilerOptions): Reconciler {
  const { config, store, repository, runtime, journal, logger } = opts;
  const log = logger.child({ part: 'reconcile' });
  const board: StatusBoard = new Map();
  const backoff = new Map<string, Backoff>();
  const probations = new Map<string, ProbationWatch>();
  let desired = store.getDesired();
  let applied = store.getNumber('appliedGeneration') ?? 0;
  let dirty = true;
  let stopped = false;
  let running: { step: Step; controller: AbortController } | undefined;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  let idleWaiters: (() => void)[] = [];
  // A pass that threw (a full disk under SQLite, say) is retried after this, or at the next trigger.
  let passFailures = 0;
  let passRetryAt = 0;
  // Terminal failures SQLite could not take yet: still terminal for their generation meanwhile.
  const unsavedFailures = new Map<string, FailureRecord>();

  const ctx: StepContext = {
    ...opts,
    board,
    desired: () => desired,
    startProbation,
  };

  function trigger(): void {
    dirty = true;
    wake?.();
  }

  function current(): CurrentState {
    const models: CurrentState['models'] = {};
    const loadedBy = new Map<string, string[]>();
    for (const m of runtime.models()) loadedBy.set(m, runtime.status(m).filter((s) => s.state === 'AVAILABLE').map((s) => s.version));
    for (const v of store.listInstalled()) {
      (models[v.model] ??= { installed: {}, loaded: loadedBy.get(v.model) ?? [] }).installed[v.version] = v.sha256;
    }
    for (const [model, p] of store.allPointers()) {
      const m = (models[model] ??= { installed: {}, loaded: loadedBy.get(model) ?? [] });
      if (p.active) m.active = p.active;
      if (p.previous) m.previous = p.previous;
    }
    const failures: CurrentState['failures'] = {};
    for (const m of desired?.models ?? []) {
      const key = failureKey(m.name, m.version, m.artifact.sha256);
      const f = unsavedFailures.get(key) ?? store.failure(m.name, m.version, m.artifact.sha256);
      if (f) failures[failureKey(m.name, m.version, m.artifact.sha256)] = { generation: f.generation, code: f.error.code };
    }
    return { models, staged: store.listDownloads().filter((d) => d.complete).map((d) => d.sha256), failures };
  }

  function stepTarget(step: Step): string | undefined {
    return 'version' in step ? step.version : undefined;
  }

  function fail(step: Step, err: EdgefleetError): void {
    const model = step.model;
    const version = stepTarget(step);
    const superseded = err.code === 'DEPLOYMENT_SUPERSEDED';
    const terminal = TERMINAL_CODES.has(err.code) && version !== undefined && step.type !== 'load';
    const gen = desired?.generation ?? 0;
    if (superseded) {
      log.info({ model, version, step: step.type }, 'deployment superseded by a newer generation');
      // The control plane learns the old target was abandoned, not lost.
      if (version && step.type !== 'load') journal.emit({ generation: gen, model, version, type: 'failed', error: err.toJSON() });
    } else if (terminal && version) {
      const sha = desired?.models.find((m) => m.name === model)?.artifact.sha256 ?? '';
      recordFailure({ model, version, sha256: sha, generation: gen, error: err.toJSON(), at: new Date().toISOString() });
      updateStatus(board, model, { state: 'failed', target: version, lastError: err.toJSON(), clear: ['progress'] });
      journal.emit({ generation: gen, model, version, type: 'failed', error: err.toJSON() });
      log.warn({ model, version, code: err.code, err: err.message }, 'deployment failed');
    } else {
      const b = backoff.get(model) ?? { attempt: 0, nextAt: 0 };
      b.attempt++;
      b.nextAt = performance.now() + backoffDelayMs(b.attempt, 1000, 60_000);
      backoff.set(model, b);
      updateStatus(board, model, { lastError: err.toJSON() });
      if (version && step.type === 'download') journal.emit({ generation: gen, model, version, type: 'failed', error: err.toJSON() });
      log.warn({ model, version, step: step.type, code: err.code, err: err.message, retryInMs: b.nextAt - performance.now() }, 'step failed; will retry');
    }
  }

  /** Persists a terminal failure; when SQLite cannot take it (disk full) it is kept in memory. */
  function recordFailure(f: FailureRecord): void {
    const key = failureKey(f.model, f.version, f.sha256);
    try {
      store.recordFailure(f);
      unsavedFailures.delete(key);
    } catch (err) {
      unsavedFailures.set(key, f);
      log.error({ err, model: f.model, version: f.version }, 'could not persist a deployment failure; kept in memory');
    }
  }

  function markApplied(): void {
    if (!desired || applied >= desired.generation) return;
    applied = desired.generation;
    for (const m of desired.models) {
      const s = board.get(m.name);
      if (s && s.state !== 'failed' && s.state !== 'probation' && s.state !== 'rolled-back') updateStatus(board, m.name, { state: 'active' });
    }
    log.info({ generation: applied }, 'desired generation applied');
    store.setNumber('appliedGeneration', applied);
  }

  async function runLoop(): Promise<void> {
    while (!stopped) {
      if (!dirty) {
        const now = performance.now();
        const nextRetry = Math.min(...[...backoff.values()].map((b) => b.nextAt), passRetryAt || Infinity);
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (Number.isFinite(nextRetry)) setTimeout(resolve, Math.max(0, nextRetry - now)).unref();
        });
        wake = undefined;
        if (stopped) break;
      }
      dirty = false;
      // One failing pass (SQLITE_FULL from a store write, a bug in a step's error path) must not
      // end the loop: that left the device deaf to every later desired state.
      try {
        await pass();
        passFailures = 0;
        passRetryAt = 0;
      } catch (err) {
        passFailures++;
        const delay = backoffDelayMs(passFailures, 1000, 30_000);
        passRetryAt = performance.now() + delay;
        log.error({ err, retryInMs: delay }, 'reconcile pass failed; retrying');
      }
    }
  }

  async function pass(): Promise<void> {
    const now = performance.now();
    const steps = plan(desired, current(), { keepExtraVersions: config.delivery.keepExtraVersions });
    const ready = steps.filter((s) => s.type === 'load' || (backoff.get(s.model)?.nextAt ?? 0) <= now);
    const step = ready[0];
    if (!step) {
      if (steps.length === 0) markApplied();
      opts.report();
      for (const w of idleWaiters) w();
      idleWaiters = [];
      return;
    }
    const controller = new AbortController();
    running = { step, controller };
    log.debug({ step: { ...step, ...('artifact' in step ? { artifact: step.artifact.sha256 } : {}), ...('desired' in step ? { desired: undefined } : {}) } }, 'applying step');
    try {
      await applyStep(ctx, step, controller.signal);
      backoff.delete(step.model);
    } catch (err) {
      const e = controller.signal.aborted && controller.signal.reason instanceof EdgefleetError ? controller.signal.reason : toEdgefleetError(err);
      fail(step, e);
    } finally {
      running = undefined;
    }
    opts.report();
    dirty = true;
  }

  function startProbation(model: string, version: string, generation: number): void {
    const spec = desired?.models.find((m) => m.name === model)?.probation;
    if (!spec) return;
    const p = probationSchema.parse(spec);
    stopProbation(model);
    const tally = emptyTally();
    const unsubscribe = opts.windows.subscribe((windows) => {
      for (const w of windows) if (w.model === model && w.version === version) addWindow(tally, w);
    });
    const check = (): void => {
      const watch = probations.get(model);
      if (!watch) return;
      opts.windows.poll();
      const verdict = judgeProbation(tally, p);
      if (verdict.breached) {
        stopProbation(model);
        unsubscribe();
        void probationRollback(model, version, generation, verdict.reason ?? 'probation breached', verdict.metrics);
      } else if (performance.now() >= watch.until) {
        stopProbation(model);
        unsubscribe();
        updateStatus(board, model, { state: 'active' });
        log.info({ model, version, metrics: verdict.metrics }, 'probation passed');
        opts.report();
      }
    };
    const timer = setInterval(check, Math.max(100, Math.min(1000, Math.floor(p.windowMs / 10))));
    timer.unref();
    probations.set(model, { version, generation, until: performance.now() + p.windowMs, tally, timer });
  }

  function stopProbation(model: string): void {
    const w = probations.get(model);
    if (w) clearInterval(w.timer);
    probations.delete(model);
  }

  async function switchBack(model: string, from: string): Promise<string> {
    const pointers = await repository.rollback(model);
    const to = pointers.active as string;
    if (!runtime.status(model).some((s) => s.version === to && s.state === 'AVAILABLE')) {
      const v = repository.installed(model, to);
      if (!v) throw new EdgefleetError('ROLLBACK_UNAVAILABLE', `${model}@${to} is no longer installed`);
      await runtime.load({ model, version: to, path: v.path, sha256: v.sha256 });
    }
    runtime.setLabel(model, 'active', to);
    await runtime.unload(model, from, config.drainDeadlineMs).catch((err: unknown) => log.warn({ err }, 'unload after rollback failed'));
    return to;
  }

  async function probationRollback(model: string, version: string, generation: number, reason: string, metrics: ReturnType<typeof judgeProbation>['metrics']): Promise<void> {
    const error = new EdgefleetError('PROBATION_FAILED', `${model}@${version}: ${reason}`, { details: metrics });
    try {
      const to = await switchBack(model, version);
      const sha = repository.installed(model, version)?.sha256 ?? '';
      recordFailure({ model, version, sha256: sha, generation, error: error.toJSON(), at: new Date().toISOString() });
      updateStatus(board, model, { state: 'rolled-back', lastError: error.toJSON() });
      journal.emit({ generation, model, version, type: 'rolled-back', to, reason: error.toJSON(), metrics });
      log.warn({ model, version, to, metrics }, 'probation failed; rolled back');
    } catch (err) {
      log.error({ err, model, version }, 'probation rollback failed');
    }
    opts.report();
  }

  return {
    get observedGeneration() {
      return desired?.generation ?? 0;
    },
    get appliedGeneration() {
      return applied;
    },
    desired: () => desired,
    start() {
      loop ??= runLoop().catch((err: unknown) => log.fatal({ err }, 'reconcile loop crashed'));
    },
    setDesired(next) {
      if (desired && next.generation < desired.generation) return false;
      if (desired && next.generation === desired.generation && JSON.stringify(next) === JSON.stringify(desired)) return false;
      try {
        store.setDesired(next);
      } catch (err) {
        // Converge anyway; the broker's retained desired state covers a restart meanwhile.
        log.error({ err, generation: next.generation }, 'could not persist the desired state; applying it from memory');
      }
      desired = next;
      // Something changed on the device's side too: held deployment events get a fresh try.
      journal.retry();
      log.info({ generation: next.generation, models: next.models.map((m) => `${m.name}@${m.version}`) }, 'desired state received');
      backoff.clear();
      // Pre-empt an in-flight deployment that the new generation no longer wants.
      if (running) {
        const { step, controller } = running;
        const want = next.models.find((m) => m.name === step.model);
        const target = stepTarget(step);
        if (step.type !== 'load' && (!want || (target !== undefined && want.version !== target))) {
          controller.abort(new EdgefleetError('DEPLOYMENT_SUPERSEDED', `generation ${next.generation} replaced ${step.model}@${target ?? '?'}`));
        }
      }
      for (const [model, w] of probations) {
        if (next.models.find((m) => m.name === model)?.version !== w.version) stopProbation(model);
      }
      opts.report();
      trigger();
      return true;
    },
    trigger() {
      backoff.clear();
      trigger();
    },
    async rollback(model, reason) {
      const p = repository.pointers(model);
      if (!p.active || !p.previous) throw new EdgefleetError('ROLLBACK_UNAVAILABLE', `${model} has no previous version to roll back to`);
      if (running?.step.model === model) running.controller.abort(new EdgefleetError('DEPLOYMENT_SUPERSEDED', 'operator rollback'));
      stopProbation(model);
      const from = p.active;
      const to = await switchBack(model, from);
      const gen = desired?.generation ?? 0;
      const error = new EdgefleetError('ROLLED_BACK_BY_OPERATOR', reason ?? `operator rolled ${model} back from ${from} to ${to}`);
      const sha = repository.installed(model, from)?.sha256 ?? desired?.models.find((m) => m.name === model)?.artifact.sha256 ?? '';
      recordFailure({ model, version: from, sha256: sha, generation: gen, error: error.toJSON(), at: new Date().toISOString() });
      updateStatus(board, model, { state: 'rolled-back', lastError: error.toJSON() });
      journal.emit({ generation: gen, model, version: from, type: 'rolled-back', to, reason: error.toJSON() });
      opts.report();
      return { active: to, from };
    },
    reportedModels() {
      const names = new Set<string>([...store.allPointers().keys(), ...(desired?.models.map((m) => m.name) ?? []), ...board.keys()]);
      return [...names].sort().map((name): ReportedModel => {
        const p = store.pointers(name);
        const s = board.get(name);
        const want = desired?.models.find((m) => m.name === name);
        const target = s?.target ?? (want && want.version !== p.active ? want.version : undefined);
        const state = s?.state ?? (p.active && (!want || want.version === p.active) ? 'active' : 'pending');
        return {
          name,
          installed: store.listInstalled(name).map((v) => v.version),
          ...(p.active ? { active: p.active } : {}),
          ...(p.previous ? { previous: p.previous } : {}),
          ...(target && target !== p.active ? { target } : {}),
          state,
          ...(s?.ep ? { ep: s.ep } : {}),
          ...(s?.epCandidates ? { epCandidates: s.epCandidates } : {}),
          ...(s?.progress && state === 'downloading' ? { progress: s.progress } : {}),
          ...(s?.lastError ? { lastError: { ...s.lastError, code: s.lastError.code } } : {}),
          ...(want?.rolloutId ? { rolloutId: want.rolloutId } : {}),
        };
      });
    },
    idle() {
      return new Promise((resolve) => {
        idleWaiters.push(resolve);
        trigger();
      });
    },
    async stop(deadlineMs) {
      stopped = true;
      for (const model of [...probations.keys()]) stopProbation(model);
      running?.controller.abort(new EdgefleetError('DRAIN_TIMEOUT', 'agent stopping'));
      wake?.();
      if (loop) await Promise.race([loop, new Promise((r) => setTimeout(r, deadlineMs).unref())]);
    },
  };
}
