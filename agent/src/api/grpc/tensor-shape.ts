import { EdgefleetError } from '@edgefleet/shared';
import { toSafeInteger, type Int64 } from './proto-root.js';

/**
 * A request's shape from int64 dimensions: every dimension a non-negative safe integer, and the
 * element count bounded by `maxElements` (the message size limit: no element of any type is
 * smaller than a byte), so a shape that claims more than the message can hold is refused before
 * anything is allocated for it.
 */
export function requestShape(dims: readonly Int64[], name: string, maxElements: number): number[] {
  let count = 1;
  const shape = dims.map((d) => {
    const n = toSafeInteger(d);
    if (n === undefined || n < 0) throw new EdgefleetError('INPUT_INVALID', `input ${name}: dimension ${String(d)} is not a non-negative integer`);
    count *= n;
    return n;
  });
  if (count > maxElements) throw new EdgefleetError('INPUT_INVALID', `input ${name}: shape [${shape.join(',')}] holds more elements than a ${maxElements}-byte message can carry`);
  return shape;
}
