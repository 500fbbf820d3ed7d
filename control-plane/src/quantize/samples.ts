import * as ort from 'onnxruntime-node';
import { EdgefleetError, kserveInferRequestSchema } from '@edgefleet/shared';
import type { Feeds } from './calibrate.js';

const TYPES: Record<string, 'float32' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'bool'> = {
  FP32: 'float32', FP64: 'float64', INT64: 'int64', INT32: 'int32', INT16: 'int16', INT8: 'int8', UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64', BOOL: 'bool',
};

function flatten(data: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(data)) for (const d of data) flatten(d, out);
  else out.push(data);
  return out;
}

/**
 * A golden-style sample (a KServe v2 infer request as JSON, the form `models push --golden` takes)
 * as onnxruntime feeds. JSON data only: a binary-extension body is not a golden input.
 */
export function feedsFromRequest(json: unknown, what: string): Feeds {
  const parsed = kserveInferRequestSchema.safeParse(json);
  if (!parsed.success) throw new EdgefleetError('PAYLOAD_INVALID', `${what} is not a KServe v2 infer request: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const feeds: Feeds = {};
  for (const input of parsed.data.inputs) {
    const type = TYPES[input.datatype];
    if (!type) throw new EdgefleetError('INPUT_INVALID', `${what}: input ${input.name} has datatype ${input.datatype}, which samples cannot carry`);
    const values = flatten(input.data ?? []);
    const count = input.shape.reduce((a, b) => a * b, 1);
    if (values.length !== count) throw new EdgefleetError('INPUT_INVALID', `${what}: input ${input.name} has ${values.length} values for shape [${input.shape.join(',')}]`);
    let data: ort.Tensor['data'];
    if (type === 'int64' || type === 'uint64') data = type === 'int64' ? BigInt64Array.from(values, (v) => BigInt(v as number)) : BigUint64Array.from(values, (v) => BigInt(v as number));
    else if (type === 'bool') data = Uint8Array.from(values, (v) => (v ? 1 : 0));
    else {
      const Ctor = { float32: Float32Array, float64: Float64Array, int32: Int32Array, int16: Int16Array, int8: Int8Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array }[type];
      data = Ctor.from(values as number[]);
    }
    feeds[input.name] = new ort.Tensor(type, data, input.shape);
  }
  return feeds;
}

/**
 * The default calibration set when none is uploaded: the golden input and `count − 1` copies with a
 * per-copy gain (±15%), offset (±10% of the input's spread) and Gaussian noise (5% of the spread) on
 * every float32 input. Deterministic (seeded), so a re-run calibrates alike. It widens the golden
 * input's ranges the way lighting and sensor noise do; it is not a substitute for real samples.
 */
export function jitteredCopies(golden: Feeds, count: number, seed = 19): Feeds[] {
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const out: Feeds[] = [golden];
  for (let k = 1; k < count; k++) {
    const copy: Feeds = {};
    for (const [name, t] of Object.entries(golden)) {
      if (t.type !== 'float32') {
        copy[name] = t;
        continue;
      }
      const src = t.data as Float32Array;
      let mean = 0;
      for (const v of src) mean += v;
      mean /= src.length || 1;
      let variance = 0;
      for (const v of src) variance += (v - mean) ** 2;
      const spread = Math.sqrt(variance / (src.length || 1)) || 1;
      const gain = 1 + (rnd() - 0.5) * 0.3;
      const offset = (rnd() - 0.5) * 0.2 * spread;
      const data = Float32Array.from(src, (v) => (v - mean) * gain + mean + offset + gauss() * 0.05 * spread);
      copy[name] = new ort.Tensor('float32', data, t.dims);
    }
    out.push(copy);
  }
  return out;
}
