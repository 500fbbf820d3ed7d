import { EdgefleetError, toEdgefleetError, type AgentConfig, type EpCandidate, type ExecutionProvider, type HardwareProfile } from '@edgefleet/shared';
import { isKserveDatatype, toTypedData } from './datatypes.js';
import { createEpChoiceCache, type EpChoiceCache } from './ep-cache.js';
import { planExecutionProviders } from './ep-policy.js';
import { probeExecutionProviders } from './ep-prober.js';
import { createInferenceWindows } from './inference-windows.js';
import type { InferenceRuntime, InferResult, LoadedVersion, LoadRequest, Tensor, VersionStatus } from './runtime-port.js';
import { nonFiniteOutputs, sampleInputs } from './sample-inputs.js';
import { ServingVersion } from './serving-version.js';
import { sessionOptionsFor, threadCountsToTry } from './session-options.js';
import type { SessionFactory } from './session-port.js';
import { validateInputs } from './validate-inputs.js';
import { createWorkerSessionFactory } from './worker-session-factory.js';
import { createFormatSessionFactory } from './format-session-factory.js';

/** What the runtime tells observers (the API's Prometheus metrics, logs). */
export type RuntimeEvent =
  | { type: 'request'; model: string; version: string; ep: ExecutionProvider; ok: boolean; reason?: string; queueMs: number; computeMs: number; batch?: number }
  | { type: 'load'; model: string; version: string; ep: ExecutionProvider; loadMs: number; fallbacks: number; candidates: EpCandidate[]; cached: boolean }
  | { type: 'unload'; model: string; version: string; abandoned: number }
  | { type: 'label'; model: string; label: string; version: string };

export interface InferenceRuntimeWithEvents extends InferenceRuntime {
  /** Calls `listener` for every request outcome, load, unload and label move; returns an unsubscribe function. */
  subscribe(listener: (event: RuntimeEvent) => void): () => void;
}

export interface RuntimeLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface CreateInferenceRuntimeOptions {
  /** From detectHardware(): drives the EP policy, session options and the EP-cache key. */
  hardware: HardwareProfile;
  /** The agent config's `inference` section (defaults apply to missing fields). */
  config?: Partial<AgentConfig['inference']>;
  /** @default real worker_threads over onnxruntime-node */
  sessionFactory?: SessionFactory;
  /** A cache, or the path of its JSON file (e.g. `<dataDir>/ep-choices.json`); default in memory. */
  epCache?: EpChoiceCache | string;
  logger?: RuntimeLogger;
  /** Unix ms, for telemetry windows. */
  now?: () => number;
}

/**
 * Warm-up inputs as typed arrays where their datatype allows: a golden input arrives as JSON, and
 * each benchmark run would otherwise clone a JS array of numbers to the worker. Data that does not
 * convert is left as it is (the probe then falls back to generated inputs, the smoke test reports it).
 */
function typedWhereKnown(t: Tensor): Tensor {
  if (ArrayBuffer.isView(t.data) || !isKserveDatatype(t.datatype)) return t;
  try {
    return { ...t, data: toTypedData(t.datatype, t.data, t.name) };
  } catch {
    return t;
  }
}

const DEFAULTS = { queueDepth: 64, requestTimeoutMs: 30_000, epBenchmarkBudgetMs: 10_000, epStartTimeoutMs: 60_000, forbidEps: [] as ExecutionProvider[] };
const DEFAULT_LABEL = 'active';

interface ModelEntry {
  versions: Map<string, ServingVersion>;
  loading: Map<string, Promise<LoadedVersion>>;
  labels: Map<string, string>;
}

