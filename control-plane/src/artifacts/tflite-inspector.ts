import { ByteBuffer } from 'flatbuffers';
import { EdgefleetError, TFLITE_FILE_IDENTIFIER, modelFormatOf, type ModelInspection, type TensorSpec } from '@edgefleet/shared';
import { LITERT_CUSTOM_OPS, TFLITE_BUILTIN_OPS, TFLITE_CUSTOM_OPCODE, TFLITE_DATATYPES } from './tflite-ops.js';

export const looksLikeTflite = (bytes: Uint8Array): boolean => modelFormatOf(bytes) === 'tflite';

const invalid = (message: string): EdgefleetError => new EdgefleetError('MODEL_INVALID', `not a valid TFLite model: ${message}`);

/**
 * Bounds-checked reads of a flatbuffer's tables, vectors and strings (the flatbuffers package's
 * ByteBuffer does none): a corrupt or hostile file is a MODEL_INVALID naming what lies outside it,
 * never a read past the end or a loop over a forged billion-entry vector.
 */
function flatReader(bytes: Uint8Array) {
  const bb = new ByteBuffer(bytes);
  const size = bytes.length;
  const within = (pos: number, len: number, what: string): void => {
    if (!Number.isInteger(pos) || pos < 0 || len < 0 || pos + len > size) throw invalid(`${what} lies outside the file (${pos}+${len} > ${size} bytes)`);
  };
  /** The absolute position of table field `id`, or undefined when absent. */
  const field = (table: number, id: number, what: string): number | undefined => {
    within(table, 4, what);
    const vtable = table - bb.readInt32(table);
    within(vtable, 4, `${what}'s vtable`);
    const vtableSize = bb.readUint16(vtable);
    within(vtable, vtableSize, `${what}'s vtable`);
    const slot = 4 + 2 * id;
    if (slot + 2 > vtableSize) return undefined;
    const offset = bb.readUint16(vtable + slot);
    return offset === 0 ? undefined : table + offset;
  };
  const deref = (pos: number, what: string): number => {
    within(pos, 4, what);
    return pos + bb.readUint32(pos);
  };
  const vector = (table: number, id: number, elementBytes: number, what: string, max = 10_000_000): { start: number; length: number } | undefined => {
    const at = field(table, id, what);
    if (at === undefined) return undefined;
    const vec = deref(at, what);
    within(vec, 4, what);
    const length = bb.readUint32(vec);
    if (length > max) throw invalid(`${what} has ${length} entries`);
    within(vec + 4, length * elementBytes, what);
    return { start: vec + 4, length };
  };
  return {
    root: (): number => deref(0, 'the root table'),
    uint32: (table: number, id: number, fallback: number, what: string): number => {
      const at = field(table, id, what);
      if (at === undefined) return fallback;
      within(at, 4, what);
      return bb.readUint32(at);
    },
    int32: (table: number, id: number, fallback: number, what: string): number => {
      const at = field(table, id, what);
      if (at === undefined) return fallback;
      within(at, 4, what);
      return bb.readInt32(at);
    },
    int8: (table: number, id: number, fallback: number, what: string): number => {
      const at = field(table, id, what);
      if (at === undefined) return fallback;
      within(at, 1, what);
      return bb.readInt8(at);
    },
    string: (table: number, id: number, what: string): string | undefined => {
      const v = vector(table, id, 1, what, 1 << 20);
      return v ? Buffer.from(bytes.buffer, bytes.byteOffset + v.start, v.length).toString('utf8') : undefined;
    },
    tables: (table: number, id: number, what: string): number[] => {
      const v = vector(table, id, 4, what);
      return v ? Array.from({ length: v.length }, (_, i) => deref(v.start + 4 * i, `${what}[${i}]`)) : [];
    },
    ints: (table: number, id: number, what: string): number[] | undefined => {
      const v = vector(table, id, 4, what, 1 << 20);
      return v ? Array.from({ length: v.length }, (_, i) => bb.readInt32(v.start + 4 * i)) : undefined;
    },
    byteLength: (table: number, id: number, what: string): number => vector(table, id, 1, what)?.length ?? 0,
    uint64: (table: number, id: number, what: string): bigint => {
      const at = field(table, id, what);
      if (at === undefined) return 0n;
      within(at, 8, what);
      return bb.readUint64(at);
    },
  };
}

// Field ids in tensorflow/lite/schema/schema.fbs (the wire format is the fact that matters).
const MODEL = { version: 0, operatorCodes: 1, subgraphs: 2, description: 3, buffers: 4, metadata: 6 } as const;
const OPERATOR_CODE = { deprecatedBuiltinCode: 0, customCode: 1, version: 2, builtinCode: 3 } as const;
const SUBGRAPH = { tensors: 0, inputs: 1, outputs: 2, operators: 3 } as const;
const TENSOR = { shape: 0, type: 1, buffer: 2, name: 3, shapeSignature: 7 } as const;
const OPERATOR = { opcodeIndex: 0 } as const;
const METADATA = { name: 0, buffer: 1 } as const;
const BUFFER = { data: 0, offset: 1, size: 2 } as const;

/**
 * What a .tflite model needs and offers, read from its flatbuffer with the flatbuffers package:
 * the first subgraph's inputs and outputs (dtypes and shapes as the model declares them — vision
 * models are NHWC, and the API serves them so), the operator set, custom ops, metadata. Refuses a
 * file that is not a TFLite flatbuffer (MODEL_INVALID) and one whose operators the device runtime
 * cannot run (MODEL_OP_UNSUPPORTED, naming each).
 */
