import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { EdgefleetError, type ErrorCode, type ExecutionProvider, type TensorSpec } from '@edgefleet/shared';
import { KSERVE_TO_ORT, kserveFromOrt, isKserveDatatype } from './datatypes.js';
import type { Tensor } from './runtime-port.js';
import type { ModelSession, SessionFactory, SessionRunResult, SessionSpec } from './session-port.js';
import type { MainToWorker, SessionWorkerData, WireSpec, WireTensor, WorkerToMain } from './worker/protocol.js';

/**
 * The worker's compiled file beside this module (dist/inference/worker/session-worker.js). Run from
 * source (vitest), this module is a .ts file and so is the worker's: the test runner registers a
 * TypeScript loader that worker threads inherit (test/setup/ts-worker-loader.mjs), so tests run the
 * current source, never a dist/ that lags it.
 */
export const SESSION_WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker/session-worker.ts' : './worker/session-worker.js', import.meta.url);

/** Sorts onnxruntime's create() failures into stable codes: the message is all it gives us. */
export function classifyCreateError(ep: ExecutionProvider, message: string): ErrorCode {
  if (/protobuf|parsing|invalid model|model_path|no such file|load model|ModelProto|opset|INVALID_GRAPH|INVALID_PROTOBUF/i.test(message)) return 'MODEL_INVALID';
  if (ep !== 'cpu') return 'EP_UNAVAILABLE';
  return 'MODEL_LOAD_FAILED';
}

