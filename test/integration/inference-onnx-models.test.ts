import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { addModel, identityModel, nanModel, nonFiniteModel, notOnnxBytes, ocrModelPath, slowModel, sumDiffModel } from '../helpers/index.js';

// The generated models are what every inference test stands on: prove each one loads in the real
// onnxruntime-node and computes what its definition says.
describe('generated ONNX models (test/helpers/onnx-models.ts)', () => {
  const f32 = (values: number[], dims: number[]): ort.Tensor => new ort.Tensor('float32', Float32Array.from(values), dims);

  it('identityModel passes float32 and other element types through', async () => {
    const session = await ort.InferenceSession.create(identityModel());
    const out = await session.run({ x: f32([1, 2, 3, 4], [1, 4]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    await session.release();

    const int64 = await ort.InferenceSession.create(identityModel({ type: 'int64', shape: ['n'] }));
    const res = await int64.run({ x: new ort.Tensor('int64', BigInt64Array.from([5n, -7n]), [2]) });
    expect(Array.from(res.y!.data as BigInt64Array)).toEqual([5n, -7n]);
    await int64.release();
  });

  it('addModel adds its constant, with fixed or variable batch', async () => {
    const session = await ort.InferenceSession.create(addModel({ addend: 2.5, shape: ['batch', 2] }));
    expect(session.inputNames).toEqual(['x']);
    const out = await session.run({ x: f32([1, 2, 3, 4, 5, 6], [3, 2]) });
    expect(out.y!.dims).toEqual([3, 2]);
    expect(Array.from(out.y!.data as Float32Array)).toEqual([3.5, 4.5, 5.5, 6.5, 7.5, 8.5]);
    await session.release();
  });

  it('sumDiffModel has two inputs and two outputs', async () => {
    const session = await ort.InferenceSession.create(sumDiffModel());
    expect(session.inputNames).toEqual(['a', 'b']);
    expect(session.outputNames).toEqual(['sum', 'diff']);
    const out = await session.run({ a: f32([1, 2, 3], [1, 3]), b: f32([1, 1, 1], [1, 3]) });
    expect(Array.from(out.sum!.data as Float32Array)).toEqual([2, 3, 4]);
    expect(Array.from(out.diff!.data as Float32Array)).toEqual([0, 1, 2]);
    await session.release();
  });

  it.each(['div-zero-by-zero', 'log-negative', 'sqrt-negative'] as const)('nanModel(%s) outputs NaN for finite input', async (op) => {
    const session = await ort.InferenceSession.create(nanModel(op));
    const out = await session.run({ x: f32([1, -2, 0, 3], [1, 4]) });
    expect(Array.from(out.y!.data as Float32Array).every(Number.isNaN)).toBe(true);
    await session.release();
  });

  it('nonFiniteModel(div-by-zero) outputs +Inf', async () => {
    const session = await ort.InferenceSession.create(nonFiniteModel({ op: 'div-by-zero' }));
    const out = await session.run({ x: f32([1, -2, 0, 3], [1, 4]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([Infinity, Infinity, Infinity, Infinity]);
    await session.release();
  });

  it('slowModel runs a MatMul chain and keeps values finite', async () => {
    const size = 64;
    const session = await ort.InferenceSession.create(slowModel({ size, depth: 4 }));
    const out = await session.run({ x: f32(new Array<number>(size * size).fill(2), [size, size]) });
    const y = out.y!.data as Float32Array;
    expect(y.length).toBe(size * size);
    // W = 1/size everywhere: each multiplication maps a constant matrix to itself.
    expect(y[0]).toBeCloseTo(2, 4);
    expect(y.every(Number.isFinite)).toBe(true);
    await session.release();
  });

  it('notOnnxBytes is rejected by onnxruntime', async () => {
    await expect(ort.InferenceSession.create(notOnnxBytes())).rejects.toThrow();
  });

  it('ocrModelPath points at the real PP-OCR classifier', async () => {
    const session = await ort.InferenceSession.create(await readFile(ocrModelPath('cls')));
    expect(session.inputNames).toEqual(['x']);
    await session.release();
  });
});
