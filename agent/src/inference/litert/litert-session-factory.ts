import { readFile } from 'node:fs/promises';
import { EdgefleetError, TFLITE_FILE_IDENTIFIER, modelFormatOf, type ErrorCode } from '@edgefleet/shared';
import type { Tensor } from '../runtime-port.js';
import type { ModelSession, SessionFactory, SessionRunResult, SessionSpec } from '../session-port.js';
import { elementCount } from '../datatypes.js';
import { tensorSpecFromDetails, typedDataFor } from './litert-tensors.js';
import { loadLiteRt, type LiteRtBuild, type LiteRtRuntime, type LoadLiteRtOptions } from './load-litert.js';

export type LiteRtSessionFactoryOptions = LoadLiteRtOptions;

export interface LiteRtSessionFactory extends SessionFactory {
  /** The wasm build sessions run on (loads LiteRT if nothing has yet). */
  build(): Promise<LiteRtBuild>;
}


/**
 * SessionFactory for .tflite files on LiteRT's WebAssembly CPU build (XNNPACK). Sessions run on the
 * calling thread — a run blocks it for the model's compute time — so, like onnxruntime sessions,
 * they belong inside the inference worker. `options.intraOpNumThreads` becomes LiteRT's
 * `cpuOptions.numThreads` on the threaded build; the single-threaded builds run with 1.
 * Tensors keep the layout the model declares (TFLite vision models are NHWC).
 */
export function createLiteRtSessionFactory(options: LiteRtSessionFactoryOptions = {}): LiteRtSessionFactory {
  async function create(spec: SessionSpec, signal?: AbortSignal): Promise<ModelSession> {
    if (spec.ep !== 'cpu') throw new EdgefleetError('EP_UNAVAILABLE', `${spec.ep}: LiteRT on this agent runs on the CPU only`);
    throwIfAborted(signal);
    const bytes = await readModel(spec.modelPath);
    const runtime = await loadLiteRt(options);
    throwIfAborted(signal);
    throwIfRuntimeAborted(runtime);
    const numThreads = runtime.build === 'threaded' ? Math.max(1, spec.options.intraOpNumThreads ?? 1) : 1;
    // LiteRT prepares the graph on the first run, and an unresolved custom op shows only then, as
    // logged errors (the run itself resolves, with garbage): so create() runs once on zeros.
    const { result, log } = await runtime.logged(async () => {
      const model = await runtime.lib.loadAndCompile(bytes, { accelerator: 'wasm', cpuOptions: { numThreads } });
      try {
        const inputs = model.getInputDetails().map((d) => tensorSpecFromDetails(d, spec.modelPath));
        const outputs = model.getOutputDetails().map((d) => tensorSpecFromDetails(d, spec.modelPath));
        const zeros = inputs.map((t) => new runtime.lib.Tensor(typedDataFor(t.datatype, new Array<number>(elementCount(t.shape)).fill(0), t.name), t.shape));
        try {
          for (const out of await model.run(zeros)) out.delete();
        } finally {
          for (const t of zeros) t.delete();
        }
        return { model, inputs, outputs };
      } catch (error) {
        model.delete();
        throw error;
      }
    });
    const errors = runtimeErrors(log);
    if (result.status === 'rejected' || errors.length > 0) {
      throwIfRuntimeAborted(runtime);
      if (result.status === 'fulfilled') result.value.model.delete();
      // Our own refusal (an element type LiteRT.js cannot move) already has its code.
      if (result.status === 'rejected' && result.reason instanceof EdgefleetError && errors.length === 0) throw result.reason;
      throw refusal(spec.modelPath, result.status === 'rejected' ? result.reason : undefined, errors);
    }
    const { model, inputs, outputs } = result.value;
    if (signal?.aborted) {
      model.delete();
      throwIfAborted(signal);
    }
    return createSession(runtime, model, inputs, outputs);
  }

  return { create, build: async () => (await loadLiteRt(options)).build };
}

type LiteRtTensor = InstanceType<LiteRtRuntime['lib']['Tensor']>;
type CompiledModel = Awaited<ReturnType<LiteRtRuntime['lib']['loadAndCompile']>>;

