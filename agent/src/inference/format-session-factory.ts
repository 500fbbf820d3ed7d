import { open } from 'node:fs/promises';
import { EdgefleetError, modelFormatOf, type ModelFormat } from '@edgefleet/shared';
import type { ModelSession, SessionFactory, SessionSpec } from './session-port.js';

/**
 * One session port over both runtimes: a model file is opened by onnxruntime or by LiteRT as its
 * bytes say (shared's modelFormatOf, the rule the control plane inspected it by). Everything above
 * the port — EP probing, thread measurement, smoke test, probation, hot swap, the API — is the same
 * for both. The LiteRT factory is made on first use, so an agent serving only ONNX never loads it.
 */
export function createFormatSessionFactory(factories: { onnx: SessionFactory; tflite: () => Promise<SessionFactory> }): SessionFactory {
  let tflite: Promise<SessionFactory> | undefined;
  return {
    async create(spec: SessionSpec, signal?: AbortSignal): Promise<ModelSession> {
      const format = await formatOf(spec.modelPath);
      if (format === 'onnx') return await factories.onnx.create(spec, signal);
      tflite ??= factories.tflite();
      return await (await tflite).create(spec, signal);
    },
  };
}

async function formatOf(path: string): Promise<ModelFormat> {
  let fh;
  try {
    fh = await open(path, 'r');
    const head = Buffer.alloc(8);
    const { bytesRead } = await fh.read(head, 0, 8, 0);
    return modelFormatOf(head.subarray(0, bytesRead));
  } catch (cause) {
    throw new EdgefleetError('MODEL_INVALID', `cannot read the model file ${path}: ${(cause as Error).message}`, { cause });
  } finally {
    await fh?.close();
  }
}
