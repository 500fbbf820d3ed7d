import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLiteRtSessionFactory } from './litert-session-factory.js';
import { liteRtInfo } from './load-litert.js';

// The real models are in test/integration/inference-litert.test.ts; here, the refusals that need
// no model package, against the real wasm runtime.
describe('createLiteRtSessionFactory refusals', () => {
  const factory = createLiteRtSessionFactory();
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgefleet-litert-unit-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a file without the TFL3 identifier, before loading anything', async () => {
    const file = join(dir, 'wrong.tflite');
    await writeFile(file, Buffer.from('ONNX-ish bytes, not a flatbuffer'));
    await expect(factory.create({ modelPath: file, ep: 'cpu', options: {} })).rejects.toMatchObject({ code: 'MODEL_INVALID', message: expect.stringContaining('expected "TFL3"') });
    await writeFile(file, Buffer.alloc(3));
    await expect(factory.create({ modelPath: file, ep: 'cpu', options: {} })).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });

  it('refuses a flatbuffer LiteRT cannot parse with MODEL_INVALID and its reason', async () => {
    const file = join(dir, 'garbage.tflite');
    const bytes = Buffer.alloc(4096, 0xa5);
    bytes.write('TFL3', 4, 'latin1');
    await writeFile(file, bytes);
    await expect(factory.create({ modelPath: file, ep: 'cpu', options: {} })).rejects.toMatchObject({ code: 'MODEL_INVALID', message: expect.stringContaining('LiteRT cannot load the model') });
  });

  it('refuses a missing file with MODEL_INVALID and a non-CPU EP with EP_UNAVAILABLE', async () => {
    await expect(factory.create({ modelPath: join(dir, 'absent.tflite'), ep: 'cpu', options: {} })).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    await expect(factory.create({ modelPath: join(dir, 'absent.tflite'), ep: 'webgpu', options: {} })).rejects.toMatchObject({ code: 'EP_UNAVAILABLE' });
  });

  it('abandons an aborted start', async () => {
    const file = join(dir, 'x.tflite');
    await writeFile(file, Buffer.alloc(16));
    await expect(factory.create({ modelPath: file, ep: 'cpu', options: {} }, AbortSignal.abort())).rejects.toMatchObject({ code: 'EP_UNAVAILABLE', message: expect.stringContaining('aborted') });
  });

  it('names the build it runs and the LiteRT version, and leaves no browser globals behind', async () => {
    expect(['threaded', 'simd', 'compat']).toContain(await factory.build());
    expect('importScripts' in globalThis).toBe(false);
    expect('ModuleFactory' in globalThis).toBe(false);
    expect(liteRtInfo().version).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
