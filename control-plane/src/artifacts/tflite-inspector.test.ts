import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectModel } from './inspect-model.js';
import { inspectTflite } from './tflite-inspector.js';

const require = createRequire(import.meta.url);
const mediapipe = (pkg: string, file: string): Buffer => readFileSync(join(dirname(require.resolve(`@mediapipe/${pkg}/package.json`)), file));
const face = mediapipe('face_detection', 'face_detection_short_range.tflite');
const selfie = mediapipe('selfie_segmentation', 'selfie_segmentation.tflite');

describe('TFLite inspection (real MediaPipe models)', () => {
  it('reads the face detector: NHWC input and its two outputs as the model declares them', () => {
    const i = inspectModel(face);
    expect(i.format).toBe('tflite');
    expect(i.irVersion).toBe(3);
    expect(i.inputs).toEqual([{ name: expect.any(String), datatype: 'FP32', shape: [1, 128, 128, 3] }]);
    expect(i.outputs.map((o) => [o.datatype, o.shape])).toEqual([
      ['FP32', [1, 896, 16]],
      ['FP32', [1, 896, 1]],
    ]);
    expect(i.opTypes).toContain('CONV_2D');
    expect(i.customOps).toEqual([]);
    expect(i.nodeCount).toBeGreaterThan(10);
    expect(i.initializerCount).toBeGreaterThan(10);
  });

  it('accepts the selfie segmenter with the custom op LiteRT provides', () => {
    const i = inspectTflite(selfie);
    expect(i.customOps).toEqual(['Convolution2DTransposeBias']);
    expect(i.opTypes).toContain('Convolution2DTransposeBias');
    expect(i.inputs[0]!.shape).toEqual([1, 256, 256, 3]);
  });

  it('refuses a custom op LiteRT has no kernel for, naming it', () => {
    const forged = Buffer.from(selfie);
    const at = forged.indexOf('Convolution2DTransposeBias');
    forged.write('Convolution2DTransposeBiaX', at);
    expect(() => inspectTflite(forged)).toThrow(expect.objectContaining({ code: 'MODEL_OP_UNSUPPORTED', message: expect.stringContaining('Convolution2DTransposeBiaX') }));
  });

  it.each([
    ['a wrong file identifier', () => Buffer.concat([face.subarray(0, 4), Buffer.from('TFL2'), face.subarray(8)]), /file identifier is "TFL2"/],
    ['a truncated file', () => face.subarray(0, 4096), /lies outside the file/],
    ['a root offset past the end', () => Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0x7f]), face.subarray(4)]), /lies outside the file/],
    ['eight bytes', () => Buffer.from('xxxxTFL3'), /lies outside the file/],
  ])('refuses %s with MODEL_INVALID', (_name, bytes, message) => {
    expect(() => inspectTflite(bytes())).toThrow(expect.objectContaining({ code: 'MODEL_INVALID', message: expect.stringMatching(message) }));
  });

  it('never reads past the end of a randomly damaged file', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let n = 0; n < 300; n++) {
      const damaged = Buffer.from(face);
      for (let k = 0; k < 8; k++) damaged[8 + Math.floor(rand() * (damaged.length - 8))] = Math.floor(rand() * 256);
      try {
        inspectTflite(damaged);
      } catch (err) {
        expect((err as { code?: string }).code).toMatch(/^MODEL_(INVALID|OP_UNSUPPORTED)$/);
      }
    }
  });

  it('still reads ONNX files as ONNX', () => {
    expect(() => inspectModel(Buffer.from('not a model at all'))).toThrow(expect.objectContaining({ code: 'MODEL_INVALID', message: expect.stringContaining('ONNX') }));
  });
});
