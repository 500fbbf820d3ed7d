import type { ModelInspection } from '@edgefleet/shared';
import { inspectOnnx } from './onnx-inspector.js';
import { inspectTflite, looksLikeTflite } from './tflite-inspector.js';

/**
 * A pushed model file is a TFLite flatbuffer when it carries the TFL3 identifier, otherwise it is
 * read as ONNX (which has no magic number of its own): each inspector refuses what it cannot read.
 */
export function inspectModel(bytes: Uint8Array): ModelInspection {
  return looksLikeTflite(bytes) ? inspectTflite(bytes) : inspectOnnx(bytes);
}