export function inspectTflite(bytes: Uint8Array): ModelInspection {
  if (!looksLikeTflite(bytes)) {
    const id = bytes.length >= 8 ? JSON.stringify(Buffer.from(bytes.subarray(4, 8)).toString('latin1')) : 'missing';
    throw invalid(`file identifier is ${id}, not "${TFLITE_FILE_IDENTIFIER}"`);
  }
  const r = flatReader(bytes);
  const model = r.root();
  const schemaVersion = r.uint32(model, MODEL.version, 0, 'Model.version');
  if (schemaVersion !== 3) throw invalid(`schema version ${schemaVersion}; LiteRT reads version 3`);

  const opNames = r.tables(model, MODEL.operatorCodes, 'Model.operator_codes').map((code, i) => {
    const what = `operator_codes[${i}]`;
    // Codes below 127 may sit only in the deprecated byte field (older converters).
    const builtin = Math.max(r.int8(code, OPERATOR_CODE.deprecatedBuiltinCode, 0, what), r.int32(code, OPERATOR_CODE.builtinCode, 0, what));
    if (builtin === TFLITE_CUSTOM_OPCODE) return { name: r.string(code, OPERATOR_CODE.customCode, what) ?? '', custom: true };
    return { name: TFLITE_BUILTIN_OPS[builtin] ?? `BUILTIN_${builtin}`, custom: false };
  });

  const subgraphs = r.tables(model, MODEL.subgraphs, 'Model.subgraphs');
  if (!subgraphs.length) throw invalid('it has no subgraph');
  const buffers = r.tables(model, MODEL.buffers, 'Model.buffers');
  let nodeCount = 0;
  let initializerCount = 0;
  const used = new Set<number>();
  for (const [s, subgraph] of subgraphs.entries()) {
    for (const [o, op] of r.tables(subgraph, SUBGRAPH.operators, `subgraphs[${s}].operators`).entries()) {
      const index = r.uint32(op, OPERATOR.opcodeIndex, 0, `subgraphs[${s}].operators[${o}]`);
      if (index >= opNames.length) throw invalid(`subgraphs[${s}].operators[${o}] names operator code ${index} of ${opNames.length}`);
      used.add(index);
      nodeCount++;
    }
    for (const [t, tensor] of r.tables(subgraph, SUBGRAPH.tensors, `subgraphs[${s}].tensors`).entries()) {
      const b = r.uint32(tensor, TENSOR.buffer, 0, `subgraphs[${s}].tensors[${t}]`);
      // Buffer 0 is the always-empty one; weights are in data or, for large files, at an offset past the flatbuffer.
      if (b > 0 && b < buffers.length && (r.byteLength(buffers[b]!, BUFFER.data, `buffers[${b}]`) > 0 || r.uint64(buffers[b]!, BUFFER.offset, `buffers[${b}]`) > 1n)) initializerCount++;
    }
  }

  const main = subgraphs[0]!;
  const tensors = r.tables(main, SUBGRAPH.tensors, 'subgraphs[0].tensors');
  const spec = (index: number, role: string): TensorSpec => {
    const tensor = tensors[index];
    if (tensor === undefined) throw invalid(`subgraph 0 ${role} names tensor ${index} of ${tensors.length}`);
    const what = `tensor ${index}`;
    const type = r.int8(tensor, TENSOR.type, 0, what);
    const shape = r.ints(tensor, TENSOR.shapeSignature, what) ?? r.ints(tensor, TENSOR.shape, what) ?? [];
    return { name: r.string(tensor, TENSOR.name, what) ?? `${role}_${index}`, datatype: TFLITE_DATATYPES[type] ?? `TFLITE_${type}`, shape: shape.map((d) => (d > 0 ? d : -1)) };
  };
  const inputs = (r.ints(main, SUBGRAPH.inputs, 'subgraphs[0].inputs') ?? []).map((i) => spec(i, 'input'));
  const outputs = (r.ints(main, SUBGRAPH.outputs, 'subgraphs[0].outputs') ?? []).map((i) => spec(i, 'output'));
  if (!outputs.length) throw invalid('subgraph 0 has no output');

  const usedOps = [...used].map((i) => opNames[i]!);
  const customOps = [...new Set(usedOps.filter((o) => o.custom).map((o) => o.name))].sort();
  const flex = customOps.filter((c) => c.startsWith('Flex'));
  if (flex.length) throw new EdgefleetError('MODEL_OP_UNSUPPORTED', `the model needs TensorFlow Select ops (${flex.join(', ')}), which the device's LiteRT runtime does not include; convert without SELECT_TF_OPS`);
  const unknown = customOps.filter((c) => !LITERT_CUSTOM_OPS.has(c));
  if (unknown.length) throw new EdgefleetError('MODEL_OP_UNSUPPORTED', `the model uses custom op${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}, which the device's LiteRT runtime has no kernel for (it has: ${[...LITERT_CUSTOM_OPS].join(', ')})`);

  const metadata: Record<string, string> = {};
  for (const [i, m] of r.tables(model, MODEL.metadata, 'Model.metadata').entries()) {
    const name = r.string(m, METADATA.name, `metadata[${i}]`);
    if (!name) continue;
    const b = r.uint32(m, METADATA.buffer, 0, `metadata[${i}]`);
    const length = b < buffers.length ? r.byteLength(buffers[b]!, BUFFER.data, `buffers[${b}]`) : 0;
    metadata[name] = `${length} bytes`;
  }
  const description = r.string(model, MODEL.description, 'Model.description') ?? '';
  return {
    format: 'tflite',
    irVersion: schemaVersion,
    opsets: [{ domain: 'tflite', version: schemaVersion }],
    producer: { name: description, version: '' },
    inputs,
    outputs,
    opTypes: [...new Set(usedOps.map((o) => o.name))].sort(),
    customOps,
    nodeCount,
    initializerCount,
    metadata,
  };
}
