import { EdgefleetError, type DesiredState, type ReportedModel } from '@edgefleet/shared';
import { createFailureStore } from './failure-store.js';
import type { StatusBoard } from './model-status.js';
import type { CurrentState } from './plan.js';
import type { InferenceWindowHub } from './probation.js';
import { createReconcileLoop } from './reconcile-loop.js';
import { assembleReportedModels } from './reported-state.js';
import { applyStep, type StepContext } from './steps.js';

export interface Reconciler {
  start(): void;
  /** Accepts a desired state unless an equal or newer generation is held; persists it, then reconciles. */
  setDesired(desired: DesiredState): boolean;
  desired(): DesiredState | undefined;
  /** Re-plans now (coalesced with other triggers); clears transient back-off. */
  trigger(): void;
  /**
   * Operator rollback: active ← previous, and the rolled-away version stays off for this generation.
   * Waits for the running step to settle (aborting it when it works on this model) before the
   * pointer moves.
   */
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

/** Wires the reconcile loop to SQLite, the model repository and the inference runtime. */
export function createReconciler(opts: CreateReconcilerOptions): Reconciler {
  const { config, store, repository, runtime, logger } = opts;
  const log = logger.child({ part: 'reconcile' });
  const board: StatusBoard = new Map();

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

  const loop = createReconcileLoop({
    logger: log,
    now: () => performance.now(),
    after: (ms, fn) => {
      const t = setTimeout(fn, ms);
      t.unref();
      return () => clearTimeout(t);
    },
    every: (ms, fn) => {
      const t = setInterval(fn, ms);
      t.unref();
      return () => clearInterval(t);
    },
    initialDesired: store.getDesired(),
    initialApplied: store.getNumber('appliedGeneration') ?? 0,
    keepExtraVersions: config.delivery.keepExtraVersions,
    current() {
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
      return { models, staged: store.listDownloads().filter((d) => d.complete).map((d) => d.sha256) };
    },
    pointers: (model) => repository.pointers(model),
    installedSha: (model, version) => repository.installed(model, version)?.sha256,
    runStep: (step, signal, startProbation) => applyStep({ ...opts, board, desired: () => loop.state().desired, startProbation }, step, signal),
    switchBack,
    persistDesired: (d) => store.setDesired(d),
    persistApplied: (generation) => store.setNumber('appliedGeneration', generation),
    failures: createFailureStore(store, log),
    journal: opts.journal,
    board,
    windows: opts.windows,
    report: opts.report,
  });

  return {
    get observedGeneration() {
      return loop.state().desired?.generation ?? 0;
    },
    get appliedGeneration() {
      return loop.state().applied;
    },
    desired: () => loop.state().desired,
    start: () => loop.start(),
    setDesired: (next) => loop.setDesired(next),
    trigger: () => loop.trigger(),
    rollback: (model, reason) => loop.rollback(model, reason),
    reportedModels: () =>
      assembleReportedModels({ allPointers: () => store.allPointers(), pointers: (m) => store.pointers(m), installedVersions: (m) => store.listInstalled(m).map((v) => v.version) }, board, loop.state().desired),
    idle: () => loop.idle(),
    stop: (deadlineMs) => loop.stop(deadlineMs),
  };
}
