import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createApiServer, createInferenceRuntime, createNodeHardwarePort, detectHardware, type ApiServer, type InferenceRuntimeWithEvents } from '@edgefleet/agent';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addModel, modelSha256, ocrModelPath, sumDiffModel, tmpDataDir, writeModelFile, type TmpDir } from '../helpers/index.js';

/**
 * Both serving dialects, JSON and binary, against the real PP-OCR text-direction classifier:
 * every path must return what a direct onnxruntime-node session.run returns for the same input.
 * Large binary requests reuse body memory the inference worker hands back; that may never mix one
 * request's bytes into another's answer.
 */
/** Response bodies: their shape is what the assertions check. */
type Json = ReturnType<typeof JSON.parse>;

const SHAPE = [1, 3, 48, 192];
const COUNT = SHAPE.reduce((a, b) => a * b, 1);
/** 256 KiB of FP32 each way: a body the API pools. */
const POOLED = 65_536;

let tmp: TmpDir;
let runtime: InferenceRuntimeWithEvents;
let api: ApiServer;
let base: string;
let input: Float32Array;
let expected: number[];

beforeAll(async () => {
  tmp = await tmpDataDir();
  const clsPath = ocrModelPath('cls');
  const clsBytes = await readFile(clsPath);
  input = Float32Array.from({ length: COUNT }, (_, i) => Math.sin(i) * 0.5);
  const direct = await ort.InferenceSession.create(clsBytes);
  const out = await direct.run({ x: new ort.Tensor('float32', input, SHAPE) });
  expected = Array.from(out[direct.outputNames[0]!]!.data as Float32Array);
  await direct.release();

  const hardware = await detectHardware(createNodeHardwarePort());
  runtime = await createInferenceRuntime({ hardware, config: { epBenchmarkBudgetMs: 200, intraOpThreads: 1 } });
  await runtime.load({ model: 'cls', version: '1', path: clsPath, sha256: modelSha256(clsBytes), warmupInputs: [{ name: 'x', datatype: 'FP32', shape: SHAPE, data: input }] });
  runtime.setLabel('cls', 'active', '1');
  const sumDiff = await writeModelFile(join(tmp.path, 'sum-diff.onnx'), sumDiffModel());
  await runtime.load({ model: 'sumdiff', version: '3', path: sumDiff.path, sha256: sumDiff.sha256 });
  runtime.setLabel('sumdiff', 'active', '3');
  runtime.setLabel('sumdiff', 'stable', '3');
  const add = await writeModelFile(join(tmp.path, 'add.onnx'), addModel({ shape: [1, POOLED], addend: 1 }));
  await runtime.load({ model: 'add', version: '1', path: add.path, sha256: add.sha256 });
  runtime.setLabel('add', 'active', '1');
  api = createApiServer({ runtime, port: 0, ready: true });
  base = (await api.listen()).url;
}, 60_000);

afterAll(async () => {
  await api?.close();
  await runtime?.close();
  await tmp?.cleanup();
});

const nested = (flat: Float32Array): number[][][][] =>
  Array.from({ length: 1 }, () => Array.from({ length: 3 }, (_, c) => Array.from({ length: 48 }, (_, h) => Array.from(flat.subarray(c * 48 * 192 + h * 192, c * 48 * 192 + (h + 1) * 192)))));

function expectClose(actual: number[], wanted: number[]): void {
  expect(actual).toHaveLength(wanted.length);
  actual.forEach((v, i) => expect(v).toBeCloseTo(wanted[i]!, 5));
}

async function post(path: string, body: unknown): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

/** A KServe v2 binary-extension request (one FP32 input `x`, binary outputs), its reply split into the JSON header and the raw output. */
async function inferBinary(path: string, shape: number[], tensor: Float32Array): Promise<{ status: number; json: Json; output: Float32Array; length: number; headerLength: number }> {
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape, datatype: 'FP32', parameters: { binary_data_size: tensor.byteLength } }], parameters: { binary_data_output: true } }));
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    body: Buffer.concat([header, Buffer.from(tensor.buffer, tensor.byteOffset, tensor.byteLength)]),
  });
  const body = Buffer.from(await res.arrayBuffer());
  const headerLength = Number(res.headers.get('inference-header-content-length'));
  const raw = body.subarray(headerLength);
  return {
    status: res.status,
    json: JSON.parse(body.subarray(0, headerLength).toString()),
    output: new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)),
    length: Number(res.headers.get('content-length')),
    headerLength,
  };
}

