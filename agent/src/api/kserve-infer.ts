import { EdgefleetError, kserveInferRequestSchema, type KserveInferRequest, type KserveInferResponse, type KserveOutputTensor } from '@edgefleet/shared';
import { elementCount, fromRawBytes, isKserveDatatype, toJsonValues, toRawBytes } from '../inference/datatypes.js';
import type { InferenceRuntime, InferResult, Tensor } from '../inference/runtime-port.js';
import { runInference } from './infer-path.js';
import type { ModelStats } from './model-stats.js';

/**
 * KServe Open Inference Protocol v2 `infer` (bodies: kserve.ts in @edgefleet/shared), with Triton's
 * binary tensor extension: the body is a JSON header of `Inference-Header-Content-Length` bytes
 * followed by the raw tensors of inputs that carry `parameters.binary_data_size`, in input order.
 * Shared by the HTTP API and the MQTT `infer` command (JSON only there).
 */

export interface KserveInferReply {
  /** The JSON response (binary outputs carry `parameters.binary_data_size` and no data). */
  header: KserveInferResponse;
  /** Raw output bytes, in output order, when binary outputs were asked for. */
  binary: Buffer[];
  result: InferResult;
}

/** Row-major elements of a flat or nested `data` array; a flat array is returned as it is. */
function flatten(value: unknown): unknown[] {
  // Most clients send flat data: one scan instead of pushing 1.2 M elements one by one (~35 ms).
  if (Array.isArray(value) && !value.some(Array.isArray)) return value;
  const out: unknown[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else out.push(v);
  };
  walk(value);
  return out;
}

function parseHeader(json: unknown): KserveInferRequest {
  const parsed = kserveInferRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new EdgefleetError('PAYLOAD_INVALID', `infer request: ${issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'invalid'}`);
  }
  return parsed.data;
}

/**
 * Request tensors from a parsed header and the binary section that followed it (empty for JSON).
 * Binary tensors are views over `binary` where aligned, marked `transfer`: the caller gives the
 * bytes up (the inference worker may take the whole buffer).
 */
export function decodeInferInputs(request: KserveInferRequest, binary: Uint8Array = new Uint8Array(0)): Tensor[] {
  let offset = 0;
  const tensors = request.inputs.map((input): Tensor => {
    if (input.datatype === 'BF16') throw new EdgefleetError('INPUT_INVALID', `input ${input.name}: BF16 has no onnxruntime-node tensor type`);
    if (!isKserveDatatype(input.datatype)) throw new EdgefleetError('INPUT_INVALID', `input ${input.name}: unknown datatype ${input.datatype}`);
    const size = input.parameters?.binary_data_size;
    if (size !== undefined) {
      if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) throw new EdgefleetError('INPUT_INVALID', `input ${input.name}: binary_data_size must be a non-negative integer`);
      if (offset + size > binary.byteLength) throw new EdgefleetError('INPUT_INVALID', `input ${input.name}: binary_data_size ${size} runs past the end of the body`);
      const bytes = binary.subarray(offset, offset + size);
      offset += size;
      // A view over the request's own body (readBinaryBody aligns it), handed on to the worker.
      return { name: input.name, datatype: input.datatype, shape: input.shape, data: fromRawBytes(input.datatype, bytes, input.shape, input.name), transfer: true };
    }
    if (input.data === undefined) throw new EdgefleetError('INPUT_INVALID', `input ${input.name}: no data and no binary_data_size`);
    const flat = flatten(input.data);
    if (flat.length !== elementCount(input.shape)) {
      throw new EdgefleetError('INPUT_INVALID', `input ${input.name}: ${flat.length} elements for shape [${input.shape.join(',')}]`);
    }
    return { name: input.name, datatype: input.datatype, shape: input.shape, data: flat as Tensor['data'] };
  });
  if (offset !== binary.byteLength) throw new EdgefleetError('INPUT_INVALID', `${binary.byteLength - offset} bytes after the last binary tensor`);
  return tensors;
}

export interface KserveInferOptions {
  runtime: InferenceRuntime;
  /** Triton statistics, the same table for the local API and the MQTT `infer` command. */
  stats: ModelStats;
  model: string;
  version?: string;
  /** The parsed JSON body, or the JSON header of a binary body. */
  body: unknown;
  /** The bytes after the header (binary tensor extension), given up: inference may move their buffer to its worker. */
  binary?: Uint8Array;
  signal?: AbortSignal;
}

/**
 * Whether an output goes back as raw bytes after the JSON header: its own `parameters.binary_data`
 * when given, else the request's `parameters.binary_data_output` (Triton's binary tensor extension).
 */
function binaryOutputs(request: KserveInferRequest): (name: string) => boolean {
  const all = request.parameters?.binary_data_output === true;
  const own = new Map(request.outputs?.filter((o) => typeof o.parameters?.binary_data === 'boolean').map((o) => [o.name, o.parameters!.binary_data === true]));
  return (name) => own.get(name) ?? all;
}

/** The v2 response for a run: JSON `data`, or `binary_data_size` with the bytes collected in `binary`. */
export function encodeKserveOutputs(request: KserveInferRequest, model: string, result: InferResult): { header: KserveInferResponse; binary: Buffer[] } {
  const isBinary = binaryOutputs(request);
  const binary: Buffer[] = [];
  const outputs = result.outputs.map((t): KserveOutputTensor => {
    if (isBinary(t.name)) {
      const bytes = toRawBytes(t.datatype, t.data);
      binary.push(bytes);
      return { name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: bytes.byteLength } };
    }
    return { name: t.name, datatype: t.datatype, shape: t.shape, data: toJsonValues(t.datatype, t.data) };
  });
  return { header: { model_name: model, model_version: result.version, ...(request.id !== undefined ? { id: request.id } : {}), outputs }, binary };
}

/** Runs one v2 infer request through the shared inference path and shapes the v2 response. */
export async function kserveInfer(options: KserveInferOptions): Promise<KserveInferReply> {
  const request = parseHeader(options.body);
  const { reply, result } = await runInference(
    { runtime: options.runtime, stats: options.stats },
    {
      model: options.model,
      address: options.version !== undefined ? { version: options.version } : {},
      decode: () => ({ inputs: decodeInferInputs(request, options.binary), ...(request.outputs ? { outputs: request.outputs.map((o) => o.name) } : {}) }),
      encode: (r) => encodeKserveOutputs(request, options.model, r),
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  return { ...reply, result };
}

/** Splits a binary-extension body into its JSON header and the tensor bytes after it. */
export function splitBinaryBody(body: Buffer, headerLength: number): { header: unknown; binary: Buffer } {
  if (!Number.isInteger(headerLength) || headerLength < 0 || headerLength > body.length) {
    throw new EdgefleetError('BAD_REQUEST', `Inference-Header-Content-Length ${headerLength} is not within the ${body.length}-byte body`);
  }
  let header: unknown;
  try {
    header = JSON.parse(body.subarray(0, headerLength).toString('utf8'));
  } catch (cause) {
    throw new EdgefleetError('PAYLOAD_INVALID', 'the inference header is not valid JSON', { cause });
  }
  return { header, binary: body.subarray(headerLength) };
}