/**
 * The agent's inference runtime (InferenceRuntime port): model versions in worker threads, each
 * on the execution provider measured fastest for it on this device, with labels moved atomically
 * so a swap loses no request.
 *
 * @example
 *   const runtime = await createInferenceRuntime({ hardware, config: config.inference, epCache: join(dataDir, 'ep-choices.json') });
 *   await runtime.load({ model: 'cls', version: '2', path, sha256 });
 *   await runtime.smokeTest('cls', '2');
 *   runtime.setLabel('cls', 'active', '2');
 *   await runtime.unload('cls', '1');
 */
export async function createInferenceRuntime(options: CreateInferenceRuntimeOptions): Promise<InferenceRuntimeWithEvents> {
  const config = { ...DEFAULTS, ...options.config };
  const factory =
    options.sessionFactory ??
    createFormatSessionFactory({
      onnx: createWorkerSessionFactory(),
      // LiteRT's wasm build, loaded only when a .tflite model arrives.
      tflite: async () => (await import('./litert/index.js')).createLiteRtSessionFactory(),
    });
  const cache = typeof options.epCache === 'object' ? options.epCache : await createEpChoiceCache(options.epCache ? { path: options.epCache } : {});
  const hardware = options.hardware;
  const models = new Map<string, ModelEntry>();
  const listeners = new Set<(event: RuntimeEvent) => void>();
  const windows = createInferenceWindows(options.now);
  let closed = false;

  const emit = (event: RuntimeEvent): void => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // An observer's bug must not fail inference.
      }
    }
  };

  const entryFor = (model: string): ModelEntry => {
    let entry = models.get(model);
    if (!entry) {
      entry = { versions: new Map(), loading: new Map(), labels: new Map() };
      models.set(model, entry);
    }
    return entry;
  };

  const describeVersion = (v: ServingVersion): LoadedVersion => ({
    model: v.model,
    version: v.version,
    ep: v.ep,
    epCandidates: v.epCandidates,
    inputs: v.inputs,
    outputs: v.outputs,
    loadMs: v.loadMs,
  });

  /** Version or label → the version serving it; errors say whether the model or the version is missing. */
  const resolve = (model: string, versionOrLabel?: { version?: string; label?: string }): ServingVersion => {
    const entry = models.get(model);
    if (!entry || (entry.versions.size === 0 && entry.loading.size === 0)) throw new EdgefleetError('MODEL_NOT_FOUND', `model ${model} is not loaded`);
    if (versionOrLabel?.version !== undefined) {
      const v = entry.versions.get(versionOrLabel.version);
      if (!v) {
        if (entry.loading.has(versionOrLabel.version)) throw new EdgefleetError('MODEL_NOT_READY', `${model}@${versionOrLabel.version} is still loading`);
        throw new EdgefleetError('MODEL_VERSION_NOT_FOUND', `model ${model} has no version ${versionOrLabel.version}`);
      }
      return v;
    }
    const label = versionOrLabel?.label ?? DEFAULT_LABEL;
    const target = entry.labels.get(label);
    if (target === undefined) {
      if (label === DEFAULT_LABEL) throw new EdgefleetError('MODEL_NOT_READY', `model ${model} has no active version`);
      throw new EdgefleetError('MODEL_VERSION_NOT_FOUND', `model ${model} has no label ${label}`);
    }
    const v = entry.versions.get(target);
    if (!v) throw new EdgefleetError('MODEL_NOT_READY', `model ${model}: label ${label} points at ${target}, which is not loaded`);
    return v;
  };

  async function doLoad(request: LoadRequest): Promise<{ loaded: LoadedVersion; serving: ServingVersion }> {
    const started = performance.now();
    const plan = planExecutionProviders(hardware, request.ep ?? {}, config.forbidEps);
    const cacheKey = { sha256: request.sha256, ortVersion: hardware.onnxruntime.version, hardwareClass: hardware.hardwareClass };
    const cached = cache.get(cacheKey);
    const probeBase = {
      factory,
      modelPath: request.path,
      sessionOptions: (ep: ExecutionProvider, threads?: number) => sessionOptionsFor(hardware, config, ep, threads),
      startTimeoutMs: config.epStartTimeoutMs,
      budgetMs: config.epBenchmarkBudgetMs,
      ...(request.warmupInputs ? { inputs: request.warmupInputs.map(typedWhereKnown) } : {}),
    };
    let result: Awaited<ReturnType<typeof probeExecutionProviders>> | undefined;
    let fromCache = false;
    if (cached && plan.candidates.includes(cached.ep)) {
      // Measured before for this model, runtime and hardware: start that EP alone; re-measure if it no longer starts.
      try {
        const threads = cached.intraOpThreads;
        const one = await probeExecutionProviders({
          ...probeBase,
          sessionOptions: (ep: ExecutionProvider) => sessionOptionsFor(hardware, config, ep, threads),
          candidates: [cached.ep],
          skipBenchmarkWhenAlone: true,
        });
        result = { ...one, candidates: cached.candidates, intraOpThreads: threads };
        fromCache = true;
      } catch (error) {
        if (toEdgefleetError(error).code === 'MODEL_INVALID') throw error;
        options.logger?.warn({ model: request.model, version: request.version, ep: cached.ep, err: error }, 'cached execution provider no longer starts; measuring again');
        await cache.delete(cacheKey);
      }
    }
    if (!result) {
      if (plan.candidates.length === 0) {
        throw new EdgefleetError('EP_UNAVAILABLE', `no execution provider allowed for ${request.model}@${request.version}`, { details: { candidates: plan.skipped } });
      }
      result = await probeExecutionProviders({ ...probeBase, candidates: plan.candidates, skipped: plan.skipped, threadCounts: (ep) => threadCountsToTry(hardware, config, ep) });
      await cache.set(cacheKey, { ep: result.ep, candidates: result.candidates, intraOpThreads: result.intraOpThreads, measuredAt: new Date().toISOString() }).catch((error: unknown) => {
        options.logger?.warn({ err: error }, 'could not persist the EP choice cache');
      });
    }
    const loadMs = performance.now() - started;
    const ep = result.ep;
    const serving = new ServingVersion({
      model: request.model,
      version: request.version,
      session: result.session,
      ep,
      epCandidates: result.candidates,
      loadMs,
      queueDepth: config.queueDepth,
      requestTimeoutMs: config.requestTimeoutMs,
      onOutcome: (outcome) => {
        windows.record({ model: request.model, version: request.version, ep }, { ...outcome, latencyMs: outcome.queueMs + outcome.computeMs });
        emit({ type: 'request', model: request.model, version: request.version, ep, ...outcome });
      },
    });
    emit({ type: 'load', model: request.model, version: request.version, ep, loadMs, fallbacks: result.fallbacks, candidates: result.candidates, cached: fromCache });
    options.logger?.info({ model: request.model, version: request.version, ep, loadMs: Math.round(loadMs), candidates: result.candidates, cached: fromCache }, 'model version loaded');
    return { loaded: describeVersion(serving), serving };
  }

  const runtime: InferenceRuntimeWithEvents = {
    async load(request) {
      if (closed) throw new EdgefleetError('LIFECYCLE_INVALID_STATE', 'the inference runtime is closed');
      const entry = entryFor(request.model);
      const existing = entry.versions.get(request.version);
      if (existing && existing.state === 'AVAILABLE') return describeVersion(existing);
      const inFlight = entry.loading.get(request.version);
      if (inFlight) return inFlight;
      const promise = (async () => {
        try {
          const { loaded, serving } = await doLoad(request);
          if (closed) {
            await serving.drainAndRelease(0);
            throw new EdgefleetError('LIFECYCLE_INVALID_STATE', 'the inference runtime closed while loading');
          }
          entry.versions.set(request.version, serving);
          return loaded;
        } finally {
          entry.loading.delete(request.version);
          if (entry.versions.size === 0 && entry.loading.size === 0 && entry.labels.size === 0) models.delete(request.model);
        }
      })();
      entry.loading.set(request.version, promise);
      return promise;
    },

    async smokeTest(model, version, input) {
      const serving = resolve(model, { version });
      let result: InferResult;
      try {
        result = await runtime.infer(model, input ?? sampleInputs(serving.inputs), { version });
      } catch (error) {
        throw new EdgefleetError('SMOKE_TEST_FAILED', `${model}@${version}: smoke-test inference failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      const bad = nonFiniteOutputs(result.outputs);
      if (bad.length > 0) throw new EdgefleetError('SMOKE_TEST_FAILED', `${model}@${version}: non-finite values in output(s) ${bad.join(', ')}`, { details: { outputs: bad } });
    },

    setLabel(model, label, version) {
      const entry = models.get(model);
      const serving = entry?.versions.get(version);
      // TF Serving's rule: a label may only point at a version that is loaded and available.
      if (!entry || !serving || serving.state !== 'AVAILABLE') throw new EdgefleetError('MODEL_VERSION_NOT_FOUND', `cannot point ${model}/${label} at ${version}: that version is not loaded`);
      entry.labels.set(label, version);
      emit({ type: 'label', model, label, version });
    },

    async unload(model, version, deadlineMs = 10_000) {
      const entry = models.get(model);
      const serving = entry?.versions.get(version);
      if (!entry || !serving) return;
      for (const [label, target] of entry.labels) if (target === version) entry.labels.delete(label);
      const { abandoned } = await serving.drainAndRelease(deadlineMs);
      if (entry.versions.get(version) === serving) entry.versions.delete(version);
      if (entry.versions.size === 0 && entry.loading.size === 0) models.delete(model);
      emit({ type: 'unload', model, version, abandoned });
    },

    async infer(model, inputs: Tensor[], inferOptions = {}) {
      if (closed) throw new EdgefleetError('MODEL_NOT_READY', 'the inference runtime is shutting down');
      const serving = resolve(model, inferOptions);
      const checked = validateInputs(serving.inputs, inputs);
      if (inferOptions.outputs) {
        const known = new Set(serving.outputs.map((o) => o.name));
        const unknown = inferOptions.outputs.filter((o) => !known.has(o));
        if (unknown.length > 0) throw new EdgefleetError('INPUT_INVALID', `unknown output(s) ${unknown.join(', ')}; the model has ${[...known].join(', ')}`);
      }
      return serving.infer(checked, inferOptions.outputs, inferOptions.signal);
    },

    status(model) {
      const entry = models.get(model);
      if (!entry) return [];
      const labelsOf = (version: string): string[] => [...entry.labels].filter(([, v]) => v === version).map(([l]) => l);
      const out: VersionStatus[] = [...entry.loading.keys()].filter((v) => !entry.versions.has(v)).map((version) => ({ version, state: 'LOADING', labels: [] }));
      for (const v of entry.versions.values()) out.push({ version: v.version, state: v.state, labels: labelsOf(v.version), ep: v.ep, pending: v.pending });
      return out;
    },

    models: () => [...models.keys()],

    describe(model, versionOrLabel) {
      const entry = models.get(model);
      if (!entry) return undefined;
      const direct = versionOrLabel === undefined ? undefined : entry.versions.get(versionOrLabel);
      const version = direct ? versionOrLabel : entry.labels.get(versionOrLabel ?? DEFAULT_LABEL);
      const serving = version === undefined ? undefined : entry.versions.get(version);
      return serving ? describeVersion(serving) : undefined;
    },

    takeWindows: () => windows.take(),

    async close(deadlineMs = 10_000) {
      closed = true;
      await Promise.allSettled([...models.values()].flatMap((e) => [...e.loading.values()]));
      await Promise.all([...models].flatMap(([name, e]) => [...e.versions.keys()].map((v) => runtime.unload(name, v, deadlineMs))));
    },

    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return runtime;
}
