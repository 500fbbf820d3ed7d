import { access } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { EdgefleetError, type ExecutionProvider, type TensorSpec } from '@edgefleet/shared';
import { elementCount } from './datatypes.js';
import type { Tensor } from './runtime-port.js';
import type { ModelSession, SessionFactory, SessionSpec } from './session-port.js';

/** How one simulated execution provider behaves. */
export interface FakeEpBehaviour {
  /** Session creation time. @default 0 */
  startMs?: number;
  /** Time per run (a timer, so the event loop stays free as with a worker). @default 0 */
  runMs?: number;
  /** Time per run of a session created with this many intra-op threads, where it differs from `runMs`. */
  runMsByThreads?: Record<number, number>;
  /** create() rejects with EP_UNAVAILABLE and this message (as onnxruntime does for a missing EP). */
  failStart?: string;
  /** create() never settles (a wedged driver); only the caller's signal ends it. */
  hang?: boolean;
  /** Outputs NaN instead of echoing the input (a broken EP, e.g. an fp16 overflow). */
  nan?: boolean;
}

export interface FakeSessionFactoryOptions {
  /** EPs that exist on the simulated device; any other EP fails like a missing provider library. @default { cpu: {} } */
  eps?: Partial<Record<ExecutionProvider, FakeEpBehaviour>>;
  /** @default [{ name: 'x', datatype: 'FP32', shape: [1, 4] }] */
  inputs?: TensorSpec[];
  /** @default [{ name: 'y', datatype: 'FP32', shape: [1, 4] }] */
  outputs?: TensorSpec[];
}

export interface FakeSessionFactory extends SessionFactory {
  /** Every create() attempt, in order, with how it ended. */
  readonly attempts: { ep: ExecutionProvider; modelPath: string; intraOpThreads: number | undefined; outcome: 'started' | 'failed' | 'aborted' }[];
  /** Sessions created and not yet released. */
  readonly live: Set<ModelSession>;
  /** Changes an EP's behaviour for later sessions (and later runs of existing ones). */
  setEp(ep: ExecutionProvider, behaviour: FakeEpBehaviour | undefined): void;
}

/**
 * An in-memory SessionFactory for unit tests of EP selection, queues and the daemon: each output
 * echoes the first input's data (shape of the input), or NaN when the EP is set to `nan`. Like the
 * real one it rejects a missing file with MODEL_INVALID and an absent EP with EP_UNAVAILABLE.
 */
export function createFakeSessionFactory(options: FakeSessionFactoryOptions = {}): FakeSessionFactory {
  const eps = new Map<ExecutionProvider, FakeEpBehaviour>(Object.entries(options.eps ?? { cpu: {} }) as [ExecutionProvider, FakeEpBehaviour][]);
  const inputs = options.inputs ?? [{ name: 'x', datatype: 'FP32', shape: [1, 4] }];
  const outputs = options.outputs ?? [{ name: 'y', datatype: 'FP32', shape: [1, 4] }];
  const attempts: FakeSessionFactory['attempts'] = [];
  const live = new Set<ModelSession>();

  async function create(spec: SessionSpec, signal?: AbortSignal): Promise<ModelSession> {
    const threads = spec.options.intraOpNumThreads;
    const attempt = { ep: spec.ep, modelPath: spec.modelPath, intraOpThreads: threads, outcome: 'failed' as 'started' | 'failed' | 'aborted' };
    attempts.push(attempt);
    if (signal?.aborted) {
      attempt.outcome = 'aborted';
      throw new EdgefleetError('EP_UNAVAILABLE', `${spec.ep}: start aborted`, { cause: signal.reason });
    }
    const exists = await access(spec.modelPath).then(() => true, () => false);
    if (!exists) throw new EdgefleetError('MODEL_INVALID', `${spec.ep}: Load model from ${spec.modelPath} failed: no such file`);
    const behaviour = eps.get(spec.ep);
    if (!behaviour) throw new EdgefleetError('EP_UNAVAILABLE', `${spec.ep}: Failed to load shared library`, { details: { ep: spec.ep } });
    if (behaviour.failStart) throw new EdgefleetError('EP_UNAVAILABLE', `${spec.ep}: ${behaviour.failStart}`, { details: { ep: spec.ep } });
    try {
      if (behaviour.hang) await new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
      if (behaviour.startMs) await sleep(behaviour.startMs, undefined, signal ? { signal } : {});
    } catch (cause) {
      attempt.outcome = 'aborted';
      throw new EdgefleetError('EP_UNAVAILABLE', `${spec.ep}: start abandoned`, { cause });
    }
    attempt.outcome = 'started';
    let released = false;
    const session: ModelSession = {
      ep: spec.ep,
      inputs,
      outputs,
      async run(feeds, outputNames) {
        if (released) throw new EdgefleetError('INFERENCE_FAILED', 'session released');
        const current = eps.get(spec.ep) ?? {};
        const started = performance.now();
        // Like onnxruntime: a feed that is not a model input fails the run.
        const unknown = feeds.find((f) => !inputs.some((i) => i.name === f.name));
        if (unknown) throw new EdgefleetError('INFERENCE_FAILED', `input '${unknown.name}' is not an input of the model`);
        const runMs = (threads !== undefined ? current.runMsByThreads?.[threads] : undefined) ?? current.runMs;
        if (runMs) await sleep(runMs);
        const first = feeds[0];
        const wanted = outputNames ? outputs.filter((o) => outputNames.includes(o.name)) : outputs;
        const result: Tensor[] = wanted.map((o) => {
          const shape = first ? first.shape : o.shape.map((d) => (d < 0 ? 1 : d));
          const data = current.nan ? new Float32Array(elementCount(shape)).fill(NaN) : Float32Array.from((first?.data ?? []) as ArrayLike<number>);
          return { name: o.name, datatype: 'FP32', shape, data };
        });
        return { outputs: result, computeMs: performance.now() - started };
      },
      async release() {
        released = true;
        live.delete(session);
      },
    };
    live.add(session);
    return session;
  }

  return {
    create,
    attempts,
    live,
    setEp(ep, behaviour) {
      if (behaviour) eps.set(ep, behaviour);
      else eps.delete(ep);
    },
  };
}
