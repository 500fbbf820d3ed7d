import { DT, attr, num, type GraphProto } from './onnx-graph.js';

const INT64_OUT = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero', 'NonMaxSuppression']);
const BOOL_OUT = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);

/**
 * The element type of every tensor in the graph, from graph inputs, initializers and a table of
 * the operators whose output type is not their first input's (Cast, Shape, comparisons, …). ONNX
 * lists nodes in topological order, so one pass suffices. Unknown stays absent.
 */
export function inferElemTypes(graph: GraphProto): Map<string, number> {
  const types = new Map<string, number>();
  for (const v of graph.input ?? []) {
    const t = v.type?.tensorType?.elemType;
    if (v.name && t) types.set(v.name, num(t));
  }
  for (const t of graph.initializer ?? []) if (t.name) types.set(t.name, num(t.dataType));
  for (const node of graph.node ?? []) {
    const op = node.opType ?? '';
    const outs = node.output ?? [];
    const first = (node.input ?? []).map((i) => types.get(i)).find((t) => t !== undefined);
    let out: (number | undefined)[];
    if (op === 'Cast') out = [num(attr(node, 'to')?.i)];
    else if (INT64_OUT.has(op)) out = [DT.INT64];
    else if (BOOL_OUT.has(op)) out = [DT.BOOL];
    else if (op === 'TopK') out = [first, DT.INT64];
    else if (op === 'Where') out = [types.get(node.input?.[1] ?? '')];
    else if (op === 'Constant') out = [num(attr(node, 'value')?.t?.dataType) || DT.FLOAT];
    else if (op === 'ConstantOfShape') out = [num(attr(node, 'value')?.t?.dataType) || DT.FLOAT];
    else if (op === 'DynamicQuantizeLinear') out = [DT.UINT8, DT.FLOAT, DT.UINT8];
    else if (op === 'QuantizeLinear') out = [types.get(node.input?.[2] ?? '') ?? DT.UINT8];
    else if (op === 'DequantizeLinear') out = [DT.FLOAT];
    else if (op === 'MatMulInteger' || op === 'ConvInteger') out = [DT.INT32];
    else if (op === 'BatchNormalization' || op === 'Dropout') out = [first, op === 'Dropout' ? DT.BOOL : first, first];
    else out = outs.map(() => first);
    outs.forEach((name, i) => {
      const t = out[i] ?? (i === 0 ? undefined : out[0]);
      if (name && t) types.set(name, t);
    });
  }
  return types;
}