describe('local API against the real PP-OCR classifier', () => {
  it('TF Serving row format (instances) equals a direct session.run', async () => {
    const { status, json } = await post('/v1/models/cls:predict', { instances: nested(input) });
    expect(status).toBe(200);
    expectClose(json.predictions.flat(), expected);
  });

  it('TF Serving columnar format (inputs), addressed by version', async () => {
    const { status, json } = await post('/v1/models/cls/versions/1:predict', { inputs: nested(input) });
    expect(status).toBe(200);
    expectClose(json.outputs.flat(), expected);
  });

  it('KServe v2 JSON infer (flat data) equals a direct session.run', async () => {
    const { status, json } = await post('/v2/models/cls/infer', { id: 'r1', inputs: [{ name: 'x', shape: SHAPE, datatype: 'FP32', data: Array.from(input) }] });
    expect(status).toBe(200);
    expect(json).toMatchObject({ model_name: 'cls', model_version: '1', id: 'r1' });
    expect(json.outputs[0]).toMatchObject({ datatype: 'FP32', shape: [1, 2] });
    expectClose(json.outputs[0].data, expected);
  });

  it('KServe v2 binary tensor extension in and out equals a direct session.run', async () => {
    const reply = await inferBinary('/v2/models/cls/versions/1/infer', SHAPE, input);
    expect(reply.status).toBe(200);
    expect(reply.json.outputs[0]).toEqual({ name: expect.any(String), datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } });
    expectClose(Array.from(reply.output), expected);
  });

  it('metadata in both dialects', async () => {
    const v2 = (await (await fetch(`${base}/v2/models/cls`)).json()) as Json;
    expect(v2).toMatchObject({ name: 'cls', versions: ['1'], platform: 'onnxruntime_onnx', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, -1, -1] }] });
    const tf = (await (await fetch(`${base}/v1/models/cls/metadata`)).json()) as Json;
    expect(tf.metadata.signature_def.signature_def.serving_default.inputs.x.dtype).toBe('DT_FLOAT');
    const status = (await (await fetch(`${base}/v1/models/cls`)).json()) as Json;
    expect(status).toEqual({ model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] });
    expect((await fetch(`${base}/v2/models/cls/ready`)).status).toBe(200);
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${base}/v2/health/live`)).status).toBe(200);
  });

  it('several inputs and outputs: row objects keyed by name, columnar objects, labels in the path', async () => {
    const row = await post('/v1/models/sumdiff/labels/stable:predict', { instances: [{ a: [1, 2, 3], b: [1, 1, 1] }, { a: [0, 0, 0], b: [1, 2, 3] }] });
    expect(row.status).toBe(200);
    expect(row.json).toEqual({ predictions: [{ sum: [2, 3, 4], diff: [0, 1, 2] }, { sum: [1, 2, 3], diff: [-1, -2, -3] }] });
    const col = await post('/v1/models/sumdiff:predict', { inputs: { a: [[1, 2, 3]], b: [[3, 2, 1]] } });
    expect(col.json).toEqual({ outputs: { sum: [[4, 4, 4]], diff: [[-2, 0, 2]] } });
    const v2 = await post('/v2/models/sumdiff/infer', {
      inputs: [{ name: 'a', shape: [1, 3], datatype: 'FP32', data: [[1, 2, 3]] }, { name: 'b', shape: [1, 3], datatype: 'FP32', data: [1, 1, 1] }],
      outputs: [{ name: 'diff' }],
    });
    expect(v2.json.outputs).toEqual([{ name: 'diff', datatype: 'FP32', shape: [1, 3], data: [0, 1, 2] }]);
  });

  it('/metrics exposes Triton-named counters with model, version and ep labels', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/nv_inference_request_success\{model="cls",version="1",ep="cpu"\} [1-9]/);
    expect(text).toMatch(/nv_inference_compute_infer_duration_us\{model="cls",version="1",ep="cpu"\} \d/);
    expect(text).toMatch(/edgefleet_model_load_duration_seconds_count\{model="cls",ep="cpu"\} 1/);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });
});

describe('local API: pooled request bodies', () => {
  it('concurrent large binary requests, over rounds that reuse bodies, each get their own answer', async () => {
    for (let round = 0; round < 4; round++) {
      const values = Array.from({ length: 8 }, (_, i) => round * 100 + i);
      const replies = await Promise.all(values.map((v) => inferBinary('/v2/models/add/infer', [1, POOLED], new Float32Array(POOLED).fill(v))));
      replies.forEach((reply, i) => {
        expect(reply.status).toBe(200);
        expect(reply.json.outputs[0]?.parameters.binary_data_size).toBe(POOLED * 4);
        expect(reply.length).toBe(reply.headerLength + POOLED * 4);
        expect(reply.output).toHaveLength(POOLED);
        // Every element, not a sample: a reused buffer would show up as another request's value anywhere.
        expect(reply.output.every((x) => x === values[i]! + 1)).toBe(true);
      });
    }
  });
});
