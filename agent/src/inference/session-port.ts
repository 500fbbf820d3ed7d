import type { ExecutionProvider, TensorSpec } from '@edgefleet/shared';
import type { Tensor } from './runtime-port.js';

/**
 * The port over `InferenceSession.create` + `run`: one session of one model on one execution
 * provider. The real factory (worker-session-factory.ts) puts each session in its own
 * worker_thread; the fake (fake-session-factory.ts) simulates EPs that start, fail, hang, are
 * slow or produce NaN. inference-session-contract.test.ts holds both to the same behaviour.
 */
export interface SessionOptionsSpec {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  enableCpuMemArena?: boolean;
  enableMemPattern?: boolean;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  executionMode?: 'sequential' | 'parallel';
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  /** Session config entries, nested (onnxruntime-node flattens `{session: {intra_op: {allow_spinning: '0'}}}`). */
  extra?: Record<string, unknown>;
}

export interface SessionSpec {
  /** Absolute path of the .onnx file. */
  modelPath: string;
  ep: ExecutionProvider;
  options: SessionOptionsSpec;
}

export interface SessionRunResult {
  outputs: Tensor[];
  /** Time inside session.run, measured where it ran. */
  computeMs: number;
  /** The buffers of inputs given up (`transfer`), back from the session after the run: free for reuse. */
  inputBuffers?: ArrayBuffer[];
}

export interface ModelSession {
  readonly ep: ExecutionProvider;
  /** Graph inputs/outputs with KServe datatypes; a variable dimension is -1. */
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  /** Inputs must already match the spec (the runtime validates); data as typed arrays. */
  run(inputs: Tensor[], outputNames?: string[]): Promise<SessionRunResult>;
  /** Frees the session (and its thread); safe to call twice. */
  release(): Promise<void>;
}

export interface SessionFactory {
  /**
   * Rejects with EdgefleetError EP_UNAVAILABLE when the EP cannot start (onnxruntime-node has no
   * fallback), MODEL_INVALID when the file is not a loadable model, MODEL_LOAD_FAILED otherwise.
   * An aborted signal abandons the attempt and frees whatever it started.
   */
  create(spec: SessionSpec, signal?: AbortSignal): Promise<ModelSession>;
}
