import { EdgefleetError, type TensorSpec } from '@edgefleet/shared';
import { elementCount, isKserveDatatype, toTypedData } from './datatypes.js';
import type { Tensor } from './runtime-port.js';

/**
 * Inputs generated from the declared specs, for warm-up, the EP benchmark and a smoke test
 * without a golden input. Variable dimensions become 1 for the batch (first) dimension and
 * `freeDim` elsewhere (64 suits image CNNs whose strides divide 32). Floats are a fixed
 * pseudo-random sequence in [0, 1): zeros can hide NaN-producing ops.
 */
export function sampleInputs(specs: readonly TensorSpec[], freeDim = 64): Tensor[] {
  let seed = 12345;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  return specs.map((spec) => {
    const shape = spec.shape.map((d, i) => (d >= 0 ? d : i === 0 ? 1 : freeDim));
    const count = elementCount(shape);
    const datatype = spec.datatype;
    let values: unknown[];
    if (datatype === 'FP32' || datatype === 'FP64' || datatype === 'FP16') values = Array.from({ length: count }, next);
    else if (datatype === 'BOOL') values = new Array<boolean>(count).fill(false);
    else if (datatype === 'BYTES') values = new Array<string>(count).fill('');
    else values = new Array<number>(count).fill(0);
    if (!isKserveDatatype(datatype)) throw new EdgefleetError('MODEL_INVALID', `input ${spec.name} has datatype ${datatype}, which cannot be fed from JavaScript`);
    return { name: spec.name, datatype, shape, data: toTypedData(datatype, values, spec.name) };
  });
}

/** Names of float outputs holding NaN or ±Inf (empty when all are finite). */
export function nonFiniteOutputs(outputs: readonly Tensor[]): string[] {
  const bad: string[] = [];
  for (const t of outputs) {
    if (t.datatype !== 'FP32' && t.datatype !== 'FP64' && t.datatype !== 'FP16') continue;
    const data = t.data as ArrayLike<number>;
    // FP16 travels as raw half bits: an all-ones exponent is Inf or NaN.
    const finite = t.datatype === 'FP16' ? (v: number) => (v & 0x7c00) !== 0x7c00 : Number.isFinite;
    for (let i = 0; i < data.length; i++) {
      if (!finite(data[i]!)) {
        bad.push(t.name);
        break;
      }
    }
  }
  return bad;
}
