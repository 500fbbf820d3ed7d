import { describe, expect, it } from 'vitest';
import { float32ToHalfBits, fromRawBytes, halfBitsToFloat32, toJsonValues, toRawBytes, toTypedData } from './datatypes.js';

describe('tensor datatypes', () => {
  it('FP16 bits round-trip exactly representable values and saturate to Inf', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8]) expect(halfBitsToFloat32(float32ToHalfBits(v))).toBe(v);
    expect(float32ToHalfBits(1)).toBe(0x3c00);
    expect(halfBitsToFloat32(float32ToHalfBits(1e6))).toBe(Infinity);
    expect(Number.isNaN(halfBitsToFloat32(float32ToHalfBits(NaN)))).toBe(true);
    expect(halfBitsToFloat32(float32ToHalfBits(0.1))).toBeCloseTo(0.1, 3);
  });

  it('raw bytes round-trip every fixed-size type, BOOL and BYTES (Triton length-prefixed)', () => {
    const cases: [Parameters<typeof toTypedData>[0], unknown[]][] = [
      ['FP32', [1.5, -2]],
      ['FP64', [1e300, -1]],
      ['INT8', [-128, 127]],
      ['UINT16', [0, 65535]],
      ['INT64', [-(2 ** 40), 7]],
      ['UINT64', [2 ** 40, 0]],
      ['BOOL', [true, false]],
      ['BYTES', ['héllo', '']],
    ];
    for (const [datatype, values] of cases) {
      const typed = toTypedData(datatype, values, 't');
      const back = fromRawBytes(datatype, toRawBytes(datatype, typed), [2], 't');
      expect(toJsonValues(datatype, back)).toEqual(values);
    }
  });

  it('aligned raw bytes decode to a view over the same memory; unaligned ones to an aligned copy', () => {
    const body = new Uint8Array(4 + 8 + 1 + 8);
    const aligned = fromRawBytes('FP32', body.subarray(4, 12), [2], 'a') as Float32Array;
    expect(aligned.buffer).toBe(body.buffer);
    expect(aligned.byteOffset).toBe(4);
    const unaligned = fromRawBytes('FP32', body.subarray(13, 21), [2], 'b') as Float32Array;
    expect(unaligned.buffer).not.toBe(body.buffer);
    expect(unaligned.byteOffset).toBe(0);
  });

  it('a byte count that does not fit the shape is INPUT_INVALID with the sizes', () => {
    expect(() => fromRawBytes('FP32', new Uint8Array(7), [2], 'x')).toThrow(expect.objectContaining({ code: 'INPUT_INVALID', message: expect.stringMatching(/7 bytes.*needs 8/) }));
  });

  it('non-finite outputs become JSON strings, large int64 become strings, not lossy numbers', () => {
    expect(toJsonValues('FP32', Float32Array.from([NaN, Infinity, -Infinity, 1]))).toEqual(['NaN', 'Infinity', '-Infinity', 1]);
    expect(toJsonValues('INT64', BigInt64Array.from([2n ** 60n, 3n]))).toEqual(['1152921504606846976', 3]);
  });

  it('rejects non-numeric elements and fractional int64', () => {
    expect(() => toTypedData('FP32', [1, 'x'], 'x')).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
    expect(() => toTypedData('INT64', [1.5], 'x')).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
  });
});
