import { describe, expect, it } from 'vitest';
import { parseTfPath, parseTfPredict, shapeAndData, tfPredictResponse } from './tf-serving.js';

describe('TF Serving REST semantics', () => {
  it('parses the path grammar', () => {
    expect(parseTfPath('m')).toEqual({ model: 'm', action: 'status' });
    expect(parseTfPath('m/versions/3/metadata')).toEqual({ model: 'm', version: '3', action: 'metadata' });
    expect(parseTfPath('m/labels/canary:predict')).toEqual({ model: 'm', label: 'canary', action: 'predict' });
    expect(parseTfPath('m/versions/3:classify')).toBeUndefined();
    expect(parseTfPath('m/other/3')).toBeUndefined();
  });

  it('row format with one input stacks instances; the reference example', () => {
    const req = parseTfPredict({ instances: [1.0, 2.0, 5.0] }, [{ name: 'x', datatype: 'FP32', shape: [-1] }]);
    expect(req).toEqual({ format: 'row', inputs: [{ name: 'x', datatype: 'FP32', shape: [3], data: [1, 2, 5] }] });
    const res = tfPredictResponse('row', { model: 'm', version: '1', ep: 'cpu', queueMs: 0, computeMs: 0, outputs: [{ name: 'y', datatype: 'FP32', shape: [3], data: Float32Array.from([3.5, 4, 5.5]) }] });
    expect(res).toEqual({ predictions: [3.5, 4.0, 5.5] });
  });

  it('columnar with one input accepts a bare tensor; exactly one of instances/inputs', () => {
    const specs = [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }];
    expect(parseTfPredict({ inputs: [[1, 2]] }, specs).inputs[0]?.shape).toEqual([1, 2]);
    expect(() => parseTfPredict({}, specs)).toThrow(expect.objectContaining({ code: 'PAYLOAD_INVALID' }));
    expect(() => parseTfPredict({ instances: [[1, 2]], inputs: [[1, 2]] }, specs)).toThrow(expect.objectContaining({ code: 'PAYLOAD_INVALID' }));
    expect(() => parseTfPredict([1, 2], specs)).toThrow(expect.objectContaining({ code: 'PAYLOAD_INVALID' }));
  });

  it('nested arrays: shape from the nesting, ragged rejected', () => {
    expect(shapeAndData([[1, 2, 3], [4, 5, 6]], 'x')).toEqual({ shape: [2, 3], data: [1, 2, 3, 4, 5, 6] });
    expect(shapeAndData(7, 'x')).toEqual({ shape: [], data: [7] });
    expect(() => shapeAndData([[1, 2], [3]], 'x')).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
    expect(() => shapeAndData([[1, 2], 3], 'x')).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
  });
});
