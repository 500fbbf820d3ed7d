/**
 * The messages between an inference session's main-thread half (../worker-session-factory.ts) and
 * its worker_thread (./session-worker.ts). Types only: both sides compile against the same shapes.
 *
 * Tensor data crosses by transfer where its sender gives it up (outputs always; feeds when the
 * caller marked them `transfer`): structured-cloning a 4.9 MB input cost ~1.8 ms each way.
 * `giveBack` lists the feeds' moved buffers (the same objects the feeds view); the worker moves
 * them back once the run is over, so the main thread can reuse them for the next request body.
 */

/** What the worker is started with (`workerData`). */
export interface SessionWorkerData {
  /** onnxruntime-node by absolute path, resolved by the main thread so module resolution cannot differ. */
  ortPath: string;
  modelPath: string;
  ep: string;
  options: Record<string, unknown>;
}

export interface WireTensor {
  name: string;
  /** onnxruntime's type name (float32, int64, …). */
  type: string;
  dims: number[];
  data: unknown;
}

export interface WireSpec {
  name: string;
  type: string;
  shape: (number | string)[];
}

export type MainToWorker =
  | { type: 'run'; id: number; feeds: WireTensor[]; outputs?: string[]; giveBack?: ArrayBuffer[] }
  | { type: 'release' };

export type WorkerToMain =
  | { type: 'ready'; inputs: WireSpec[]; outputs: WireSpec[] }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; outputs: WireTensor[]; computeMs: number; givenBack: ArrayBuffer[] }
  | { type: 'error'; id: number; message: string; givenBack: ArrayBuffer[] }
  | { type: 'released' };
