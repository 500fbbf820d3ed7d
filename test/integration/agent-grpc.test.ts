import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { createApiServer, createGrpcServer, createInferenceRuntime, createNodeHardwarePort, detectHardware, PROTO_DIR, type ApiServer, type GrpcServer, type InferenceRuntimeWithEvents } from '@edgefleet/agent';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addModel, grpcClients, identityModel, modelSha256, ocrModelPath, sumDiffModel, tmpDataDir, writeModelFile, type GrpcClients, type OnnxElementType, type TmpDir } from '../helpers/index.js';
import type { Json } from '../helpers/grpc-clients.js';

/**
 * The gRPC listener through clients generated from the agent's .proto files: KServe v2 / Triton
 * (typed and raw contents, every datatype onnxruntime-node runs) and TF Serving (Predict with a
 * version label, GetModelMetadata, GetModelStatus), against the real PP-OCR classifier and
 * identity models, compared with a direct onnxruntime-node run.
 */
const SHAPE = [1, 3, 48, 192];
const COUNT = SHAPE.reduce((a, b) => a * b, 1);
const MAX_BODY = 4 * 1024 * 1024;

let tmp: TmpDir;
let runtime: InferenceRuntimeWithEvents;
let api: ApiServer;
let grpc: GrpcServer;
let clients: GrpcClients;
let input: Float32Array;
let expected: number[];

/** KServe datatype, typed contents field, four sample elements, and their raw bytes, per ONNX element type. */
const TYPES: { type: OnnxElementType; datatype: string; field?: string; values: unknown[]; raw: Buffer; echoed?: unknown[] }[] = [
  { type: 'float32', datatype: 'FP32', field: 'fp32_contents', values: [1.5, -2, 3.25, 0], raw: Buffer.from(Float32Array.from([1.5, -2, 3.25, 0]).buffer) },
  { type: 'float64', datatype: 'FP64', field: 'fp64_contents', values: [1e-300, -2.5, 3, 0], raw: Buffer.from(Float64Array.from([1e-300, -2.5, 3, 0]).buffer) },
  { type: 'int8', datatype: 'INT8', field: 'int_contents', values: [-128, 0, 5, 127], raw: Buffer.from(Int8Array.from([-128, 0, 5, 127]).buffer) },
  { type: 'uint8', datatype: 'UINT8', field: 'uint_contents', values: [0, 1, 200, 255], raw: Buffer.from([0, 1, 200, 255]) },
  { type: 'int16', datatype: 'INT16', field: 'int_contents', values: [-32768, 0, 5, 32767], raw: Buffer.from(Int16Array.from([-32768, 0, 5, 32767]).buffer) },
  { type: 'uint16', datatype: 'UINT16', field: 'uint_contents', values: [0, 1, 40000, 65535], raw: Buffer.from(Uint16Array.from([0, 1, 40000, 65535]).buffer) },
  { type: 'int32', datatype: 'INT32', field: 'int_contents', values: [-2147483648, 0, 5, 2147483647], raw: Buffer.from(Int32Array.from([-2147483648, 0, 5, 2147483647]).buffer) },
  { type: 'uint32', datatype: 'UINT32', field: 'uint_contents', values: [0, 1, 3000000000, 4294967295], raw: Buffer.from(Uint32Array.from([0, 1, 3000000000, 4294967295]).buffer) },
  { type: 'int64', datatype: 'INT64', field: 'int64_contents', values: ['-9223372036854775808', '0', '9007199254740993', '7'], raw: Buffer.from(BigInt64Array.from([-9223372036854775808n, 0n, 9007199254740993n, 7n]).buffer) },
  { type: 'uint64', datatype: 'UINT64', field: 'uint64_contents', values: ['0', '1', '18446744073709551615', '9007199254740993'], raw: Buffer.from(BigUint64Array.from([0n, 1n, 18446744073709551615n, 9007199254740993n]).buffer) },
  { type: 'bool', datatype: 'BOOL', field: 'bool_contents', values: [true, false, false, true], raw: Buffer.from([1, 0, 0, 1]) },
  {
    type: 'string',
    datatype: 'BYTES',
    field: 'bytes_contents',
    values: ['a', '', 'héllo', 'zz'].map((s) => Buffer.from(s)),
    raw: Buffer.concat(['a', '', 'héllo', 'zz'].flatMap((s) => [Buffer.from(Uint32Array.of(Buffer.byteLength(s)).buffer), Buffer.from(s)])),
  },
  // FP16 travels only as raw contents: the bits of 1, -2, 0.5, 65504.
  { type: 'float16', datatype: 'FP16', values: [], raw: Buffer.from(Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x7bff]).buffer) },
];

