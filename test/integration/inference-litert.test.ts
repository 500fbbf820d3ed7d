import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLiteRtSessionFactory, liteRtInfo, type ModelSession, type Tensor } from '@edgefleet/agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tfliteModelPath, tmpDataDir, type TmpDir } from '../helpers/index.js';

// The MediaPipe models from npm on LiteRT's wasm CPU build, through the agent's session port. No
// second TFLite runtime exists in this sandbox, so correctness rests on properties the models
// guarantee (a sigmoid mask in [0, 1], finite outputs, the declared shapes) and on determinism.

/** A deterministic image-like NHWC input in [-1, 1] (MediaPipe's normalisation). */
function syntheticImage(height: number, width: number): Float32Array {
  const data = new Float32Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = Math.sin(x / 7) * 0.8;
      data[i + 1] = Math.cos(y / 5) * 0.8;
      data[i + 2] = ((x + y) % 32) / 16 - 1;
    }
  }
  return data;
}

function input(name: string, shape: number[], data: Float32Array): Tensor {
  return { name, datatype: 'FP32', shape, data };
}

const finite = (data: Tensor['data']): boolean => Array.from(data as Float32Array).every(Number.isFinite);

describe('LiteRT session factory (@edgefleet/agent)', () => {
  const factory = createLiteRtSessionFactory();
  let dir: TmpDir;
  beforeAll(async () => {
    dir = await tmpDataDir('edgefleet-litert-');
  });
  afterAll(async () => {
    await dir.cleanup();
  });

  it('reports the LiteRT version it ships', () => {
    expect(liteRtInfo().version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('serves the face detector as the model declares it (NHWC), deterministically', async () => {
    const session = await factory.create({ modelPath: tfliteModelPath('face'), ep: 'cpu', options: { intraOpNumThreads: 1 } });
    expect(session.ep).toBe('cpu');
    expect(session.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [1, 128, 128, 3] }]);
    expect(session.outputs).toEqual([
      { name: 'regressors', datatype: 'FP32', shape: [1, 896, 16] },
      { name: 'classificators', datatype: 'FP32', shape: [1, 896, 1] },
    ]);
    const image = syntheticImage(128, 128);
    const first = await session.run([input('input', [1, 128, 128, 3], image)]);
    expect(first.outputs.map((o) => [o.name, o.shape])).toEqual([
      ['regressors', [1, 896, 16]],
      ['classificators', [1, 896, 1]],
    ]);
    expect(first.outputs[0]!.data).toHaveLength(896 * 16);
    expect(first.outputs.every((o) => finite(o.data))).toBe(true);
    expect(first.computeMs).toBeGreaterThan(0);
    // The input array is LiteRT's to copy, not to keep or change.
    expect(image).toEqual(syntheticImage(128, 128));
    for (let i = 0; i < 3; i++) {
      const again = await session.run([input('input', [1, 128, 128, 3], image)]);
      expect(again.outputs.map((o) => Array.from(o.data as Float32Array))).toEqual(first.outputs.map((o) => Array.from(o.data as Float32Array)));
    }
    const only = await session.run([input('input', [1, 128, 128, 3], image)], ['classificators']);
    expect(only.outputs.map((o) => o.name)).toEqual(['classificators']);
    await session.release();
    await session.release();
    await expect(session.run([input('input', [1, 128, 128, 3], image)])).rejects.toMatchObject({ code: 'MODEL_NOT_READY' });
  });

  it('runs the selfie segmenter with its custom op Convolution2DTransposeBias; the mask is in [0, 1]', async () => {
    const session = await factory.create({ modelPath: tfliteModelPath('selfie'), ep: 'cpu', options: {} });
    expect(session.inputs).toEqual([{ name: 'input_1', datatype: 'FP32', shape: [1, 256, 256, 3] }]);
    expect(session.outputs).toEqual([{ name: 'activation_10', datatype: 'FP32', shape: [1, 256, 256, 1] }]);
    const image = syntheticImage(256, 256).map((v) => (v + 1) / 2);
    const a = await session.run([input('input_1', [1, 256, 256, 3], image)]);
    const b = await session.run([input('input_1', [1, 256, 256, 3], image)]);
    const mask = a.outputs[0]!.data as Float32Array;
    expect(mask).toHaveLength(256 * 256);
    expect(mask.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
    expect(Array.from(b.outputs[0]!.data as Float32Array)).toEqual(Array.from(mask));
    await session.release();
  });

  it('sessions of two models live side by side and release independently', async () => {
    const sessions: ModelSession[] = await Promise.all([
      factory.create({ modelPath: tfliteModelPath('face'), ep: 'cpu', options: {} }),
      factory.create({ modelPath: tfliteModelPath('selfie'), ep: 'cpu', options: {} }),
    ]);
    await sessions[1]!.release();
    const out = await sessions[0]!.run([input('input', [1, 128, 128, 3], syntheticImage(128, 128))]);
    expect(out.outputs).toHaveLength(2);
    await sessions[0]!.release();
  });

  it('refuses a file that is not a TFLite model with MODEL_INVALID', async () => {
    const onnxLike = join(dir.path, 'model.tflite');
    await writeFile(onnxLike, Buffer.from('\x08\x07\x12\x04test: not a flatbuffer'));
    await expect(factory.create({ modelPath: onnxLike, ep: 'cpu', options: {} })).rejects.toMatchObject({ code: 'MODEL_INVALID', message: expect.stringContaining('TFL3') });
    await expect(factory.create({ modelPath: join(dir.path, 'missing.tflite'), ep: 'cpu', options: {} })).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });

  it('refuses a corrupt TFLite file with MODEL_INVALID, and keeps serving afterwards', async () => {
    const face = await readFile(tfliteModelPath('face'));
    const truncated = join(dir.path, 'truncated.tflite');
    await writeFile(truncated, face.subarray(0, 4096));
    await expect(factory.create({ modelPath: truncated, ep: 'cpu', options: {} })).rejects.toMatchObject({ code: 'MODEL_INVALID', message: expect.stringContaining('LiteRT cannot load') });
    const session = await factory.create({ modelPath: tfliteModelPath('face'), ep: 'cpu', options: {} });
    await session.release();
  });

  // LiteRT.js compiles such a model without throwing and then runs it, returning garbage: the
  // refusal rests on the errors it logs while compiling.
  it('refuses a model whose custom op LiteRT has no kernel for with MODEL_OP_UNSUPPORTED', async () => {
    // Same length, so the flatbuffer stays valid and only the op name changes.
    const selfie = await readFile(tfliteModelPath('selfie'));
    const renamed = Buffer.from(selfie);
    renamed.write('MyVendorOp_NotInLiteRT_000', renamed.indexOf('Convolution2DTransposeBias'));
    const file = join(dir.path, 'unknown-op.tflite');
    await writeFile(file, renamed);
    await expect(factory.create({ modelPath: file, ep: 'cpu', options: {} })).rejects.toMatchObject({ code: 'MODEL_OP_UNSUPPORTED', message: expect.stringContaining('MyVendorOp_NotInLiteRT_000') });
  });

  it('runs on the CPU only', async () => {
    await expect(factory.create({ modelPath: tfliteModelPath('face'), ep: 'cuda', options: {} })).rejects.toMatchObject({ code: 'EP_UNAVAILABLE' });
  });
});
