import { EdgefleetError, type TensorSpec } from '@edgefleet/shared';
import type { TypedArray } from '@litertjs/core';

/** The element types LiteRT.js can move in and out of its wasm heap (DATATYPES in @litertjs/core). */
const LITERT_TO_KSERVE = {
  float32: { datatype: 'FP32', ctor: Float32Array },
  int32: { datatype: 'INT32', ctor: Int32Array },
  uint8: { datatype: 'UINT8', ctor: Uint8Array },
} as const;

type LiteRtDtype = keyof typeof LITERT_TO_KSERVE;

interface TensorDetailsLike {
  readonly name: string;
  readonly dtype: string;
  readonly shape: Int32Array;
}

/** A model tensor as the session port declares it: KServe datatype, the shape as the model has it (NHWC stays NHWC). */
export function tensorSpecFromDetails(details: TensorDetailsLike, modelPath: string): TensorSpec {
  const known = LITERT_TO_KSERVE[details.dtype as LiteRtDtype] as (typeof LITERT_TO_KSERVE)[LiteRtDtype] | undefined;
  if (!known) {
    throw new EdgefleetError('MODEL_OP_UNSUPPORTED', `${modelPath}: tensor ${details.name} has element type ${details.dtype}; LiteRT.js moves only float32, int32 and uint8 tensors`);
  }
  // TFLite writes -1 in shape_signature for a free dimension, and 1 in shape; LiteRT reports the latter.
  return { name: details.name, datatype: known.datatype, shape: Array.from(details.shape) };
}

/** The typed array LiteRT wants for a KServe datatype; the data is reused when it already is one. */
export function typedDataFor(datatype: string, data: ArrayLike<number> | ArrayLike<bigint> | ArrayLike<boolean> | string[], name: string): TypedArray {
  const entry = Object.values(LITERT_TO_KSERVE).find((e) => e.datatype === datatype);
  if (!entry) throw new EdgefleetError('INPUT_INVALID', `input ${name}: datatype ${datatype} is not one LiteRT.js takes`);
  // LiteRT's type asks for ArrayBuffer backing, but the Tensor constructor copies into the wasm heap, so any backing does.
  if (data instanceof entry.ctor) return data as TypedArray;
  return (entry.ctor as { from(values: ArrayLike<number>): TypedArray }).from(data as ArrayLike<number>);
}