beforeAll(async () => {
  tmp = await tmpDataDir();
  const clsPath = ocrModelPath('cls');
  const clsBytes = await readFile(clsPath);
  input = Float32Array.from({ length: COUNT }, (_, i) => Math.cos(i) * 0.5);
  const direct = await ort.InferenceSession.create(clsBytes);
  const out = await direct.run({ x: new ort.Tensor('float32', input, SHAPE) });
  expected = Array.from(out[direct.outputNames[0]!]!.data as Float32Array);
  await direct.release();

  const hardware = await detectHardware(createNodeHardwarePort());
  runtime = await createInferenceRuntime({ hardware, config: { epBenchmarkBudgetMs: 200, intraOpThreads: 1 } });
  await runtime.load({ model: 'cls', version: '1', path: clsPath, sha256: modelSha256(clsBytes), warmupInputs: [{ name: 'x', datatype: 'FP32', shape: SHAPE, data: input }] });
  runtime.setLabel('cls', 'active', '1');
  runtime.setLabel('cls', 'stable', '1');
  const sumDiff = await writeModelFile(join(tmp.path, 'sum-diff.onnx'), sumDiffModel());
  await runtime.load({ model: 'sumdiff', version: '3', path: sumDiff.path, sha256: sumDiff.sha256 });
  runtime.setLabel('sumdiff', 'active', '3');
  // Loaded but never activated: known, not ready.
  const idle = await writeModelFile(join(tmp.path, 'idle.onnx'), addModel());
  await runtime.load({ model: 'idle', version: '1', path: idle.path, sha256: idle.sha256 });
  for (const t of TYPES) {
    const file = await writeModelFile(join(tmp.path, `id-${t.type}.onnx`), identityModel({ type: t.type, shape: [1, 4] }));
    await runtime.load({ model: `id-${t.type}`, version: '1', path: file.path, sha256: file.sha256, ...(t.type === 'string' ? { warmupInputs: [{ name: 'x', datatype: 'BYTES', shape: [1, 4], data: ['a', 'b', 'c', 'd'] }] } : {}) });
    runtime.setLabel(`id-${t.type}`, 'active', '1');
  }
  api = createApiServer({ runtime, port: 0, ready: true, maxBodyBytes: MAX_BODY, defaultMetrics: false, version: '9.9.9' });
  await api.listen();
  grpc = createGrpcServer({ context: api.context, port: 0 });
  const { address } = await grpc.listen();
  clients = grpcClients(address);
}, 120_000);

afterAll(async () => {
  clients?.close();
  await grpc?.close();
  await api?.close();
  await runtime?.close();
  await tmp?.cleanup();
});

function expectClose(actual: number[], wanted: number[]): void {
  expect(actual).toHaveLength(wanted.length);
  actual.forEach((v, i) => expect(v).toBeCloseTo(wanted[i]!, 5));
}

async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail');
}

