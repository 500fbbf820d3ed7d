import type { EpCandidate, EpPolicy, ExecutionProvider, InferenceWindow, TensorSpec } from '@edgefleet/shared';

/**
 * The port between the agent's reconciler/API/telemetry and the inference engine (onnxruntime-node
 * in worker threads). A fake implements the same interface for unit tests of the reconciler; a
 * contract test runs both against the same expectations.
 */

export interface LoadRequest {
  model: string;
  version: string;
  /** Absolute path of the verified .onnx file. */
  path: string;
  /** sha256 of the file (part of the EP-choice cache key). */
  sha256: string;
  ep?: Partial<EpPolicy>;
  /**
   * Inputs for warm-up and the EP benchmark (e.g. the golden input). Default: generated from the
   * model's declared inputs, variable dimensions set to 1 (batch) or 64.
   */
  warmupInputs?: Tensor[];
}

export interface LoadedVersion {
  model: string;
  version: string;
  ep: ExecutionProvider;
  epCandidates: EpCandidate[];
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  loadMs: number;
}

/** A tensor crossing the port: KServe v2 datatype names, row-major flat data. */
export interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  data: ArrayLike<number> | ArrayLike<bigint> | ArrayLike<boolean> | string[];
  /**
   * The holder gives up `data`'s memory: the session may move (transfer) its ArrayBuffer to the
   * inference thread instead of copying it, after which `data` reads as empty. Set only on memory
   * nobody reads again (a request body, a freshly converted array). @default false
   */
  transfer?: boolean;
}

export interface InferOptions {
  /** Version or label (`active`, `stable`, `canary`); default `active`. */
  version?: string;
  label?: string;
  /** Names of outputs to return; default all. */
  outputs?: string[];
  signal?: AbortSignal;
}

export interface InferResult {
  model: string;
  version: string;
  ep: ExecutionProvider;
  outputs: Tensor[];
  queueMs: number;
  computeMs: number;
  /**
   * The memory of inputs the caller gave up (`transfer`), handed back once the run is over, where
   * the session could: nothing else refers to it, so the caller may reuse it (the local API's body pool).
   */
  inputBuffers?: ArrayBuffer[];
}

export interface VersionStatus {
  version: string;
  state: 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';
  labels: string[];
  ep?: ExecutionProvider;
  /** Requests queued or running on this version. */
  pending?: number;
}

export interface InferenceRuntime {
  /** Loads (creates a session on the best EP, warms up) beside whatever is loaded; does not move labels. */
  load(request: LoadRequest): Promise<LoadedVersion>;
  /**
   * Runs the model on the given input, or on a generated input of its declared shapes when none
   * is given, and checks every output is finite. Throws SMOKE_TEST_FAILED otherwise.
   */
  smokeTest(model: string, version: string, input?: Tensor[]): Promise<void>;
  /** Points a label (e.g. `active`) at a loaded version, atomically. */
  setLabel(model: string, label: string, version: string): void;
  /** Drains in-flight requests on that version (with a deadline), then releases its session. */
  unload(model: string, version: string, deadlineMs?: number): Promise<void>;
  infer(model: string, inputs: Tensor[], options?: InferOptions): Promise<InferResult>;
  status(model: string): VersionStatus[];
  models(): string[];
  /** Input/output specs of a loaded version. */
  describe(model: string, versionOrLabel?: string): LoadedVersion | undefined;
  /** Inference counters since the last call, per {model, version, ep}; telemetry and probation read them. */
  takeWindows(): InferenceWindow[];
  /** Stop intake, drain, release every session and worker. */
  close(deadlineMs?: number): Promise<void>;
}
