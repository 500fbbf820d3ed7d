import { EdgefleetError } from '@edgefleet/shared';
import {
  attrFloat,
  attrInt,
  attrInts,
  defaultOpset,
  dropAttr,
  floatTensor,
  graphOf,
  int64Tensor,
  intAttr,
  nameAllocator,
  nodeLabel,
  setDefaultOpset,
  type ModelProto,
  type NodeProto,
} from './onnx-graph.js';

/** The opset the int8 rewrites write: per-channel QuantizeLinear/DequantizeLinear (`axis`) need 13. */
export const QUANTIZED_OPSET = 13;
/** Older graphs predate the broadcasting and BatchNormalization forms the table below assumes. */
export const OLDEST_UPGRADABLE_OPSET = 9;

/**
 * Operators whose inference meaning is the same from opset 9 to 13 (checked against the ONNX
 * operator changelog: later versions only added types or optional attributes with the old default).
 */
const UNCHANGED = new Set([
  'Abs', 'Acos', 'Add', 'And', 'ArgMax', 'ArgMin', 'Asin', 'Atan', 'AveragePool', 'BatchNormalization', 'Cast', 'Ceil', 'Concat', 'Constant',
  'ConstantOfShape', 'Conv', 'ConvTranspose', 'Cos', 'DepthToSpace', 'Div', 'Elu', 'Equal', 'Erf', 'Exp', 'Expand', 'Flatten', 'Floor', 'Gather',
  'Gemm', 'GlobalAveragePool', 'GlobalMaxPool', 'Greater', 'HardSigmoid', 'Identity', 'InstanceNormalization', 'LRN', 'LeakyRelu', 'Less', 'Log',
  'MatMul', 'Max', 'MaxPool', 'Mean', 'Min', 'Mul', 'Neg', 'NonZero', 'Not', 'Or', 'PRelu', 'Pow', 'Reciprocal', 'ReduceL2', 'ReduceMax', 'ReduceMean',
  'ReduceMin', 'ReduceProd', 'Relu', 'Reshape', 'Selu', 'Shape', 'Sigmoid', 'Sign', 'Sin', 'Size', 'Softplus', 'Softsign', 'SpaceToDepth', 'Sqrt',
  'Sub', 'Sum', 'Tanh', 'Tile', 'Transpose', 'Where',
]);

/** Operators unchanged for inference from the given opset to 13 (older forms have no rule). */
const UNCHANGED_SINCE: Record<string, number> = { Resize: 11, ScatterElements: 11, GatherND: 12, Einsum: 12, CumSum: 11, Round: 11, NonMaxSuppression: 11, Range: 11 };

/**
 * Brings a default-domain graph to opset 13 in place, rewriting the operators whose inputs moved
 * from attributes to tensors (Clip 11, Slice 10, Pad 11, TopK 10, Squeeze/Unsqueeze/Split/ReduceSum 13)
 * and the ones whose meaning changed (Softmax family 13: was "flatten at axis"). Anything it has no
 * rule for is refused by name — never a graph that silently means something else.
 */
