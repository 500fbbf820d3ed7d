import { describe, expect, it } from 'vitest';
import { feedsFromRequest, jitteredCopies } from './samples.js';

describe('calibration samples', () => {
  it('reads a KServe v2 request (nested data) into typed tensors and refuses a wrong element count', () => {
    const feeds = feedsFromRequest({ inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: [[1, 2], [3, 4]] }, { name: 'n', shape: [1], datatype: 'INT64', data: [7] }] }, 'sample');
    expect(feeds.x!.type).toBe('float32');
    expect(Array.from(feeds.x!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(feeds.n!.data).toEqual(BigInt64Array.of(7n));
    expect(() => feedsFromRequest({ inputs: [{ name: 'x', shape: [3], datatype: 'FP32', data: [1] }] }, 'sample')).toThrow(/1 values for shape \[3\]/);
    expect(() => feedsFromRequest({ nope: true }, 'sample')).toThrow(/not a KServe v2 infer request/);
  });

  it('makes the same jittered copies on every run, the golden input first, each different from it', () => {
    const golden = feedsFromRequest({ inputs: [{ name: 'x', shape: [1, 8], datatype: 'FP32', data: [0, 1, 2, 3, 4, 5, 6, 7] }] }, 'golden');
    const a = jitteredCopies(golden, 4);
    const b = jitteredCopies(golden, 4);
    expect(a).toHaveLength(4);
    expect(a[0]).toBe(golden);
    for (let i = 1; i < 4; i++) {
      expect(Array.from(a[i]!.x!.data as Float32Array)).toEqual(Array.from(b[i]!.x!.data as Float32Array));
      expect(Array.from(a[i]!.x!.data as Float32Array)).not.toEqual(Array.from(golden.x!.data as Float32Array));
    }
  });
});
