import { connect } from 'node:net';
import { join } from 'node:path';
import { createApiServer, createInferenceRuntime, createNodeHardwarePort, detectHardware, type ApiServer, type InferenceRuntimeWithEvents } from '@edgefleet/agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addModel, slowModel, tmpDataDir, writeModelFile, type TmpDir } from '../helpers/index.js';

/** Malformed and refused requests: a 4xx/5xx with {"error": "..."} and a stable code, and the server keeps serving. */
let tmp: TmpDir;
let runtime: InferenceRuntimeWithEvents;
let api: ApiServer;
let base: string;

beforeAll(async () => {
  tmp = await tmpDataDir();
  const hardware = await detectHardware(createNodeHardwarePort());
  runtime = await createInferenceRuntime({ hardware, config: { epBenchmarkBudgetMs: 50, intraOpThreads: 1, queueDepth: 1 } });
  const add = await writeModelFile(join(tmp.path, 'add.onnx'), addModel({ addend: 1 }));
  await runtime.load({ model: 'add', version: '1', path: add.path, sha256: add.sha256 });
  runtime.setLabel('add', 'active', '1');
  await runtime.load({ model: 'idle', version: '1', path: add.path, sha256: add.sha256 });
  const slow = await writeModelFile(join(tmp.path, 'slow.onnx'), slowModel({ size: 96, depth: 800 }));
  await runtime.load({ model: 'slow', version: '1', path: slow.path, sha256: slow.sha256 });
  runtime.setLabel('slow', 'active', '1');
  api = createApiServer({ runtime, port: 0, maxBodyBytes: 64 * 1024, defaultMetrics: false });
  base = (await api.listen()).url;
}, 60_000);

afterAll(async () => {
  await api?.close();
  await runtime?.close();
  await tmp?.cleanup();
});

async function send(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as { error?: string; code?: string } };
}

const x = (shape: number[], data: unknown, datatype = 'FP32') => JSON.stringify({ inputs: [{ name: 'x', shape, datatype, data }] });