export function upgradeToOpset13(model: ModelProto): void {
  const from = defaultOpset(model);
  if (from >= QUANTIZED_OPSET) return;
  if (from < OLDEST_UPGRADABLE_OPSET) {
    throw new EdgefleetError('QUANTIZE_OPSET_UNSUPPORTED', `opset ${from} is too old to quantize (${OLDEST_UPGRADABLE_OPSET} or newer is upgraded to ${QUANTIZED_OPSET}); re-export the model at opset ${QUANTIZED_OPSET}`, { details: { opset: from } });
  }
  const graph = graphOf(model);
  const fresh = nameAllocator(graph);
  const out: NodeProto[] = [];
  const constInput = (base: string, values: number[]): string => {
    const name = fresh(base);
    graph.initializer.push(int64Tensor(name, [values.length], values));
    return name;
  };
  const refuse = (node: NodeProto, why: string): never => {
    throw new EdgefleetError('QUANTIZE_OPSET_UNSUPPORTED', `cannot upgrade opset ${from} to ${QUANTIZED_OPSET}: ${nodeLabel(node)} ${why}; re-export the model at opset ${QUANTIZED_OPSET}`, { details: { op: node.opType ?? '', node: node.name ?? '', opset: from } });
  };
  for (const node of graph.node) {
    const op = node.opType ?? '';
    const base = node.name || node.output?.[0] || op;
    const inputs = node.input ?? [];
    switch (op) {
      case 'Clip': {
        if (from >= 11) break;
        const min = attrFloat(node, 'min', -3.4028234663852886e38);
        const max = attrFloat(node, 'max', 3.4028234663852886e38);
        const minName = fresh(`${base}_min`);
        const maxName = fresh(`${base}_max`);
        graph.initializer.push(floatTensor(minName, [], [min]), floatTensor(maxName, [], [max]));
        dropAttr(node, 'min');
        dropAttr(node, 'max');
        node.input = [inputs[0] ?? '', minName, maxName];
        break;
      }
      case 'Slice': {
        if (from >= 10) break;
        const starts = attrInts(node, 'starts') ?? refuse(node, 'has no starts');
        const ends = attrInts(node, 'ends') ?? refuse(node, 'has no ends');
        const axes = attrInts(node, 'axes');
        for (const a of ['starts', 'ends', 'axes']) dropAttr(node, a);
        node.input = [inputs[0] ?? '', constInput(`${base}_starts`, starts), constInput(`${base}_ends`, ends), ...(axes ? [constInput(`${base}_axes`, axes)] : [])];
        break;
      }
      case 'Pad': {
        if (from >= 11) break;
        const pads = attrInts(node, 'pads') ?? refuse(node, 'has no pads');
        const value = attrFloat(node, 'value', 0);
        const valueName = fresh(`${base}_value`);
        graph.initializer.push(floatTensor(valueName, [], [value]));
        dropAttr(node, 'pads');
        dropAttr(node, 'value');
        node.input = [inputs[0] ?? '', constInput(`${base}_pads`, pads), valueName];
        break;
      }
      case 'TopK': {
        if (from >= 10) break;
        const k = attrInt(node, 'k', -1);
        if (k < 0) refuse(node, 'has no k');
        dropAttr(node, 'k');
        node.input = [inputs[0] ?? '', constInput(`${base}_k`, [k])];
        break;
      }
      case 'Squeeze':
      case 'Unsqueeze':
      case 'ReduceSum': {
        const axes = attrInts(node, 'axes');
        dropAttr(node, 'axes');
        if (axes) node.input = [inputs[0] ?? '', constInput(`${base}_axes`, axes)];
        break;
      }
      case 'Split': {
        const split = attrInts(node, 'split');
        dropAttr(node, 'split');
        if (split) node.input = [inputs[0] ?? '', constInput(`${base}_split`, split)];
        break;
      }
      case 'Dropout': {
        // Inference only: Dropout is the identity; its mask output has no meaning here.
        if ((node.output ?? []).length > 1 && node.output?.[1]) refuse(node, 'uses its mask output');
        node.opType = 'Identity';
        node.attribute = [];
        node.input = [inputs[0] ?? ''];
        break;
      }
      case 'Softmax':
      case 'LogSoftmax':
      case 'Hardmax': {
        // Before 13: softmax over the 2-D view [prod(dims < axis), prod(dims ≥ axis)]. The same in
        // opset 13 terms: Flatten(axis) → op(axis = -1) → Reshape(Shape(x)).
        const axis = attrInt(node, 'axis', 1);
        const x = inputs[0] ?? '';
        const flat = fresh(`${base}_flat`);
        const shape = fresh(`${base}_shape`);
        const y = fresh(`${base}_2d`);
        out.push({ name: fresh(`${base}_flatten`), opType: 'Flatten', input: [x], output: [flat], attribute: [intAttr('axis', axis)] });
        out.push({ name: fresh(`${base}_shapeof`), opType: 'Shape', input: [x], output: [shape] });
        out.push({ ...node, input: [flat], output: [y], attribute: [intAttr('axis', -1)] });
        out.push({ name: fresh(`${base}_reshape`), opType: 'Reshape', input: [y, shape], output: [node.output?.[0] ?? ''] });
        continue;
      }
      default:
        if (!UNCHANGED.has(op) && !(from >= (UNCHANGED_SINCE[op] ?? Infinity))) refuse(node, `has no upgrade rule (its meaning changed after opset ${from}, or it is not a supported vision/linear operator)`);
    }
    out.push(node);
  }
  graph.node = out;
  setDefaultOpset(model, QUANTIZED_OPSET);
}
