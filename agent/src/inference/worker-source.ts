/**
 * The code each inference worker_thread runs, as a plain CommonJS string started with
 * `new Worker(WORKER_SOURCE, { eval: true, workerData })`.
 *
 * Why a string and not a worker file: a file must exist as .js beside the running module, which
 * holds in production (dist/) but not under vitest (src/*.ts, Node 20 cannot run TypeScript), and a
 * fallback to dist/ runs stale code whenever the build lags the source. An eval'd string is the
 * same code in both, needs no build step, and gets onnxruntime-node by absolute path (resolved by
 * the main thread) so module resolution cannot differ. It stays small and has no logic beyond
 * create/run/release; validation, queues and timing live in the typed main-thread code, and the
 * integration tests run this code for real.
 *
 * Protocol (main → worker): {type:'run', id, feeds:[{name,type,dims,data}], outputs?, giveBack?: ArrayBuffer[]} | {type:'release'}
 *           (worker → main): {type:'ready', inputs, outputs} | {type:'failed', message}
 *                            | {type:'result', id, outputs, computeMs, givenBack} | {type:'error', id, message, givenBack}
 *                            | {type:'released'}
 * Tensor data crosses by transfer where its sender gives it up (outputs always; feeds when the
 * caller marked them `transfer`): structured-cloning a 4.9 MB input cost ~1.8 ms each way.
 * `giveBack` lists the feeds' moved buffers (the same objects the feeds view); the worker moves
 * them back once the run is over, so the main thread can reuse them for the next request body.
 */
export const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
let ort;
let session;
function meta(list) {
  return list.map((m) => ({ name: m.name, type: m.isTensor ? m.type : 'unknown', shape: m.isTensor && m.shape ? Array.from(m.shape) : [] }));
}
function errorText(e) {
  return e && e.message ? String(e.message) : String(e);
}
async function start() {
  try {
    ort = require(workerData.ortPath);
    const options = Object.assign({}, workerData.options, { executionProviders: [workerData.ep] });
    session = await ort.InferenceSession.create(workerData.modelPath, options);
    parentPort.postMessage({ type: 'ready', inputs: meta(session.inputMetadata), outputs: meta(session.outputMetadata) });
  } catch (e) {
    parentPort.postMessage({ type: 'failed', message: errorText(e) });
  }
}
parentPort.on('message', async (msg) => {
  if (msg.type === 'run') {
    const started = performance.now();
    const givenBack = msg.giveBack || [];
    try {
      const feeds = {};
      for (const f of msg.feeds) feeds[f.name] = new ort.Tensor(f.type, f.data, f.dims);
      const results = msg.outputs ? await session.run(feeds, msg.outputs) : await session.run(feeds);
      const computeMs = performance.now() - started;
      const outputs = [];
      const moved = new Set();
      for (const name of Object.keys(results)) {
        const t = results[name];
        outputs.push({ name, type: t.type, dims: Array.from(t.dims), data: t.data });
        if (ArrayBuffer.isView(t.data) && t.data.buffer instanceof ArrayBuffer && t.data.buffer.byteLength > 0) moved.add(t.data.buffer);
      }
      // Output tensors are this worker's own and dropped after the post: move them, don't copy.
      // onnxruntime is done with the feeds once run() resolves: their buffers can go back (unless an
      // output is a view of one, which already goes back as that output).
      const back = givenBack.filter((b) => !moved.has(b));
      parentPort.postMessage({ type: 'result', id: msg.id, outputs, computeMs, givenBack: back }, [...moved, ...back]);
    } catch (e) {
      parentPort.postMessage({ type: 'error', id: msg.id, message: errorText(e), givenBack }, givenBack);
    }
  } else if (msg.type === 'release') {
    try {
      if (session) await session.release();
    } finally {
      session = undefined;
      parentPort.postMessage({ type: 'released' });
      parentPort.close();
    }
  }
});
start();
`;
