/**
 * TFLite models in the registry (issue 21): `models push model.tflite` is inspected from its
 * flatbuffer, signed like an ONNX model and shown by `models show`; a file LiteRT cannot run is
 * refused at push with the reason, keeping nothing; a rollout skips agents without LiteRT.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyManifest, type ModelVersionRecord } from '@edgefleet/shared';
import { cliRunner, startControlPlane, tfliteModelPath, type TestControlPlane } from '../helpers/index.js';

describe('TFLite models in the registry', () => {
  let h: TestControlPlane;
  const cli = (...argv: string[]) => cliRunner(h)(...argv);

  beforeAll(async () => {
    h = await startControlPlane();
  });
  afterAll(async () => h?.close());

  it('pushes the MediaPipe face detector with the CLI: inspected, signed, shown with its NHWC input', async () => {
    const pushed = await cli('models', 'push', tfliteModelPath('face'), '--name', 'face', '--version', '1.0.0', '--json');
    expect(pushed.err).toBe('');
    expect(pushed.code).toBe(0);
    const record = JSON.parse(pushed.out) as ModelVersionRecord;
    expect(record.inspection).toMatchObject({ format: 'tflite', irVersion: 3, customOps: [] });
    expect(record.inspection.inputs[0]).toMatchObject({ datatype: 'FP32', shape: [1, 128, 128, 3] });
    expect(record.inspection.outputs.map((o) => o.shape)).toEqual([[1, 896, 16], [1, 896, 1]]);
    expect(verifyManifest({ name: 'face', version: '1.0.0', sha256: record.sha256, size: record.size, createdAt: record.createdAt }, record.signature, h.fleetPublicKeyPem)).toBe(true);
    const shown = await cli('models', 'show', 'face@1.0.0');
    expect(shown.out).toMatch(/format\s+TFLite \(schema 3; runs on LiteRT\)/);
    expect(shown.out).toMatch(/inputs\s+\S+ FP32\[1×128×128×3\]|inputs\s+\S+ FP32\[1, ?128, ?128, ?3\]/);
  });

  it('pushes the selfie segmenter, listing the custom op LiteRT provides', async () => {
    const pushed = await cli('models', 'push', tfliteModelPath('selfie'), '--name', 'selfie', '--version', '1', '--json');
    expect(pushed.code).toBe(0);
    expect((JSON.parse(pushed.out) as ModelVersionRecord).inspection.customOps).toEqual(['Convolution2DTransposeBias']);
    expect((await cli('models', 'show', 'selfie@1')).out).toMatch(/custom ops\s+Convolution2DTransposeBias/);
  });

  it('refuses an unsupported custom op, a corrupt flatbuffer and a wrong identifier at push, keeping nothing', async () => {
    const stored = async () => (await readdir(join(h.dataDir, 'artifacts'), { recursive: true })).filter((f) => /[a-f0-9]{64}$/.test(f)).length;
    const before = await stored();
    const selfie = await readFile(tfliteModelPath('selfie'));
    const forged = Buffer.from(selfie);
    forged.write('MyVendorOp_NotInLiteRT_000', forged.indexOf('Convolution2DTransposeBias'));
    const face = await readFile(tfliteModelPath('face'));
    const cases: [string, Buffer, string, RegExp][] = [
      ['custom-op', forged, 'MODEL_OP_UNSUPPORTED', /MyVendorOp_NotInLiteRT_000/],
      ['truncated', face.subarray(0, 20_000), 'MODEL_INVALID', /TFLite.*outside the file/],
      ['identifier', Buffer.concat([face.subarray(0, 4), Buffer.from('TFL2'), face.subarray(8)]), 'MODEL_INVALID', /ONNX/],
    ];
    for (const [name, bytes, code, message] of cases) {
      const file = join(h.dataDir, `${name}.tflite`);
      await writeFile(file, bytes);
      const r = await cli('models', 'push', file, '--name', `bad-${name}`, '--version', '1');
      expect(r.code, name).not.toBe(0);
      expect(r.err, name).toContain(code);
      expect(r.err, name).toMatch(message);
    }
    expect(await stored()).toBe(before);
  });
});