describe('KServe v2 gRPC (inference.GRPCInferenceService)', () => {
  it('server and model health and metadata', async () => {
    const { kserve, call } = clients;
    expect(await call(kserve, 'ServerLive', {})).toEqual({ live: true });
    expect(await call(kserve, 'ServerReady', {})).toEqual({ ready: true });
    expect(await call(kserve, 'ServerMetadata', {})).toEqual({ name: 'edgefleet-agent', version: '9.9.9', extensions: ['binary_tensor_data', 'model_configuration', 'statistics', 'model_repository'] });
    expect(await call(kserve, 'ModelReady', { name: 'cls' })).toEqual({ ready: true });
    expect(await call(kserve, 'ModelReady', { name: 'idle' })).toEqual({ ready: false });
    expect(await call(kserve, 'ModelMetadata', { name: 'cls', version: '1' })).toMatchObject({
      name: 'cls',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: ['-1', '3', '-1', '-1'] }],
      outputs: [{ datatype: 'FP32', shape: ['-1', '2'] }],
    });
  });

  it('ModelInfer with typed contents equals a direct session.run', async () => {
    const reply = await clients.call<Json>(clients.kserve, 'ModelInfer', { model_name: 'cls', id: 'g1', inputs: [{ name: 'x', datatype: 'FP32', shape: SHAPE, contents: { fp32_contents: Array.from(input) } }] });
    expect(reply).toMatchObject({ model_name: 'cls', model_version: '1', id: 'g1', parameters: { execution_provider: { string_param: 'cpu' } }, raw_output_contents: [] });
    expect(reply.outputs[0]).toMatchObject({ datatype: 'FP32', shape: ['1', '2'] });
    expectClose(reply.outputs[0].contents.fp32_contents, expected);
  });

  it('ModelInfer with raw_input_contents answers raw_output_contents equal to a direct session.run', async () => {
    const reply = await clients.call<Json>(clients.kserve, 'ModelInfer', {
      model_name: 'cls',
      model_version: '1',
      inputs: [{ name: 'x', datatype: 'FP32', shape: SHAPE }],
      outputs: [{ name: (await clients.call<Json>(clients.kserve, 'ModelMetadata', { name: 'cls' })).outputs[0].name }],
      raw_input_contents: [Buffer.from(input.buffer)],
    });
    expect(reply.outputs[0]).toMatchObject({ datatype: 'FP32', shape: ['1', '2'] });
    const raw = reply.raw_output_contents[0] as Buffer;
    expect(raw.length).toBe(8);
    expectClose(Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length))), expected);
  });

  it.each(TYPES.filter((t) => t.field))('typed contents of $datatype come back unchanged', async (t) => {
    const reply = await clients.call<Json>(clients.kserve, 'ModelInfer', { model_name: `id-${t.type}`, inputs: [{ name: 'x', datatype: t.datatype, shape: [1, 4], contents: { [t.field!]: t.values } }] });
    expect(reply.outputs[0]).toMatchObject({ name: 'y', datatype: t.datatype, shape: ['1', '4'] });
    expect(reply.outputs[0].contents[t.field!]).toEqual(t.values);
  });

  it.each(TYPES)('raw contents of $datatype come back unchanged', async (t) => {
    const reply = await clients.call<Json>(clients.kserve, 'ModelInfer', { model_name: `id-${t.type}`, inputs: [{ name: 'x', datatype: t.datatype, shape: [1, 4] }], raw_input_contents: [t.raw] });
    expect(reply.outputs[0]).toMatchObject({ name: 'y', datatype: t.datatype, shape: ['1', '4'] });
    expect(Buffer.compare(reply.raw_output_contents[0], t.raw)).toBe(0);
  });

  it('several inputs, a requested output, request parameters', async () => {
    const reply = await clients.call<Json>(clients.kserve, 'ModelInfer', {
      model_name: 'sumdiff',
      parameters: { priority: { int64_param: 1 } },
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } },
        { name: 'b', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 1, 1] } },
      ],
      outputs: [{ name: 'diff' }],
    });
    expect(reply.outputs).toEqual([expect.objectContaining({ name: 'diff', contents: expect.objectContaining({ fp32_contents: [0, 1, 2] }) })]);
  });

  it('errors are gRPC status codes', async () => {
    const { kserve, call } = clients;
    const x = (extra: object) => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], ...extra }] });
    expect((await rejection(call(kserve, 'ModelInfer', { model_name: 'nope', ...x({ contents: { fp32_contents: [1, 2, 3, 4] } }) }))).code).toBe(status.NOT_FOUND);
    expect((await rejection(call(kserve, 'ModelMetadata', { name: 'cls', version: '7' }))).code).toBe(status.NOT_FOUND);
    // A malformed tensor size: 12 bytes for a [1,4] FP32 tensor.
    const short = await rejection(call(kserve, 'ModelInfer', { model_name: 'id-float32', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [Buffer.alloc(12)] }));
    expect(short.code).toBe(status.INVALID_ARGUMENT);
    expect(short.details).toMatch(/12 bytes given/);
    expect(short.metadata.get('edgefleet-error-code')).toEqual(['INPUT_INVALID']);
    expect((await rejection(call(kserve, 'ModelInfer', { model_name: 'id-float32', ...x({ contents: { fp32_contents: [1, 2, 3] } }) }))).code).toBe(status.INVALID_ARGUMENT);
    expect((await rejection(call(kserve, 'ModelInfer', { model_name: 'id-float32', inputs: [{ name: 'x', datatype: 'FP32', shape: ['4611686018427387904', '4'] }], raw_input_contents: [Buffer.alloc(16)] }))).code).toBe(status.INVALID_ARGUMENT);
    expect((await rejection(call(kserve, 'ModelInfer', { model_name: 'id-float16', inputs: [{ name: 'x', datatype: 'FP16', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }] }))).code).toBe(status.INVALID_ARGUMENT);
    expect((await rejection(call(kserve, 'ModelInfer', { model_name: 'idle', ...x({ contents: { fp32_contents: [1, 2, 3, 4] } }) }))).code).toBe(status.UNAVAILABLE);
    const big = await rejection(call(kserve, 'ModelInfer', { model_name: 'id-float32', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [Buffer.alloc(MAX_BODY + 1)] }));
    expect(big.code).toBe(status.RESOURCE_EXHAUSTED);
  });

  it('Triton ModelConfig, ModelStatistics and RepositoryIndex', async () => {
    const { kserve, call } = clients;
    const { config } = await call<Json>(kserve, 'ModelConfig', { name: 'cls' });
    expect(config).toMatchObject({ name: 'cls', platform: 'onnxruntime_onnx', backend: 'onnxruntime', max_batch_size: 4, input: [{ name: 'x', data_type: 'TYPE_FP32', dims: ['3', '-1', '-1'] }], output: [{ data_type: 'TYPE_FP32', dims: ['2'] }] });
    const fixed = await call<Json>(kserve, 'ModelConfig', { name: 'id-string' });
    expect(fixed.config).toMatchObject({ max_batch_size: 0, input: [{ name: 'x', data_type: 'TYPE_STRING', dims: ['1', '4'] }] });
    const { model_stats } = await call<Json>(kserve, 'ModelStatistics', { name: 'cls' });
    expect(model_stats).toHaveLength(1);
    const s = model_stats[0];
    expect(s).toMatchObject({ name: 'cls', version: '1' });
    expect(Number(s.inference_stats.success.count)).toBeGreaterThanOrEqual(2);
    expect(Number(s.inference_stats.compute_infer.ns)).toBeGreaterThan(0);
    expect(s.batch_stats[0]).toMatchObject({ batch_size: '1' });
    const { models } = await call<Json>(kserve, 'RepositoryIndex', { ready: true });
    expect(models).toContainEqual({ name: 'cls', version: '1', state: 'READY', reason: '' });
    expect(models.some((m: { name: string }) => m.name === 'idle')).toBe(true);
  });

  it('the HTTP API counts gRPC requests in the same metrics', async () => {
    const text = (await api.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/nv_inference_request_failure\{model="nope",version="",ep="",reason="MODEL_NOT_FOUND"\} [1-9]/);
    expect(text).toMatch(/nv_inference_request_success\{model="id-bool",version="1",ep="cpu"\} [1-9]/);
  });
});

