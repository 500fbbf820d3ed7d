import * as ort from 'onnxruntime-node';
import { EdgefleetError } from '@edgefleet/shared';
import { encodeModel, graphOf, onnx, type ModelProto } from './onnx-graph.js';

/** One sample: a value for every graph input, by input name. */
export type Feeds = Record<string, ort.Tensor>;

export interface TensorRange {
  min: number;
  max: number;
}

/**
 * MinMax calibration: runs the float32 model on every sample with the tensors of interest exposed
 * as extra graph outputs (onnxruntime-node, CPU EP) and keeps each tensor's min and max over all
 * samples. Tensors that are not float32 (or never computed) are left out of the result.
 */
export async function calibrateMinMax(model: ModelProto, tensors: readonly string[], samples: readonly Feeds[]): Promise<Map<string, TensorRange>> {
  if (!samples.length) throw new EdgefleetError('INPUT_INVALID', 'static INT8 needs at least one calibration sample');
  const augmented = onnx.ModelProto.decode(encodeModel(model));
  const graph = graphOf(augmented);
  const existing = new Set((graph.output ?? []).map((o) => o.name));
  const extra = tensors.filter((t) => !existing.has(t));
  graph.output = [...(graph.output ?? []), ...extra.map((name) => ({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }))];
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(encodeModel(augmented), { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
  } catch (cause) {
    throw new EdgefleetError('MODEL_LOAD_FAILED', `onnxruntime could not load the model for calibration: ${(cause as Error).message}`, { cause });
  }
  const ranges = new Map<string, TensorRange>();
  try {
    for (const [i, feeds] of samples.entries()) {
      let outputs: ort.InferenceSession.OnnxValueMapType;
      try {
        outputs = await session.run(feeds, tensors as string[]);
      } catch (cause) {
        throw new EdgefleetError('INPUT_INVALID', `calibration sample ${i + 1} does not run on the model: ${(cause as Error).message}`, { cause });
      }
      for (const name of tensors) {
        const value = outputs[name];
        if (!value || value.type !== 'float32' || !value.size) continue;
        const data = value.data as Float32Array;
        let min = Infinity;
        let max = -Infinity;
        for (let j = 0; j < data.length; j++) {
          const v = data[j]!;
          if (v < min) min = v;
          if (v > max) max = v;
        }
        const r = ranges.get(name);
        ranges.set(name, r ? { min: Math.min(r.min, min), max: Math.max(r.max, max) } : { min, max });
        value.dispose();
      }
    }
  } finally {
    await session.release();
  }
  return ranges;
}
