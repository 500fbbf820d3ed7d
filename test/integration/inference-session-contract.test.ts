import { join } from 'node:path';
import { createWorkerSessionFactory, type SessionFactory } from '@edgefleet/agent';
import { createFakeSessionFactory } from '@edgefleet/agent/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityModel, notOnnxBytes, tmpDataDir, writeModelFile, type TmpDir } from '../helpers/index.js';

/**
 * The SessionFactory contract: the fake used by unit tests (EP selection, queues, the daemon) must
 * behave like the real worker-thread factory over onnxruntime-node on the points those tests rely on.
 */
const factories: [string, () => SessionFactory][] = [
  ['fake', () => createFakeSessionFactory()],
  ['worker_threads + onnxruntime-node', () => createWorkerSessionFactory()],
];

let tmp: TmpDir;
let modelPath: string;
let garbagePath: string;
beforeAll(async () => {
  tmp = await tmpDataDir();
  modelPath = (await writeModelFile(join(tmp.path, 'identity.onnx'), identityModel())).path;
  garbagePath = (await writeModelFile(join(tmp.path, 'garbage.onnx'), notOnnxBytes())).path;
});
afterAll(() => tmp.cleanup());

describe.each(factories)('SessionFactory contract: %s', (_name, make) => {
  it('cpu starts, describes the graph and runs', async () => {
    const session = await make().create({ modelPath, ep: 'cpu', options: { intraOpNumThreads: 1 } });
    expect(session.ep).toBe('cpu');
    expect(session.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [1, 4] }]);
    expect(session.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [1, 4] }]);
    const result = await session.run([{ name: 'x', datatype: 'FP32', shape: [1, 4], data: Float32Array.from([1, 2, 3, 4]) }]);
    expect(result.outputs.map((o) => ({ ...o, data: Array.from(o.data as Float32Array) }))).toEqual([{ name: 'y', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }]);
    expect(result.computeMs).toBeGreaterThanOrEqual(0);
    await session.release();
    await session.release();
    await expect(session.run([{ name: 'x', datatype: 'FP32', shape: [1, 4], data: Float32Array.from([1, 2, 3, 4]) }])).rejects.toThrow();
  });

  it('a feed that is not a model input fails the run with INFERENCE_FAILED, and the session keeps serving', async () => {
    const session = await make().create({ modelPath, ep: 'cpu', options: { intraOpNumThreads: 1 } });
    await expect(session.run([{ name: 'nope', datatype: 'FP32', shape: [1, 4], data: Float32Array.from([1, 2, 3, 4]) }])).rejects.toMatchObject({ code: 'INFERENCE_FAILED' });
    const again = await session.run([{ name: 'x', datatype: 'FP32', shape: [1, 4], data: Float32Array.from([5, 6, 7, 8]) }]);
    expect(Array.from(again.outputs[0]!.data as Float32Array)).toEqual([5, 6, 7, 8]);
    await session.release();
  });

  it('an EP this machine lacks (cuda) rejects with EP_UNAVAILABLE', async () => {
    await expect(make().create({ modelPath, ep: 'cuda', options: {} })).rejects.toMatchObject({ code: 'EP_UNAVAILABLE' });
  });

  it('a missing file rejects with MODEL_INVALID', async () => {
    await expect(make().create({ modelPath: join(tmp.path, 'missing.onnx'), ep: 'cpu', options: {} })).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });

  it('an aborted start rejects', async () => {
    const controller = new AbortController();
    controller.abort(new Error('deadline'));
    await expect(make().create({ modelPath, ep: 'cpu', options: {} }, controller.signal)).rejects.toMatchObject({ code: 'EP_UNAVAILABLE' });
  });
});

describe('real factory only', () => {
  it('bytes that are not ONNX reject with MODEL_INVALID', async () => {
    await expect(createWorkerSessionFactory().create({ modelPath: garbagePath, ep: 'cpu', options: {} })).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });
});
