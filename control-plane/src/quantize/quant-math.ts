/**
 * Linear 8-bit quantization as onnxruntime defines it: real = (q − zero_point) · scale, with the
 * range always containing 0 so zero padding is exact.
 */
export interface QuantParams {
  scale: number;
  zeroPoint: number;
}

/** Asymmetric uint8 for activations (onnxruntime's QUInt8 default for QDQ activations). */
export function uint8Params(min: number, max: number): QuantParams {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const zeroPoint = Math.max(0, Math.min(255, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

/**
 * Symmetric int8 for weights, zero point 0. `reduceRange` uses 7 bits (±63): on x86 CPUs without
 * VNNI the u8×s8 kernels add pairs of products into int16 (VPMADDUBSW) and saturate with full-range
 * weights; onnxruntime's own quantizer offers reduce_range for the same reason.
 */
export function int8SymmetricParams(absMax: number, reduceRange: boolean): QuantParams {
  const qmax = reduceRange ? 63 : 127;
  return { scale: absMax > 0 ? absMax / qmax : 1, zeroPoint: 0 };
}

export function quantizeInt8(values: Float32Array, scale: number, limit = 127): Int8Array {
  const out = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.max(-limit, Math.min(limit, Math.round(values[i]! / scale)));
  return out;
}

export function quantizeUint8(values: Float32Array, { scale, zeroPoint }: QuantParams): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(values[i]! / scale) + zeroPoint));
  return out;
}

/** max |v| over each slice along `axis` of a tensor with shape `shape` (per-channel ranges). */
export function absMaxPerChannel(values: Float32Array, shape: readonly number[], axis: number): Float32Array {
  const channels = shape[axis] ?? 1;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(channels);
  for (let i = 0; i < values.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const v = Math.abs(values[i]!);
    if (v > out[c]!) out[c] = v;
  }
  return out;
}

/** Quantizes each slice along `axis` with its own symmetric scale; returns the int8 values and scales. */
export function quantizePerChannel(values: Float32Array, shape: readonly number[], axis: number, reduceRange: boolean): { q: Int8Array; scales: Float32Array } {
  const absMax = absMaxPerChannel(values, shape, axis);
  const scales = Float32Array.from(absMax, (m) => int8SymmetricParams(m, reduceRange).scale);
  const channels = shape[axis] ?? 1;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const limit = reduceRange ? 63 : 127;
  const q = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const s = scales[Math.floor(i / inner) % channels]!;
    q[i] = Math.max(-limit, Math.min(limit, Math.round(values[i]! / s)));
  }
  return { q, scales };
}
