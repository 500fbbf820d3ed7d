import { EdgefleetError } from '@edgefleet/shared';
import { TF_DTYPES, fromRawBytes, isKserveDatatype, toRawBytes, type KserveDatatype } from '../../inference/datatypes.js';
import type { Tensor } from '../../inference/runtime-port.js';
import { toBigInt, type Int64 } from './proto-root.js';
import { requestShape } from './tensor-shape.js';

/**
 * tensorflow.TensorProto ↔ the runtime's tensors, for TF Serving's gRPC Predict: `tensor_content`
 * (little-endian bytes, any fixed-size type) or the typed `*_val` field of the dtype, one value
 * per element. Replies use `tensor_content`
 * (`string_val` for strings), which `tf.make_ndarray` reads.
 */

/** TensorFlow DataType enum values (tensorflow/core/framework/types.proto) of the datatypes onnxruntime-node runs. */
const DT_VALUE: Record<string, number> = {
  DT_FLOAT: 1,
  DT_DOUBLE: 2,
  DT_INT32: 3,
  DT_UINT8: 4,
  DT_INT16: 5,
  DT_INT8: 6,
  DT_STRING: 7,
  DT_INT64: 9,
  DT_BOOL: 10,
  DT_UINT16: 17,
  DT_HALF: 19,
  DT_UINT32: 22,
  DT_UINT64: 23,
};
const KSERVE_OF_DT = new Map<number, KserveDatatype>(Object.entries(TF_DTYPES).map(([kserve, dt]) => [DT_VALUE[dt]!, kserve as KserveDatatype]));

export function tfDtypeValue(datatype: string): number {
  return DT_VALUE[TF_DTYPES[datatype] ?? ''] ?? 0;
}

/** TensorProto as protobufjs decodes it. */
export interface TfTensorProto {
  dtype: number;
  tensor_shape?: { dim?: { size: Int64 }[]; unknown_rank?: boolean } | null;
  tensor_content?: Uint8Array;
  float_val?: number[];
  double_val?: number[];
  int_val?: number[];
  string_val?: Uint8Array[];
  int64_val?: Int64[];
  bool_val?: boolean[];
  half_val?: number[];
  uint32_val?: number[];
  uint64_val?: Int64[];
}

const VAL_FIELD: Record<KserveDatatype, keyof TfTensorProto> = {
  FP32: 'float_val',
  FP64: 'double_val',
  INT32: 'int_val',
  INT16: 'int_val',
  INT8: 'int_val',
  UINT8: 'int_val',
  UINT16: 'int_val',
  INT64: 'int64_val',
  BOOL: 'bool_val',
  BYTES: 'string_val',
  FP16: 'half_val',
  UINT32: 'uint32_val',
  UINT64: 'uint64_val',
};

export function tensorFromProto(name: string, proto: TfTensorProto, maxElements: number): Tensor {
  const datatype = KSERVE_OF_DT.get(proto.dtype);
  if (!datatype) throw new EdgefleetError('INPUT_INVALID', `input ${name}: dtype ${proto.dtype} is not one onnxruntime runs`);
  if (proto.tensor_shape?.unknown_rank) throw new EdgefleetError('INPUT_INVALID', `input ${name}: a tensor of unknown rank`);
  const shape = requestShape((proto.tensor_shape?.dim ?? []).map((d) => d.size), name, maxElements);
  const content = proto.tensor_content;
  if (content && content.byteLength > 0) {
    if (datatype === 'BYTES') throw new EdgefleetError('INPUT_INVALID', `input ${name}: DT_STRING travels in string_val, not tensor_content`);
    return { name, datatype, shape, data: fromRawBytes(datatype, content, shape, name) };
  }
  // One value per element: TensorFlow would also fill a shape from a single value, which would let
  // a few bytes claim a tensor of any size; the runtime checks the count against the shape.
  const values = (proto[VAL_FIELD[datatype]] ?? []) as unknown[];
  let data: Tensor['data'];
  if (datatype === 'INT64' || datatype === 'UINT64') data = (values as Int64[]).map(toBigInt);
  // half_val carries the IEEE half bits (the runtime's FP16 form), not values to convert.
  else if (datatype === 'FP16') data = Uint16Array.from(values as number[]);
  else if (datatype === 'BYTES') data = (values as Uint8Array[]).map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'));
  else data = values as number[] | boolean[];
  return { name, datatype, shape, data };
}

export interface TfTensorReply {
  dtype: number;
  tensor_shape: { dim: { size: number }[] };
  tensor_content?: Buffer;
  string_val?: Buffer[];
}

export function tensorToProto(t: Tensor): TfTensorReply {
  const head = { dtype: tfDtypeValue(t.datatype), tensor_shape: { dim: t.shape.map((size) => ({ size })) } };
  if (t.datatype === 'BYTES') return { ...head, string_val: Array.from(t.data as ArrayLike<string>, (s) => Buffer.from(s, 'utf8')) };
  if (!isKserveDatatype(t.datatype)) throw new EdgefleetError('INFERENCE_FAILED', `output ${t.name}: datatype ${t.datatype} has no TensorFlow dtype`);
  return { ...head, tensor_content: toRawBytes(t.datatype, t.data) };
}
