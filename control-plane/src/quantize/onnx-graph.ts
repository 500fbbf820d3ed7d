import onnxProto from 'onnx-proto';
import { EdgefleetError } from '@edgefleet/shared';

/**
 * The ONNX graph as the rewrites see it: the decoded ModelProto (onnx-proto), with weights read
 * into typed arrays and new tensors/nodes made with unique names. Every rewrite in this folder
 * decodes once, edits `graph.node` / `graph.initializer`, and encodes once.
 */
export const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.ModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;

/** TensorProto.DataType values as plain numbers (decoded fields are numbers, not the enum). */
export const DT: Readonly<Record<'FLOAT' | 'UINT8' | 'INT8' | 'INT32' | 'INT64' | 'BOOL' | 'FLOAT16', number>> = Object.freeze({
  FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10,
});
const EXTERNAL: number = onnx.TensorProto.DataLocation.EXTERNAL;

/** protobufjs gives int64 fields as Long objects; the values here all fit a JS number. */
export const num = (v: unknown): number => (v === null || v === undefined ? 0 : typeof v === 'number' ? v : Number((v as { toString(): string }).toString()));

export function decodeModel(bytes: Uint8Array): ModelProto {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw new EdgefleetError('MODEL_INVALID', `not an ONNX model: ${(cause as Error).message}`, { cause });
  }
  if (!model.graph?.node?.length) throw new EdgefleetError('MODEL_INVALID', 'not an ONNX model: no graph or no nodes');
  return model;
}

export function encodeModel(model: ModelProto): Buffer {
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}

export function graphOf(model: ModelProto): GraphProto & { node: NodeProto[]; initializer: TensorProto[] } {
  const graph = model.graph as GraphProto & { node: NodeProto[]; initializer: TensorProto[] };
  graph.node ??= [];
  graph.initializer ??= [];
  return graph;
}

/** The default-domain opset the model imports (0 when none). */
export function defaultOpset(model: ModelProto): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry ? num(entry.version) : 0;
}

export function setDefaultOpset(model: ModelProto, version: number): void {
  const others = (model.opsetImport ?? []).filter((o) => o.domain && o.domain !== 'ai.onnx');
  model.opsetImport = [{ domain: '', version }, ...others];
  // Opset 13 needs IR ≥ 7; keep newer IR versions as they are.
  if (num(model.irVersion) < 7) model.irVersion = 7;
}

export const nodeLabel = (n: NodeProto): string => `${n.opType ?? '?'} node '${n.name || n.output?.[0] || '?'}'`;

export function attr(node: NodeProto, name: string): AttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

export const attrInt = (node: NodeProto, name: string, fallback: number): number => {
  const a = attr(node, name);
  return a ? num(a.i) : fallback;
};

export const attrFloat = (node: NodeProto, name: string, fallback: number): number => {
  const a = attr(node, name);
  return a?.f ?? fallback;
};

export const attrInts = (node: NodeProto, name: string): number[] | undefined => {
  const a = attr(node, name);
  return a ? (a.ints ?? []).map(num) : undefined;
};

export function dropAttr(node: NodeProto, name: string): void {
  node.attribute = (node.attribute ?? []).filter((a) => a.name !== name);
}

export const intAttr = (name: string, i: number): AttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INT, i });

export const dims = (t: TensorProto): number[] => (t.dims ?? []).map(num);
export const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

const copyBytes = (raw: Uint8Array): ArrayBuffer => raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;

/** A float32 tensor's values (raw_data or float_data). */
export function readFloats(t: TensorProto): Float32Array {
  if (num(t.dataType) !== DT.FLOAT) throw new EdgefleetError('MODEL_INVALID', `tensor '${t.name}' is not float32`);
  if (num(t.dataLocation) === EXTERNAL) throw new EdgefleetError('QUANTIZE_UNSUPPORTED', `tensor '${t.name}' keeps its data in an external file; only self-contained models can be rewritten`, { details: { tensor: t.name } });
  if (t.rawData?.length) return new Float32Array(copyBytes(t.rawData));
  return Float32Array.from(t.floatData ?? []);
}

