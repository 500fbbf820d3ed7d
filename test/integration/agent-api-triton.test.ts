import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createApiServer, createInferenceRuntime, createNodeHardwarePort, detectHardware, type ApiServer, type InferenceRuntimeWithEvents } from '@edgefleet/agent';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityModel, modelSha256, ocrModelPath, sumDiffModel, tmpDataDir, writeModelFile, type TmpDir } from '../helpers/index.js';

/**
 * Triton's HTTP extensions on the local API, against the real PP-OCR classifier: model
 * configuration, statistics, the repository index, and binary outputs decoded the way tritonclient
 * decodes them (the JSON header's length from `Inference-Header-Content-Length`, then each binary
 * output's `binary_data_size` bytes in output order; BYTES elements with 4-byte length prefixes).
 */
type Json = ReturnType<typeof JSON.parse>;

const SHAPE = [1, 3, 48, 192];
const COUNT = SHAPE.reduce((a, b) => a * b, 1);

let tmp: TmpDir;
let runtime: InferenceRuntimeWithEvents;
let api: ApiServer;
let base: string;
let input: Float32Array;
let expected: number[];
let outputName: string;

beforeAll(async () => {
  tmp = await tmpDataDir();
  const clsPath = ocrModelPath('cls');
  const clsBytes = await readFile(clsPath);
  input = Float32Array.from({ length: COUNT }, (_, i) => Math.sin(i * 0.7) * 0.5);
  const direct = await ort.InferenceSession.create(clsBytes);
  outputName = direct.outputNames[0]!;
  expected = Array.from((await direct.run({ x: new ort.Tensor('float32', input, SHAPE) }))[outputName]!.data as Float32Array);
  await direct.release();
  const hardware = await detectHardware(createNodeHardwarePort());
  runtime = await createInferenceRuntime({ hardware, config: { epBenchmarkBudgetMs: 200, intraOpThreads: 1 } });
  await runtime.load({ model: 'cls', version: '1', path: clsPath, sha256: modelSha256(clsBytes), warmupInputs: [{ name: 'x', datatype: 'FP32', shape: SHAPE, data: input }] });
  runtime.setLabel('cls', 'active', '1');
  const sumDiff = await writeModelFile(join(tmp.path, 'sum-diff.onnx'), sumDiffModel());
  await runtime.load({ model: 'sumdiff', version: '3', path: sumDiff.path, sha256: sumDiff.sha256 });
  runtime.setLabel('sumdiff', 'active', '3');
  const strings = await writeModelFile(join(tmp.path, 'strings.onnx'), identityModel({ type: 'string', shape: [1, 3] }));
  await runtime.load({ model: 'strings', version: '1', path: strings.path, sha256: strings.sha256, warmupInputs: [{ name: 'x', datatype: 'BYTES', shape: [1, 3], data: ['a', 'b', 'c'] }] });
  runtime.setLabel('strings', 'active', '1');
  api = createApiServer({ runtime, port: 0, ready: true, defaultMetrics: false });
  base = (await api.listen()).url;
}, 60_000);

afterAll(async () => {
  await api?.close();
  await runtime?.close();
  await tmp?.cleanup();
});

const getJson = async (path: string): Promise<{ status: number; json: Json }> => {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, json: await res.json() };
};

/** POSTs a JSON infer request; splits a binary reply as tritonclient does. */
async function infer(path: string, body: object): Promise<{ status: number; header: Json; binary: Map<string, Buffer> }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const bytes = Buffer.from(await res.arrayBuffer());
  const headerLength = res.headers.get('inference-header-content-length');
  if (headerLength === null) return { status: res.status, header: JSON.parse(bytes.toString()), binary: new Map() };
  const header = JSON.parse(bytes.subarray(0, Number(headerLength)).toString());
  const binary = new Map<string, Buffer>();
  let offset = Number(headerLength);
  for (const output of header.outputs as { name: string; parameters?: { binary_data_size?: number } }[]) {
    const size = output.parameters?.binary_data_size;
    if (size === undefined) continue;
    binary.set(output.name, bytes.subarray(offset, offset + size));
    offset += size;
  }
  expect(offset).toBe(bytes.length);
  return { status: res.status, header, binary };
}

