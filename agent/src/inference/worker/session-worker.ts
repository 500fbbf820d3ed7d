/**
 * One inference session in its own worker_thread, so session.run never blocks the agent's event
 * loop. Started by ../worker-session-factory.ts from this file's compiled path; the protocol is in
 * ./protocol.ts. It holds no logic beyond create/run/release: validation, queues and timing live in
 * the main-thread code. It imports nothing at run time but Node built-ins and onnxruntime-node
 * (by the absolute path the main thread resolved), so it runs the same from dist/, from a bundle
 * (a separate entry) and from source under vitest (test/setup/ts-worker-loader.mjs).
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type * as Ort from 'onnxruntime-node';
import type { MainToWorker, SessionWorkerData, WireSpec, WireTensor, WorkerToMain } from './protocol.js';

if (!parentPort) throw new Error('session-worker runs as a worker_thread only');
const port = parentPort;
const data = workerData as SessionWorkerData;
let ort: typeof Ort | undefined;
let session: Ort.InferenceSession | undefined;

const post = (msg: WorkerToMain, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer);

function meta(list: readonly Ort.InferenceSession.ValueMetadata[]): WireSpec[] {
  return list.map((m) => ({ name: m.name, type: m.isTensor ? m.type : 'unknown', shape: m.isTensor ? Array.from(m.shape) : [] }));
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function start(): Promise<void> {
  try {
    ort = createRequire(import.meta.url)(data.ortPath) as typeof Ort;
    session = await ort.InferenceSession.create(data.modelPath, { ...data.options, executionProviders: [data.ep] } as Ort.InferenceSession.SessionOptions);
    post({ type: 'ready', inputs: meta(session.inputMetadata), outputs: meta(session.outputMetadata) });
  } catch (e) {
    post({ type: 'failed', message: errorText(e) });
  }
}

async function run(msg: Extract<MainToWorker, { type: 'run' }>): Promise<void> {
  const started = performance.now();
  const givenBack = msg.giveBack ?? [];
  try {
    if (!ort || !session) throw new Error('the session is not loaded');
    const feeds: Record<string, Ort.Tensor> = {};
    for (const f of msg.feeds) feeds[f.name] = new ort.Tensor(f.type as Ort.Tensor.Type, f.data as Ort.Tensor.DataType, f.dims);
    const results = msg.outputs ? await session.run(feeds, msg.outputs) : await session.run(feeds);
    const computeMs = performance.now() - started;
    const outputs: WireTensor[] = [];
    const moved = new Set<ArrayBuffer>();
    for (const [name, t] of Object.entries(results)) {
      outputs.push({ name, type: t.type, dims: Array.from(t.dims), data: t.data });
      if (ArrayBuffer.isView(t.data) && t.data.buffer instanceof ArrayBuffer && t.data.buffer.byteLength > 0) moved.add(t.data.buffer);
    }
    // Output tensors are this worker's own and dropped after the post: move them, don't copy.
    // onnxruntime is done with the feeds once run() resolves: their buffers can go back (unless an
    // output is a view of one, which already goes back as that output).
    const back = givenBack.filter((b) => !moved.has(b));
    post({ type: 'result', id: msg.id, outputs, computeMs, givenBack: back }, [...moved, ...back]);
  } catch (e) {
    post({ type: 'error', id: msg.id, message: errorText(e), givenBack }, givenBack);
  }
}

async function release(): Promise<void> {
  try {
    if (session) await session.release();
  } finally {
    session = undefined;
    post({ type: 'released' });
    port.close();
  }
}

port.on('message', (msg: MainToWorker) => {
  if (msg.type === 'run') void run(msg);
  else void release();
});
void start();
