import { describe, expect, it } from 'vitest';
import { validateInputs } from './validate-inputs.js';

const specs = [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }];

describe('validateInputs', () => {
  it('a converted array is new and marked transfer: only this request holds it', () => {
    const [tensor] = validateInputs(specs, [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }]);
    expect(tensor!.data).toBeInstanceOf(Float32Array);
    expect(tensor!.transfer).toBe(true);
  });

  it("a caller's typed array is passed through without a copy and not marked: the caller may read it again", () => {
    const data = Float32Array.from([1, 2]);
    const [tensor] = validateInputs(specs, [{ name: 'x', datatype: 'FP32', shape: [1, 2], data }]);
    expect(tensor!.data).toBe(data);
    expect(tensor!.transfer).toBeUndefined();
  });

  it('keeps the holder’s transfer mark on a typed array it passes through', () => {
    const [tensor] = validateInputs(specs, [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: Float32Array.from([1, 2]), transfer: true }]);
    expect(tensor!.transfer).toBe(true);
  });

  it('rejects a shape the model does not take', () => {
    expect(() => validateInputs(specs, [{ name: 'x', datatype: 'FP32', shape: [2], data: [1, 2] }])).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
  });
});