describe('Triton HTTP extensions', () => {
  it('GET /v2 lists exactly the extensions served', async () => {
    const { json } = await getJson('/v2');
    expect(json).toEqual({ name: 'edgefleet-agent', version: '0.0.0', extensions: ['binary_tensor_data', 'model_configuration', 'statistics', 'model_repository'] });
  });

  it('model configuration as Triton reports it', async () => {
    const { status, json } = await getJson('/v2/models/cls/config');
    expect(status).toBe(200);
    expect(json).toMatchObject({
      name: 'cls',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      max_batch_size: 4,
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [3, -1, -1] }],
      output: [{ name: outputName, data_type: 'TYPE_FP32', dims: [2] }],
      instance_group: [{ kind: 'KIND_CPU', count: 1 }],
    });
    expect((await getJson('/v2/models/cls/versions/1/config')).json.name).toBe('cls');
    expect((await getJson('/v2/models/strings/config')).json).toMatchObject({ max_batch_size: 0, input: [{ data_type: 'TYPE_STRING', dims: [1, 3] }] });
    expect((await getJson('/v2/models/nope/config')).status).toBe(404);
    expect((await getJson('/v2/models/cls/versions/9/config')).status).toBe(404);
  });

  it('binary outputs: binary_data_output for all, per-output binary_data over it, equal to a direct session.run', async () => {
    const all = await infer('/v2/models/cls/infer', { inputs: [{ name: 'x', shape: SHAPE, datatype: 'FP32', data: Array.from(input) }], parameters: { binary_data_output: true } });
    expect(all.status).toBe(200);
    expect(all.header.outputs).toEqual([{ name: outputName, datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } }]);
    const raw = all.binary.get(outputName)!;
    expect(Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)))).toEqual(expected.map((v) => Math.fround(v)));

    const mixed = await infer('/v2/models/sumdiff/infer', {
      inputs: [
        { name: 'a', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
        { name: 'b', shape: [1, 3], datatype: 'FP32', data: [3, 2, 1] },
      ],
      parameters: { binary_data_output: true },
      outputs: [{ name: 'sum', parameters: { binary_data: false } }, { name: 'diff' }],
    });
    expect(mixed.header.outputs[0]).toEqual({ name: 'sum', datatype: 'FP32', shape: [1, 3], data: [4, 4, 4] });
    expect(Array.from(new Float32Array(new Uint8Array(mixed.binary.get('diff')!).buffer))).toEqual([-2, 0, 2]);

    const only = await infer('/v2/models/sumdiff/infer', {
      inputs: [
        { name: 'a', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
        { name: 'b', shape: [1, 3], datatype: 'FP32', data: [1, 1, 1] },
      ],
      outputs: [{ name: 'sum', parameters: { binary_data: true } }, { name: 'diff' }],
    });
    expect([...only.binary.keys()]).toEqual(['sum']);
    expect(only.header.outputs[1]).toMatchObject({ name: 'diff', data: [0, 1, 2] });
  });

  it('BYTES outputs: each element a 4-byte little-endian length and its bytes', async () => {
    const reply = await infer('/v2/models/strings/infer', { inputs: [{ name: 'x', shape: [1, 3], datatype: 'BYTES', data: ['ab', '', 'ünï'] }], parameters: { binary_data_output: true } });
    expect(reply.status).toBe(200);
    const bytes = reply.binary.get('y')!;
    const elements: string[] = [];
    for (let offset = 0; offset < bytes.length; ) {
      const length = bytes.readUInt32LE(offset);
      elements.push(bytes.subarray(offset + 4, offset + 4 + length).toString('utf8'));
      offset += 4 + length;
    }
    expect(elements).toEqual(['ab', '', 'ünï']);
  });

  it('statistics count what was served, per model, version and batch size', async () => {
    const before = (await getJson('/v2/models/cls/stats')).json.model_stats[0];
    for (let i = 0; i < 3; i++) await infer('/v2/models/cls/infer', { inputs: [{ name: 'x', shape: SHAPE, datatype: 'FP32', data: Array.from(input) }] });
    await infer('/v2/models/cls/infer', { inputs: [{ name: 'x', shape: [1, 3, 48, 190], datatype: 'FP32', data: [1] }] });
    const { status, json } = await getJson('/v2/models/cls/versions/1/stats');
    expect(status).toBe(200);
    const s = json.model_stats[0];
    expect(s).toMatchObject({ name: 'cls', version: '1' });
    expect(s.inference_stats.success.count - before.inference_stats.success.count).toBe(3);
    expect(s.inference_stats.fail.count - before.inference_stats.fail.count).toBe(1);
    expect(s.execution_count - before.execution_count).toBe(3);
    expect(s.inference_count - before.inference_count).toBe(3);
    for (const key of ['success', 'queue', 'compute_input', 'compute_infer', 'compute_output'] as const) {
      expect(s.inference_stats[key].count).toBe(s.inference_stats.success.count);
      expect(s.inference_stats[key].ns).toBeGreaterThan(0);
    }
    expect(s.inference_stats.success.ns).toBeGreaterThan(s.inference_stats.compute_infer.ns);
    expect(s.batch_stats).toEqual([expect.objectContaining({ batch_size: 1, compute_infer: expect.objectContaining({ count: s.execution_count }) })]);
    expect(s.last_inference).toBeGreaterThan(Date.now() - 60_000);

    const everything = (await getJson('/v2/models/stats')).json.model_stats.map((m: { name: string }) => m.name);
    expect(everything).toEqual(['cls', 'strings', 'sumdiff']);
    expect((await getJson('/v2/models/nope/stats')).status).toBe(404);
  });

  it('POST /v2/repository/index lists every version with its state', async () => {
    const res = await fetch(`${base}/v2/repository/index`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([
      { name: 'cls', version: '1', state: 'READY', reason: '' },
      { name: 'strings', version: '1', state: 'READY', reason: '' },
      { name: 'sumdiff', version: '3', state: 'READY', reason: '' },
    ]);
    const ready = await fetch(`${base}/v2/repository/index`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"ready":true}' });
    expect(((await ready.json()) as unknown[]).length).toBe(3);
    const bad = await fetch(`${base}/v2/repository/index`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"ready":"yes"}' });
    expect(bad.status).toBe(400);
  });
});