function toSpec(wire: WireSpec): TensorSpec {
  return { name: wire.name, datatype: kserveFromOrt(wire.type), shape: wire.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
}

function fromWire(t: WireTensor): Tensor {
  const datatype = kserveFromOrt(t.type);
  let data = t.data as Tensor['data'];
  // onnxruntime returns bool tensors as Uint8Array.
  if (datatype === 'BOOL' && ArrayBuffer.isView(data)) data = Array.from(data as Uint8Array, (b) => b !== 0);
  return { name: t.name, datatype, shape: t.dims, data };
}

/**
 * ArrayBuffers of the tensors whose holder gave them up (`transfer`), each once (two inputs may be
 * views of one request body). Everything else is structured-cloned: the caller keeps reading it
 * (e.g. warm-up inputs reused across EP candidates). Node copies a pooled Buffer's memory instead
 * of detaching the pool, so a small body that came from the pool is safe too. Empty buffers stay
 * out: a detached one in the transfer list makes Node drop the message without an error (the run
 * would wait for its timeout), while cloning it throws at once.
 */
function givenUpBuffers(inputs: readonly Tensor[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const t of inputs) {
    if (t.transfer === true && ArrayBuffer.isView(t.data) && t.data.buffer instanceof ArrayBuffer && t.data.buffer.byteLength > 0) buffers.add(t.data.buffer);
  }
  return [...buffers];
}

export interface WorkerSessionFactoryOptions {
  /** Absolute path or specifier of onnxruntime-node. @default resolved from this package */
  ortPath?: string;
  /** The worker's entry (a bundle that moves it). @default SESSION_WORKER_URL */
  workerUrl?: URL;
}

/** The real SessionFactory: one worker_thread per session, so session.run never blocks the event loop. */
export function createWorkerSessionFactory(options: WorkerSessionFactoryOptions = {}): SessionFactory {
  const ortPath = options.ortPath ?? createRequire(import.meta.url).resolve('onnxruntime-node');
  const workerUrl = options.workerUrl ?? SESSION_WORKER_URL;
  return {
    create: (spec, signal) => startWorkerSession(workerUrl, ortPath, spec, signal),
  };
}

async function startWorkerSession(workerUrl: URL, ortPath: string, spec: SessionSpec, signal?: AbortSignal): Promise<ModelSession> {
  if (signal?.aborted) throw new EdgefleetError('EP_UNAVAILABLE', `${spec.ep}: start aborted`, { cause: signal.reason });
  const workerData: SessionWorkerData = { ortPath, modelPath: spec.modelPath, ep: spec.ep, options: spec.options as Record<string, unknown> };
  const worker = new Worker(workerUrl, {
    workerData,
    // onnxruntime's own threads do the work; the worker's JS heap only holds tensors in transit.
    stderr: false,
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (r: SessionRunResult) => void; reject: (e: Error) => void }>();
  let dead: Error | undefined;
  let releasing: Promise<void> | undefined;

  const failAll = (error: Error): void => {
    dead ??= error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };

  const ready = new Promise<{ inputs: WireSpec[]; outputs: WireSpec[] }>((resolve, reject) => {
    const onAbort = (): void => {
      reject(new EdgefleetError('EP_UNAVAILABLE', `${spec.ep}: start abandoned (${String(signal?.reason ?? 'aborted')})`, { cause: signal?.reason }));
      void worker.terminate();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (msg: WorkerToMain) => {
      switch (msg.type) {
        case 'ready':
          signal?.removeEventListener('abort', onAbort);
          resolve(msg);
          break;
        case 'failed': {
          signal?.removeEventListener('abort', onAbort);
          const code = classifyCreateError(spec.ep, msg.message);
          reject(new EdgefleetError(code, `${spec.ep}: ${msg.message.trim()}`, { details: { ep: spec.ep } }));
          void worker.terminate();
          break;
        }
        case 'result': {
          const p = pending.get(msg.id);
          pending.delete(msg.id);
          p?.resolve({ outputs: msg.outputs.map(fromWire), computeMs: msg.computeMs, ...(msg.givenBack.length > 0 ? { inputBuffers: msg.givenBack } : {}) });
          break;
        }
        case 'error': {
          const p = pending.get(msg.id);
          pending.delete(msg.id);
          p?.reject(new EdgefleetError('INFERENCE_FAILED', msg.message.trim(), { details: { ep: spec.ep } }));
          break;
        }
        case 'released':
          break;
      }
    });
    worker.on('error', (error) => {
      const wrapped = new EdgefleetError('INFERENCE_FAILED', `inference worker crashed: ${error.message}`, { cause: error });
      failAll(wrapped);
      reject(wrapped);
    });
    worker.on('exit', (code) => {
      const error = new EdgefleetError('INFERENCE_FAILED', `inference worker exited (code ${code})`);
      failAll(error);
      reject(error);
    });
  });

  const meta = await ready;
  return {
    ep: spec.ep,
    inputs: meta.inputs.map(toSpec),
    outputs: meta.outputs.map(toSpec),
    run(inputs, outputNames) {
      if (dead) return Promise.reject(dead);
      const id = nextId++;
      const feeds = inputs.map((t) => {
        if (!isKserveDatatype(t.datatype)) throw new EdgefleetError('INPUT_INVALID', `input ${t.name}: unknown datatype ${t.datatype}`);
        return { name: t.name, type: KSERVE_TO_ORT[t.datatype], dims: t.shape, data: t.data };
      });
      const moved = givenUpBuffers(inputs);
      return new Promise<SessionRunResult>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        try {
          const msg: MainToWorker = { type: 'run', id, feeds, ...(outputNames ? { outputs: outputNames } : {}), ...(moved.length > 0 ? { giveBack: moved } : {}) };
          worker.postMessage(msg, moved);
        } catch (error) {
          // e.g. a buffer already moved away by an earlier run: no message went out, so no reply comes.
          pending.delete(id);
          reject(new EdgefleetError('INFERENCE_FAILED', `inputs could not be sent to the inference worker: ${(error as Error).message}`, { cause: error }));
        }
      });
    },
    release() {
      releasing ??= (async () => {
        if (dead) return;
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.postMessage({ type: 'release' } satisfies MainToWorker);
        // A wedged native release must not hold shutdown forever.
        const timer = setTimeout(() => void worker.terminate(), 5000);
        await exited;
        clearTimeout(timer);
      })();
      return releasing;
    },
  };
}