describe('local API error replies', () => {
  it.each([
    ['invalid JSON', 'POST', '/v2/models/add/infer', '{"inputs": [', 400, undefined],
    ['unknown model (v2)', 'POST', '/v2/models/nope/infer', x([1, 4], [1, 2, 3, 4]), 404, 'MODEL_NOT_FOUND'],
    ['unknown model (TF)', 'POST', '/v1/models/nope:predict', JSON.stringify({ instances: [[1, 2, 3, 4]] }), 404, 'MODEL_NOT_FOUND'],
    ['unknown version', 'POST', '/v2/models/add/versions/7/infer', x([1, 4], [1, 2, 3, 4]), 404, 'MODEL_VERSION_NOT_FOUND'],
    ['unknown label', 'POST', '/v1/models/add/labels/canary:predict', JSON.stringify({ instances: [[1, 2, 3, 4]] }), 404, 'MODEL_VERSION_NOT_FOUND'],
    ['loaded but not active', 'POST', '/v2/models/idle/infer', x([1, 4], [1, 2, 3, 4]), 503, 'MODEL_NOT_READY'],
    ['wrong shape', 'POST', '/v2/models/add/infer', x([2, 2], [1, 2, 3, 4]), 400, 'INPUT_INVALID'],
    ['data does not fill the shape', 'POST', '/v2/models/add/infer', x([1, 4], [1, 2, 3]), 400, 'INPUT_INVALID'],
    ['wrong datatype', 'POST', '/v2/models/add/infer', x([1, 4], [1, 2, 3, 4], 'INT32'), 400, 'INPUT_INVALID'],
    ['BF16', 'POST', '/v2/models/add/infer', x([1, 4], [1, 2, 3, 4], 'BF16'), 400, 'INPUT_INVALID'],
    ['non-numeric element', 'POST', '/v2/models/add/infer', x([1, 4], [1, 'a', 3, 4]), 400, 'INPUT_INVALID'],
    ['missing inputs', 'POST', '/v2/models/add/infer', JSON.stringify({ id: '1' }), 400, 'PAYLOAD_INVALID'],
    ['both instances and inputs', 'POST', '/v1/models/add:predict', JSON.stringify({ instances: [[1, 2, 3, 4]], inputs: [[1, 2, 3, 4]] }), 400, 'PAYLOAD_INVALID'],
    ['ragged instances', 'POST', '/v1/models/add:predict', JSON.stringify({ instances: [[1, 2, 3, 4], [1]] }), 400, 'INPUT_INVALID'],
    ['GET on :predict', 'GET', '/v1/models/add:predict', undefined, 404, 'NOT_FOUND'],
    ['unknown route', 'GET', '/v3/anything', undefined, 404, 'NOT_FOUND'],
  ])('%s', async (_name, method, path, body, status, code) => {
    const reply = await send(method, path, body, body === undefined ? {} : undefined);
    expect(reply.status).toBe(status);
    expect(reply.body.error).toEqual(expect.any(String));
    expect(reply.body.error!.length).toBeGreaterThan(5);
    if (code) expect(reply.body.code).toBe(code);
  });

  it('a body over maxBodyBytes → 413', async () => {
    const reply = await send('POST', '/v2/models/add/infer', x([1, 4], new Array(20_000).fill(1.5)));
    expect(reply.status).toBe(413);
    expect(reply.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('an oversize body gets its 413 on a connection that stays usable: the client reads the reply and sends its next request on the same socket', async () => {
    const { port } = new URL(base);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const waitFor = async (pattern: RegExp, count: number): Promise<void> => {
      for (let i = 0; i < 200 && (received.match(pattern) ?? []).length < count; i++) await new Promise((r) => setTimeout(r, 25));
    };
    const bodyBytes = 4 * 64 * 1024;
    socket.write(`POST /v2/models/add/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bodyBytes}\r\n\r\n`);
    // The reply comes before the body has been sent; then the whole body still goes in.
    await waitFor(/HTTP\/1\.1 413/g, 1);
    expect(received).toMatch(/^HTTP\/1\.1 413/);
    expect(received.toLowerCase()).not.toContain('connection: close');
    for (let sent = 0; sent < bodyBytes; sent += 16 * 1024) await new Promise<void>((r) => socket.write(Buffer.alloc(16 * 1024, 0x20), () => r()));
    socket.write('GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(/HTTP\/1\.1 200/g, 1);
    socket.destroy();
    expect(received).toMatch(/HTTP\/1\.1 200/);
    expect(received).toContain('PAYLOAD_TOO_LARGE');
  });

  it('binary extension: a header length past the body, and a binary_data_size that does not match the shape → 400', async () => {
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 12 } }] }));
    const octet = (len: number) => ({ 'content-type': 'application/octet-stream', 'inference-header-content-length': String(len) });
    expect((await send('POST', '/v2/models/add/infer', Buffer.concat([header, Buffer.alloc(12)]), octet(header.length + 100))).status).toBe(400);
    const mismatch = await send('POST', '/v2/models/add/infer', Buffer.concat([header, Buffer.alloc(12)]), octet(header.length));
    expect(mismatch).toMatchObject({ status: 400, body: { code: 'INPUT_INVALID' } });
    expect(mismatch.body.error).toMatch(/12 bytes/);
  });

  it('raw octet-stream body for a single fixed-shape input works, and a wrong size is refused', async () => {
    const ok = await fetch(`${base}/v2/models/add/infer`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(Float32Array.from([1, 2, 3, 4]).buffer) });
    expect(ok.status).toBe(200);
    const buf = Buffer.from(await ok.arrayBuffer());
    const len = Number(ok.headers.get('inference-header-content-length'));
    const out = buf.subarray(len);
    expect(Array.from(new Float32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength)))).toEqual([2, 3, 4, 5]);
    const bad = await send('POST', '/v2/models/add/infer', Buffer.alloc(7), { 'content-type': 'application/octet-stream' });
    expect(bad).toMatchObject({ status: 400, body: { code: 'INPUT_INVALID' } });
  });

  it('overload is refused with 429 (bounded queue), not queued without bound', async () => {
    const body = x([96, 96], new Array(96 * 96).fill(1));
    // Enough requests, each long enough (~100 ms), that they overlap even when a loaded machine spreads their arrival.
    const replies = await Promise.all(Array.from({ length: 12 }, () => send('POST', '/v2/models/slow/infer', body)));
    const statuses = replies.map((r) => r.status);
    expect(statuses).toContain(200);
    expect(statuses).toContain(429);
    expect(replies.find((r) => r.status === 429)?.body.code).toBe('INFERENCE_QUEUE_FULL');
  });

  it('readiness: 503 until the daemon says ready; model ready follows the active label', async () => {
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(503);
    api.setReady(true);
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${base}/v2/models/idle/ready`)).status).toBe(503);
    expect((await fetch(`${base}/v2/models/add/ready`)).status).toBe(200);
  });

  it('after all that the server still serves, and /metrics counts failures by reason', async () => {
    const ok = await send('POST', '/v1/models/add:predict', JSON.stringify({ instances: [[1, 2, 3, 4]] }));
    expect(ok).toEqual({ status: 200, body: { predictions: [[2, 3, 4, 5]] } });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/nv_inference_request_failure\{model="add",version="",ep="",reason="INPUT_INVALID"\} [1-9]/);
    expect(metrics).toMatch(/nv_inference_request_failure\{model="slow",version="1",ep="cpu",reason="INFERENCE_QUEUE_FULL"\} [1-9]/);
  });
});
