import * as ort from 'onnxruntime-node';
import { EdgefleetError } from '@edgefleet/shared';
import { encodeModel, graphOf, onnx, type ModelProto } from './onnx-graph.js';

/** One sample: a value for every graph input, by input name. */
export type Feeds = Record<string, ort.Tensor>;

export interface TensorRange {
  min: number;
  max: number;
}

export type CalibrationMethod = { method: 'minmax' } | { method: 'percentile'; percentile: number };

const BINS = 2048;

/**
 * Activation ranges from the float32 model run on every sample (onnxruntime-node, CPU EP) with the
 * tensors of interest exposed as extra graph outputs. `minmax` keeps each tensor's min and max over
 * all samples; `percentile` (onnxruntime's Percentile calibrator, asymmetric here) keeps the
 * (100 − p)th and pth percentiles of a 2048-bin histogram over [min, max], so a few outliers do not
 * stretch the int8 step for everything else. Tensors that are not float32 are left out.
 */
export async function calibrate(model: ModelProto, tensors: readonly string[], samples: readonly Feeds[], how: CalibrationMethod = { method: 'minmax' }): Promise<Map<string, TensorRange>> {
  if (!samples.length) throw new EdgefleetError('INPUT_INVALID', 'static INT8 needs at least one calibration sample');
  if (!tensors.length) return new Map();
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
  const pass = async (each: (name: string, data: Float32Array) => void): Promise<void> => {
    for (const [i, feeds] of samples.entries()) {
      let outputs: ort.InferenceSession.OnnxValueMapType;
      try {
        outputs = await session.run(feeds, tensors as string[]);
      } catch (cause) {
        throw new EdgefleetError('INPUT_INVALID', `calibration sample ${i + 1} does not run on the model: ${(cause as Error).message}`, { cause });
      }
      for (const name of tensors) {
        const value = outputs[name];
        if (value && value.type === 'float32' && value.size) each(name, value.data as Float32Array);
      }
    }
  };
  const ranges = new Map<string, TensorRange>();
  try {
    await pass((name, data) => {
      let min = Infinity;
      let max = -Infinity;
      for (let j = 0; j < data.length; j++) {
        const v = data[j]!;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const r = ranges.get(name);
      ranges.set(name, r ? { min: Math.min(r.min, min), max: Math.max(r.max, max) } : { min, max });
    });
    if (how.method === 'percentile') {
      const histograms = new Map<string, Float64Array>();
      await pass((name, data) => {
        const r = ranges.get(name)!;
        const width = (r.max - r.min) / BINS || 1;
        let h = histograms.get(name);
        if (!h) histograms.set(name, (h = new Float64Array(BINS)));
        for (let j = 0; j < data.length; j++) h[Math.min(BINS - 1, Math.floor((data[j]! - r.min) / width))]!++;
      });
      for (const [name, h] of histograms) {
        const r = ranges.get(name)!;
        const width = (r.max - r.min) / BINS;
        const total = h.reduce((a, b) => a + b, 0);
        // (a hair over, so 99.9% of 1000 values drops exactly one despite float rounding)
        const tail = total * (1 - how.percentile / 100) * (1 + 1e-9);
        let lo = 0;
        for (let acc = 0; lo < BINS - 1 && acc + h[lo]! <= tail; lo++) acc += h[lo]!;
        let hi = BINS - 1;
        for (let acc = 0; hi > 0 && acc + h[hi]! <= tail; hi--) acc += h[hi]!;
        ranges.set(name, { min: r.min + lo * width, max: r.min + (hi + 1) * width });
      }
    }
  } finally {
    await session.release();
  }
  return ranges;
}
