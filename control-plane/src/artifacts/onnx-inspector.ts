import onnxProto from 'onnx-proto';
import { EdgefleetError, type ModelInspection, type TensorSpec } from '@edgefleet/shared';

const { onnx } = onnxProto;

/** TensorProto.DataType → KServe v2 datatype names (what the agent's API reports). */
const DATATYPES: Record<number, string> = {
  1: 'FP32', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64', 8: 'BYTES',
  9: 'BOOL', 10: 'FP16', 11: 'FP64', 12: 'UINT32', 13: 'UINT64', 16: 'BF16',
};

/** protobufjs gives int64 fields as Long objects; they all fit a JS number here. */
const num = (v: unknown): number => (v === null || v === undefined ? 0 : typeof v === 'number' ? v : Number((v as { toString(): string }).toString()));

function tensorSpec(info: onnxProto.onnx.IValueInfoProto): TensorSpec {
  const tensor = info.type?.tensorType;
  return {
    name: info.name ?? '',
    datatype: tensor ? (DATATYPES[num(tensor.elemType)] ?? `ONNX_${num(tensor.elemType)}`) : 'UNKNOWN',
    // A symbolic or missing dimension is variable: -1, as KServe v2 writes it.
    shape: (tensor?.shape?.dim ?? []).map((d) => (d.dimValue !== null && d.dimValue !== undefined && num(d.dimValue) > 0 ? num(d.dimValue) : -1)),
  };
}

/**
 * Reads what a model needs and offers from its ONNX graph. Throws MODEL_INVALID for anything that
 * does not decode as a ModelProto with a graph, an IR version, an opset import and at least one node
 * (protobuf happily decodes some garbage into an empty message).
 */
export function inspectOnnx(bytes: Uint8Array): ModelInspection {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw new EdgefleetError('MODEL_INVALID', `not an ONNX model: ${(cause as Error).message}`, { cause });
  }
  const graph = model.graph;
  const irVersion = num(model.irVersion);
  if (!graph || irVersion <= 0 || !model.opsetImport?.length || !graph.node?.length || !graph.output?.length) {
    throw new EdgefleetError('MODEL_INVALID', 'not an ONNX model: no graph, IR version, opset import, node or output');
  }
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const metadata: Record<string, string> = {};
  for (const p of model.metadataProps ?? []) if (p.key) metadata[p.key] = p.value ?? '';
  return {
    format: 'onnx',
    irVersion,
    opsets: model.opsetImport.map((o) => ({ domain: o.domain || 'ai.onnx', version: num(o.version) })),
    producer: { name: model.producerName ?? '', version: model.producerVersion ?? '' },
    // Older exporters list initializers as graph inputs too; they are weights, not inputs.
    inputs: (graph.input ?? []).filter((i) => !initializers.has(i.name ?? '')).map(tensorSpec),
    outputs: graph.output.map(tensorSpec),
    opTypes: [...new Set(graph.node.map((n) => n.opType ?? ''))].sort(),
    customOps: [],
    nodeCount: graph.node.length,
    initializerCount: graph.initializer?.length ?? 0,
    metadata,
  };
}
