import { EdgefleetError } from '@edgefleet/shared';
import { fromRawBytes, isKserveDatatype, toRawBytes, type KserveDatatype } from '../../inference/datatypes.js';
import type { Tensor } from '../../inference/runtime-port.js';
import { toBigInt, type Int64 } from './proto-root.js';
import { requestShape } from './tensor-shape.js';

/**
 * KServe v2 gRPC tensors (grpc_service.proto) ↔ the runtime's tensors: typed `contents` by
 * datatype, or `raw_input_contents` / `raw_output_contents` (little-endian bytes, BYTES with
 * 4-byte length prefixes, FP16 only this way).
 */

/** InferTensorContents as protobufjs decodes it (repeated fields are arrays, empty when absent). */
export interface TensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: Int64[];
  uint_contents?: number[];
  uint64_contents?: Int64[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

export interface GrpcInputTensor {
  name: string;
  datatype: string;
  shape: Int64[];
  contents?: TensorContents | null;
}

type ContentsField = keyof TensorContents;

/** The `contents` field of each datatype; FP16 and BF16 have none. */
const FIELD_OF: Partial<Record<KserveDatatype, ContentsField>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

/** Range of the narrow integer types carried in 32-bit fields (a value outside would wrap silently). */
const RANGE: Partial<Record<KserveDatatype, [number, number]>> = { INT8: [-128, 127], INT16: [-32768, 32767], UINT8: [0, 255], UINT16: [0, 65535] };

const hasContents = (c: TensorContents | null | undefined): boolean => !!c && Object.values(c).some((v) => Array.isArray(v) && v.length > 0);

function datatypeOf(input: GrpcInputTensor): KserveDatatype {
  if (input.datatype === 'BF16') throw new EdgefleetError('INPUT_INVALID', `input ${input.name}: BF16 has no onnxruntime-node tensor type`);
  if (!isKserveDatatype(input.datatype)) throw new EdgefleetError('INPUT_INVALID', `input ${input.name}: unknown datatype ${input.datatype}`);
  return input.datatype;
}

function typedData(input: GrpcInputTensor, datatype: KserveDatatype): Tensor['data'] {
  const field = FIELD_OF[datatype];
  if (!field) throw new EdgefleetError('INPUT_INVALID', `input ${input.name}: ${datatype} travels only as raw_input_contents`);
  const values = (input.contents?.[field] ?? []) as unknown[];
  for (const [other, v] of Object.entries(input.contents ?? {})) {
    if (other !== field && Array.isArray(v) && v.length > 0) throw new EdgefleetError('INPUT_INVALID', `input ${input.name}: ${datatype} data belongs in ${field}, not ${other}`);
  }
  if (datatype === 'INT64' || datatype === 'UINT64') return (values as Int64[]).map(toBigInt);
  if (datatype === 'BYTES') return (values as Uint8Array[]).map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'));
  const range = RANGE[datatype];
  if (range) {
    const bad = (values as number[]).findIndex((v) => v < range[0] || v > range[1]);
    if (bad >= 0) throw new EdgefleetError('INPUT_INVALID', `input ${input.name}: element ${bad} (${String(values[bad])}) is out of ${datatype} range`);
  }
  return values as number[] | boolean[];
}

/** A copy in memory of its own (a memcpy, not an element-wise copy). */
function copyOf(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/**
 * Request tensors of a ModelInferRequest. With raw contents, fixed-size tensors are handed to the
 * inference worker (moved, not cloned): views over the message's bytes when `exclusive` says those
 * belong to this message alone (a buffer of its own), a copy of them otherwise.
 */
export function decodeGrpcInputs(inputs: readonly GrpcInputTensor[], raw: readonly Uint8Array[], maxElements: number, exclusive: boolean): Tensor[] {
  if (raw.length > 0) {
    if (raw.length !== inputs.length) throw new EdgefleetError('INPUT_INVALID', `${raw.length} raw_input_contents for ${inputs.length} inputs: give one per input, in order`);
    const typed = inputs.find((i) => hasContents(i.contents));
    if (typed) throw new EdgefleetError('INPUT_INVALID', `input ${typed.name}: contents and raw_input_contents may not be mixed`);
  }
  return inputs.map((input, i): Tensor => {
    const datatype = datatypeOf(input);
    const shape = requestShape(input.shape, input.name, maxElements);
    const given = raw[i];
    if (given) {
      // Bytes shared with other data (a view into the connection's receive buffer) are copied
      // once into memory of their own: posting a view to the worker would clone its whole
      // underlying buffer instead, on every request.
      const bytes = exclusive ? given : copyOf(given);
      const data = fromRawBytes(datatype, bytes, shape, input.name);
      return { name: input.name, datatype, shape, data, ...(ArrayBuffer.isView(data) ? { transfer: true } : {}) };
    }
    return { name: input.name, datatype, shape, data: typedData(input, datatype) };
  });
}

export interface GrpcOutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  contents?: Record<string, unknown>;
}

/** Raw outputs when the request used raw inputs (tritonclient) or an output has no typed field (FP16). */
export function wantsRawOutputs(rawRequest: boolean, outputs: readonly Tensor[]): boolean {
  return rawRequest || outputs.some((t) => !isKserveDatatype(t.datatype) || FIELD_OF[t.datatype] === undefined);
}

export function encodeGrpcOutputs(outputs: readonly Tensor[], raw: boolean): { outputs: GrpcOutputTensor[]; raw_output_contents: Buffer[] } {
  if (raw) {
    return {
      outputs: outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
      raw_output_contents: outputs.map((t) => toRawBytes(t.datatype, t.data)),
    };
  }
  return {
    outputs: outputs.map((t) => {
      const field = FIELD_OF[t.datatype as KserveDatatype]!;
      let values: unknown = t.data;
      // int64 fields take strings (exact) from bigints; bytes fields take bytes.
      if (t.datatype === 'INT64' || t.datatype === 'UINT64') values = Array.from(t.data as ArrayLike<bigint>, (v) => v.toString());
      else if (t.datatype === 'BYTES') values = Array.from(t.data as ArrayLike<string>, (s) => Buffer.from(s, 'utf8'));
      return { name: t.name, datatype: t.datatype, shape: t.shape, contents: { [field]: values } };
    }),
    raw_output_contents: [],
  };
}