function createSession(runtime: LiteRtRuntime, model: CompiledModel, inputs: ModelSession['inputs'], outputs: ModelSession['outputs']): ModelSession {
  let released = false;
  return {
    ep: 'cpu',
    inputs,
    outputs,
    async run(given: Tensor[], outputNames?: string[]): Promise<SessionRunResult> {
      if (released) throw new EdgefleetError('MODEL_NOT_READY', 'the LiteRT session was released');
      const byName = new Map(given.map((t) => [t.name, t]));
      const tensors = inputs.map((spec) => {
        const tensor = byName.get(spec.name);
        if (!tensor) throw new EdgefleetError('INPUT_INVALID', `missing input ${spec.name}`);
        return new runtime.lib.Tensor(typedDataFor(spec.datatype, tensor.data, spec.name), tensor.shape);
      });
      let results: LiteRtTensor[] = [];
      try {
        let computeMs = 0;
        const { result, log } = await runtime.logged(async () => {
          const started = performance.now();
          results = await model.run(tensors);
          computeMs = performance.now() - started;
        });
        if (result.status === 'rejected') throw result.reason;
        // A kernel that fails logs and still resolves; its outputs are not to be served.
        const errors = runtimeErrors(log);
        if (errors.length > 0) throw new EdgefleetError('INFERENCE_FAILED', `LiteRT run failed: ${errors.join(' ')}`);
        const wanted = outputNames ? new Set(outputNames) : undefined;
        const out: Tensor[] = [];
        outputs.forEach((spec, i) => {
          const result = results[i];
          if (!result || (wanted && !wanted.has(spec.name))) return;
          // toTypedArray copies out of the wasm heap, so the data outlives delete() below.
          out.push({ name: spec.name, datatype: spec.datatype, shape: Array.from(result.type.layout.dimensions), data: result.toTypedArray() });
        });
        return { outputs: out, computeMs };
      } catch (error) {
        throwIfRuntimeAborted(runtime);
        if (error instanceof EdgefleetError) throw error;
        throw new EdgefleetError('INFERENCE_FAILED', `LiteRT run failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      } finally {
        for (const t of [...tensors, ...results]) t.delete();
      }
    },
    release(): Promise<void> {
      if (!released) {
        released = true;
        // An aborted runtime frees nothing any more, and throws when asked to.
        if (runtime.abortReason() === undefined) model.delete();
      }
      return Promise.resolve();
    },
  };
}

async function readModel(path: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new EdgefleetError('MODEL_INVALID', `${path}: cannot read the model file`, { cause: error });
  }
  if (modelFormatOf(bytes) !== 'tflite') {
    throw new EdgefleetError('MODEL_INVALID', `${path}: not a TFLite flatbuffer (file identifier ${JSON.stringify(bytes.subarray(4, 8).toString('latin1'))}, expected "${TFLITE_FILE_IDENTIFIER}")`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The runtime's error lines (and their continuation lines, e.g. "See instructions: ..."). */
function runtimeErrors(log: string[]): string[] {
  return log.map((line) => line.trim()).filter((line) => line !== '' && !/^(INFO|WARNING|VERBOSE):/.test(line));
}

/**
 * LiteRT throws only "Failed to load model from buffer" (or nothing at all for an unresolved custom
 * op); the reason is in the lines it logged meanwhile.
 */
function refusal(path: string, error: unknown, errors: string[]): EdgefleetError {
  const detail = errors.length > 0 ? errors.join(' ') : error instanceof Error ? error.message : String(error);
  const code: ErrorCode = /unresolved custom op|didn't find op|unsupported (custom )?op|no registration/i.test(detail) ? 'MODEL_OP_UNSUPPORTED' : 'MODEL_INVALID';
  return new EdgefleetError(code, `${path}: LiteRT cannot load the model: ${detail}`, error === undefined ? undefined : { cause: error });
}

function throwIfRuntimeAborted(runtime: LiteRtRuntime): void {
  const reason = runtime.abortReason();
  if (reason !== undefined) throw new EdgefleetError('EP_UNAVAILABLE', `cpu: the LiteRT wasm runtime aborted (${reason}); it needs a new process or worker`);
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new EdgefleetError('EP_UNAVAILABLE', 'cpu: LiteRT session start aborted', { cause: signal.reason });
}
