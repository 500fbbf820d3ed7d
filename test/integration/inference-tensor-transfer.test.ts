import { join } from 'node:path';
import { createInferenceRuntime, createNodeHardwarePort, createWorkerSessionFactory, detectHardware, type ModelSession } from '@edgefleet/agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sumDiffModel, tmpDataDir, writeModelFile, type TmpDir } from '../helpers/index.js';

/**
 * Tensors cross to the inference worker_thread by transfer only when their holder gave them up
 * (`Tensor.transfer`: a request body, an array validateInputs converted); everything else is
 * copied, so a caller that keeps its arrays (warm-up inputs reused across EP candidates) can.
 */
let tmp: TmpDir;
let modelPath: string;
let sha256: string;
let session: ModelSession;

beforeAll(async () => {
  tmp = await tmpDataDir();
  ({ path: modelPath, sha256 } = await writeModelFile(join(tmp.path, 'sum-diff.onnx'), sumDiffModel({ shape: [1, 3] })));
  session = await createWorkerSessionFactory().create({ modelPath, ep: 'cpu', options: { intraOpNumThreads: 1 } });
});
afterAll(async () => {
  await session?.release();
  await tmp?.cleanup();
});

const valuesOf = (outputs: { name: string; data: unknown }[]): Record<string, number[]> => Object.fromEntries(outputs.map((o) => [o.name, Array.from(o.data as Float32Array)]));

describe('tensor transfer to the inference worker', () => {
  it('inputs marked transfer are moved (two views of one body, moved once) and the outputs come back right', async () => {
    const body = new ArrayBuffer(24);
    const a = new Float32Array(body, 0, 3);
    const b = new Float32Array(body, 12, 3);
    a.set([1, 2, 3]);
    b.set([10, 20, 30]);
    const result = await session.run([
      { name: 'a', datatype: 'FP32', shape: [1, 3], data: a, transfer: true },
      { name: 'b', datatype: 'FP32', shape: [1, 3], data: b, transfer: true },
    ]);
    expect(valuesOf(result.outputs)).toEqual({ sum: [11, 22, 33], diff: [-9, -18, -27] });
    expect(body.byteLength).toBe(0);
    // The body's memory comes back once the run is over, for the caller to reuse.
    expect(result.inputBuffers).toHaveLength(1);
    expect(Array.from(new Float32Array(result.inputBuffers![0]!))).toEqual([1, 2, 3, 10, 20, 30]);
  });

  it('inputs not marked are copied: the caller can read and reuse them', async () => {
    const a = Float32Array.from([1, 2, 3]);
    const b = Float32Array.from([1, 1, 1]);
    const inputs = [
      { name: 'a', datatype: 'FP32', shape: [1, 3], data: a },
      { name: 'b', datatype: 'FP32', shape: [1, 3], data: b },
    ];
    await session.run(inputs);
    const again = await session.run(inputs);
    expect(again.inputBuffers).toBeUndefined();
    expect(Array.from(a)).toEqual([1, 2, 3]);
    expect(valuesOf(again.outputs).sum).toEqual([2, 3, 4]);
  });

  it('a buffer moved away by an earlier run is INFERENCE_FAILED, and the session keeps serving', async () => {
    const a = Float32Array.from([1, 2, 3]);
    const b = Float32Array.from([0, 0, 0]);
    const inputs = [
      { name: 'a', datatype: 'FP32', shape: [1, 3], data: a, transfer: true },
      { name: 'b', datatype: 'FP32', shape: [1, 3], data: b, transfer: true },
    ];
    await session.run(inputs);
    await expect(session.run(inputs)).rejects.toMatchObject({ code: 'INFERENCE_FAILED' });
    const next = await session.run([
      { name: 'a', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([5, 5, 5]) },
      { name: 'b', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([1, 2, 3]) },
    ]);
    expect(valuesOf(next.outputs).diff).toEqual([4, 3, 2]);
  });

  it("the runtime leaves the caller's warm-up inputs intact (the EP benchmark runs them many times)", async () => {
    const runtime = await createInferenceRuntime({ hardware: await detectHardware(createNodeHardwarePort()), config: { epBenchmarkBudgetMs: 200, intraOpThreads: 1 } });
    try {
      const a = Float32Array.from([1, 2, 3]);
      await runtime.load({ model: 'sd', version: '1', path: modelPath, sha256, warmupInputs: [{ name: 'a', datatype: 'FP32', shape: [1, 3], data: a }, { name: 'b', datatype: 'FP32', shape: [1, 3], data: a }] });
      runtime.setLabel('sd', 'active', '1');
      const result = await runtime.infer('sd', [{ name: 'a', datatype: 'FP32', shape: [1, 3], data: a }, { name: 'b', datatype: 'FP32', shape: [1, 3], data: [1, 1, 1] }]);
      expect(Array.from(a)).toEqual([1, 2, 3]);
      expect(valuesOf(result.outputs).sum).toEqual([2, 3, 4]);
    } finally {
      await runtime.close();
    }
  });
});