describe('TF Serving gRPC (tensorflow.serving.PredictionService, ModelService)', () => {
  const tensor = { dtype: 'DT_FLOAT', tensor_shape: { dim: SHAPE.map((size) => ({ size })) } };

  it('Predict by version label with tensor_content, and by version with float_val, equal a direct session.run', async () => {
    const { prediction, call } = clients;
    const byLabel = await call<Json>(prediction, 'Predict', { model_spec: { name: 'cls', version_label: 'stable' }, inputs: { x: { ...tensor, tensor_content: Buffer.from(input.buffer) } } });
    expect(byLabel.model_spec).toMatchObject({ name: 'cls', version: { value: '1' } });
    const [name, out] = Object.entries(byLabel.outputs as Record<string, { dtype: string; tensor_shape: { dim: { size: string }[] }; tensor_content: Buffer }>)[0]!;
    expect(out.dtype).toBe('DT_FLOAT');
    expect(out.tensor_shape.dim.map((d) => d.size)).toEqual(['1', '2']);
    expectClose(Array.from(new Float32Array(out.tensor_content.buffer.slice(out.tensor_content.byteOffset, out.tensor_content.byteOffset + 8))), expected);
    const byVersion = await call<Json>(prediction, 'Predict', { model_spec: { name: 'cls', version: { value: 1 } }, inputs: { x: { ...tensor, float_val: Array.from(input) } }, output_filter: [name] });
    expect(Object.keys(byVersion.outputs)).toEqual([name]);
    const strings = await call<Json>(prediction, 'Predict', { model_spec: { name: 'id-string' }, inputs: { x: { dtype: 'DT_STRING', tensor_shape: { dim: [{ size: 1 }, { size: 4 }] }, string_val: ['p', 'q', 'r', 's'].map((s) => Buffer.from(s)) } } });
    expect(strings.outputs.y.string_val.map((b: Buffer) => b.toString())).toEqual(['p', 'q', 'r', 's']);
  });

  it('GetModelMetadata answers a SignatureDefMap from the ONNX inputs and outputs; GetModelStatus', async () => {
    const { prediction, model, call } = clients;
    const meta = await call<Json>(prediction, 'GetModelMetadata', { model_spec: { name: 'sumdiff' }, metadata_field: ['signature_def'] });
    expect(meta.model_spec).toMatchObject({ name: 'sumdiff', version: { value: '3' } });
    const any = meta.metadata.signature_def;
    expect(any.type_url).toBe('type.googleapis.com/tensorflow.serving.SignatureDefMap');
    // Decode the Any with a schema of its own, read from the same .proto files.
    const root = new protobuf.Root();
    root.resolvePath = (_o, target) => (target.startsWith('google/protobuf/') ? target : join(PROTO_DIR, target));
    root.loadSync('tensorflow_serving/apis/get_model_metadata.proto', { keepCase: true });
    const map = root.lookupType('tensorflow.serving.SignatureDefMap').toObject(root.lookupType('tensorflow.serving.SignatureDefMap').decode(any.value), { enums: String, longs: String });
    expect(map.signature_def.serving_default).toMatchObject({
      method_name: 'tensorflow/serving/predict',
      inputs: { a: { name: 'a', dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '-1' }, { size: '3' }] } }, b: { dtype: 'DT_FLOAT' } },
      outputs: { sum: { dtype: 'DT_FLOAT' }, diff: { dtype: 'DT_FLOAT' } },
    });
    expect(await call(model, 'GetModelStatus', { model_spec: { name: 'cls' } })).toEqual({ model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] });
    expect((await rejection(call(model, 'GetModelStatus', { model_spec: { name: 'cls', version_label: 'canary' } }))).code).toBe(status.NOT_FOUND);
    expect((await rejection(call(prediction, 'Predict', { model_spec: { name: 'nope' }, inputs: {} }))).code).toBe(status.NOT_FOUND);
    expect((await rejection(call(prediction, 'GetModelMetadata', { model_spec: { name: 'cls' }, metadata_field: [] }))).code).toBe(status.INVALID_ARGUMENT);
    expect((await rejection(call(prediction, 'Predict', { model_spec: { name: 'cls' }, inputs: { x: { ...tensor, float_val: [1, 2] } } }))).code).toBe(status.INVALID_ARGUMENT);
  });
});