/** An int64 tensor's values (raw_data or int64_data). */
export function readInt64s(t: TensorProto): number[] {
  if (t.rawData?.length) return [...new BigInt64Array(copyBytes(t.rawData))].map(Number);
  return (t.int64Data ?? []).map(num);
}

export function floatTensor(name: string, shape: readonly number[], values: Float32Array | readonly number[]): TensorProto {
  return { name, dims: [...shape], dataType: DT.FLOAT, rawData: new Uint8Array(Float32Array.from(values).buffer) };
}

export function int64Tensor(name: string, shape: readonly number[], values: readonly number[]): TensorProto {
  return { name, dims: [...shape], dataType: DT.INT64, rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) };
}

export function int8Tensor(name: string, shape: readonly number[], values: Int8Array): TensorProto {
  return { name, dims: [...shape], dataType: DT.INT8, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

export function uint8Tensor(name: string, shape: readonly number[], values: Uint8Array): TensorProto {
  return { name, dims: [...shape], dataType: DT.UINT8, rawData: values };
}

export function int32Tensor(name: string, shape: readonly number[], values: Int32Array): TensorProto {
  return { name, dims: [...shape], dataType: DT.INT32, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

/**
 * Fresh names that collide with nothing in the graph. `compact` ignores the base and writes short
 * names (`_q1a`): an int8 model holds a few names per weight, and descriptive ones cost more bytes
 * than the small weights they name.
 */
export function nameAllocator(graph: GraphProto, compact = false): (base: string) => string {
  const used = new Set<string>();
  for (const n of graph.node ?? []) {
    if (n.name) used.add(n.name);
    for (const o of n.output ?? []) used.add(o);
  }
  for (const t of graph.initializer ?? []) if (t.name) used.add(t.name);
  for (const v of [...(graph.input ?? []), ...(graph.output ?? [])]) if (v.name) used.add(v.name);
  let counter = 0;
  return (base) => {
    let name = compact ? `_q${(counter++).toString(36)}` : base;
    while (compact && used.has(name)) name = `_q${(counter++).toString(36)}`;
    for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
}

/**
 * Moves `Constant` nodes that hold a tensor into initializers (exporters such as paddle2onnx write
 * every weight as a Constant): afterwards a weight is an initializer wherever it came from.
 */
export function constantsToInitializers(graph: GraphProto & { node: NodeProto[]; initializer: TensorProto[] }): void {
  const kept: NodeProto[] = [];
  for (const node of graph.node) {
    const value = node.opType === 'Constant' && (!node.domain || node.domain === 'ai.onnx') ? attr(node, 'value')?.t : undefined;
    if (value && node.output?.[0] && (node.attribute?.length ?? 0) === 1) {
      graph.initializer.push({ ...value, name: node.output[0] });
    } else {
      kept.push(node);
    }
  }
  graph.node = kept;
}

export function initializerMap(graph: GraphProto): Map<string, TensorProto> {
  return new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
}

/** How many nodes (and graph outputs) read each tensor. */
export function consumerCounts(graph: GraphProto): Map<string, number> {
  const counts = new Map<string, number>();
  for (const n of graph.node ?? []) for (const i of n.input ?? []) if (i) counts.set(i, (counts.get(i) ?? 0) + 1);
  for (const o of graph.output ?? []) if (o.name) counts.set(o.name, (counts.get(o.name) ?? 0) + 1);
  return counts;
}

/** Removes initializers no node or graph output reads any more. */
export function pruneInitializers(graph: GraphProto & { initializer: TensorProto[] }): void {
  const used = consumerCounts(graph);
  graph.initializer = graph.initializer.filter((t) => used.has(t.name ?? ''));
  const names = new Set(graph.initializer.map((t) => t.name));
  // Older exporters list weights as graph inputs too; drop the ones whose weight is gone.
  const initial = new Set((graph.input ?? []).map((i) => i.name));
  graph.input = (graph.input ?? []).filter((i) => names.has(i.name ?? '') || !initial.has(i.name) || used.has(i.name ?? ''));
}

const QUANTIZED_OPS = new Set(['QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear', 'QLinearConv', 'QLinearMatMul', 'MatMulInteger', 'ConvInteger', 'QLinearAdd', 'QLinearMul', 'DynamicQuantizeMatMul', 'MatMulIntegerToFloat']);
const CONTROL_FLOW_OPS = new Set(['If', 'Loop', 'Scan']);

/**
 * What every rewrite refuses up front: a graph that is already quantized or half precision, control
 * flow with subgraphs (not rewritten), operators from custom domains and weights kept outside the file.
 */
export function assertRewritable(graph: GraphProto, mode: string): void {
  for (const node of graph.node ?? []) {
    const op = node.opType ?? '';
    if (QUANTIZED_OPS.has(op)) {
      throw new EdgefleetError('QUANTIZE_ALREADY_QUANTIZED', `the model is already quantized: ${nodeLabel(node)}; quantize the float32 original instead`, { details: { op, node: node.name ?? '' } });
    }
    if (CONTROL_FLOW_OPS.has(op)) {
      throw new EdgefleetError('QUANTIZE_UNSUPPORTED', `${mode} cannot rewrite control flow: ${nodeLabel(node)} has subgraphs`, { details: { op, node: node.name ?? '' } });
    }
    if (node.domain && node.domain !== 'ai.onnx') {
      throw new EdgefleetError('QUANTIZE_UNSUPPORTED', `${mode} supports only standard ONNX operators: ${nodeLabel(node)} is from domain '${node.domain}'`, { details: { op, node: node.name ?? '', domain: node.domain } });
    }
  }
  for (const t of graph.initializer ?? []) {
    if (num(t.dataLocation) === EXTERNAL) {
      throw new EdgefleetError('QUANTIZE_UNSUPPORTED', `weight '${t.name}' keeps its data in an external file; only self-contained models can be rewritten`, { details: { tensor: t.name ?? '' } });
    }
    const type = num(t.dataType);
    if (type === DT.INT8 || type === DT.FLOAT16) {
      const what = type === DT.FLOAT16 ? 'half precision' : 'quantized';
      throw new EdgefleetError('QUANTIZE_ALREADY_QUANTIZED', `the model is already ${what}: weight '${t.name}' is ${(type === DT.INT8 ? 'INT8' : 'FLOAT16')}; start from the float32 original`, { details: { tensor: t.name ?? '' } });
    }
  }
}

/**
 * Renames every tensor but the graph's inputs and outputs to a short name and drops node names and
 * doc strings: in a small int8 model the names are a fifth of the file. The graph means the same.
 */
export function compactNames(graph: GraphProto & { node: NodeProto[]; initializer: TensorProto[] }): void {
  const keep = new Set([...(graph.input ?? []), ...(graph.output ?? [])].map((v) => v.name ?? ''));
  const renamed = new Map<string, string>();
  const rename = (name: string | null | undefined): string => {
    if (!name || keep.has(name)) return name ?? '';
    let short = renamed.get(name);
    if (!short) {
      short = (renamed.size).toString(36);
      while (keep.has(short)) short = `_${short}`;
      renamed.set(name, short);
    }
    return short;
  };
  for (const t of graph.initializer) t.name = rename(t.name);
  for (const n of graph.node) {
    n.input = (n.input ?? []).map((i) => (i ? rename(i) : i));
    n.output = (n.output ?? []).map(rename);
    n.name = '';
    n.docString = '';
  }
  graph.input = (graph.input ?? []).map((v) => ({ ...v, name: rename(v.name) }));
  graph.valueInfo = [];
}
