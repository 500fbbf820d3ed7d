import { describe, expect, it } from 'vitest';
import { tensorSpecFromDetails, typedDataFor } from './litert-tensors.js';

describe('LiteRT tensor mapping', () => {
  it('declares tensors with KServe datatypes and the model’s own layout', () => {
    expect(tensorSpecFromDetails({ name: 'input', dtype: 'float32', shape: Int32Array.from([1, 128, 128, 3]) }, 'm.tflite')).toEqual({ name: 'input', datatype: 'FP32', shape: [1, 128, 128, 3] });
    expect(tensorSpecFromDetails({ name: 'ids', dtype: 'int32', shape: Int32Array.from([1, 8]) }, 'm.tflite').datatype).toBe('INT32');
    expect(tensorSpecFromDetails({ name: 'px', dtype: 'uint8', shape: Int32Array.from([1, 4]) }, 'm.tflite').datatype).toBe('UINT8');
  });

  it('refuses an element type LiteRT.js cannot move with MODEL_OP_UNSUPPORTED, naming the tensor', () => {
    expect(() => tensorSpecFromDetails({ name: 'q', dtype: 'int8', shape: Int32Array.from([1]) }, 'm.tflite')).toThrow(expect.objectContaining({ code: 'MODEL_OP_UNSUPPORTED', message: expect.stringContaining('tensor q has element type int8') }));
  });

  it('reuses a typed array of the right kind and converts anything else', () => {
    const f32 = Float32Array.from([1, 2]);
    expect(typedDataFor('FP32', f32, 'x')).toBe(f32);
    expect(typedDataFor('FP32', [1, 2], 'x')).toEqual(Float32Array.from([1, 2]));
    expect(typedDataFor('INT32', Float32Array.from([3, 4]), 'x')).toEqual(Int32Array.from([3, 4]));
    expect(() => typedDataFor('FP64', [1], 'x')).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
  });
});
