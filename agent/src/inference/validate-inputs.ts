import { EdgefleetError, type TensorSpec } from '@edgefleet/shared';
import { elementCount, isKserveDatatype, toTypedData } from './datatypes.js';
import type { Tensor } from './runtime-port.js';

/**
 * Checks request tensors against the model's declared inputs (every input given once, no
 * unknown names, same datatype, same rank, fixed dimensions equal, data length = shape product)
 * and converts their data to the typed arrays onnxruntime takes. Throws INPUT_INVALID with the
 * first problem, so a client sees what to fix instead of an onnxruntime stack trace.
 */
export function validateInputs(specs: readonly TensorSpec[], inputs: readonly Tensor[]): Tensor[] {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const seen = new Set<string>();
  const out: Tensor[] = [];
  for (const input of inputs) {
    const spec = byName.get(input.name);
    if (!spec) throw new EdgefleetError('INPUT_INVALID', `unknown input "${input.name}"; the model takes ${specs.map((s) => s.name).join(', ')}`);
    if (seen.has(input.name)) throw new EdgefleetError('INPUT_INVALID', `input "${input.name}" given twice`);
    seen.add(input.name);
    if (input.datatype !== spec.datatype) throw new EdgefleetError('INPUT_INVALID', `input "${input.name}": datatype ${input.datatype}, the model wants ${spec.datatype}`);
    if (!isKserveDatatype(input.datatype)) throw new EdgefleetError('INPUT_INVALID', `input "${input.name}": datatype ${input.datatype} is not supported`);
    const shape = input.shape;
    const shapeOk = shape.length === spec.shape.length && shape.every((d, i) => Number.isInteger(d) && d >= 0 && (spec.shape[i]! < 0 || spec.shape[i] === d));
    if (!shapeOk) {
      throw new EdgefleetError('INPUT_INVALID', `input "${input.name}": shape [${shape.join(',')}] does not match the model's [${spec.shape.join(',')}] (-1 = any)`);
    }
    const count = elementCount(shape);
    if (input.data.length !== count) throw new EdgefleetError('INPUT_INVALID', `input "${input.name}": ${input.data.length} elements for shape [${shape.join(',')}] (needs ${count})`);
    const data = toTypedData(input.datatype, input.data, input.name);
    // A conversion made a new array that only this request holds: the session may move it.
    const transfer = data !== input.data || input.transfer === true;
    out.push({ name: input.name, datatype: input.datatype, shape: [...shape], data, ...(transfer ? { transfer } : {}) });
  }
  const missing = specs.filter((s) => !seen.has(s.name)).map((s) => s.name);
  if (missing.length > 0) throw new EdgefleetError('INPUT_INVALID', `missing input(s): ${missing.join(', ')}`);
  return out;
}
