import { EdgefleetError } from '@edgefleet/shared';
import { inferElemTypes } from './elem-types.js';
import { foldBatchNorms } from './fold-batch-norm.js';
import { toFloat16Array } from './float16.js';
import {
  DT,
  assertRewritable,
  attr,
  compactNames,
  constantsToInitializers,
  decodeModel,
  encodeModel,
  graphOf,
  intAttr,
  nameAllocator,
  num,
  pruneInitializers,
  readFloats,
  type NodeProto,
} from './onnx-graph.js';
import type { RewriteReport } from './dynamic-int8.js';

/**
 * Ops left in float32 (with Casts around them): no float16 definition, integer/index outputs that
 * depend on exact float comparisons, or known precision loss. The same list onnxconverter-common's
 * float16 converter keeps (DEFAULT_OP_BLOCK_LIST), plus the random generators.
 */
export const FP16_KEEP_FLOAT32 = new Set([
  'ArrayFeatureExtractor', 'Binarizer', 'CastMap', 'CategoryMapper', 'DictVectorizer', 'FeatureVectorizer', 'Imputer', 'LabelEncoder',
  'LinearClassifier', 'LinearRegressor', 'Normalizer', 'OneHotEncoder', 'RandomUniformLike', 'SVMClassifier', 'SVMRegressor', 'Scaler',
  'TreeEnsembleClassifier', 'TreeEnsembleRegressor', 'ZipMap', 'NonMaxSuppression', 'TopK', 'RoiAlign', 'Resize', 'Range', 'CumSum', 'Min',
  'Max', 'Upsample', 'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'EyeLike',
  // Measured: the PP-OCRv4 detector's BatchNormalization after ConvTranspose (inputs up to ±16,000)
  // in float16 took its output cosine vs float32 to 0.860; in float32, 0.99999.
  'BatchNormalization',
]);

/**
 * FP16: BatchNormalization folded into the Conv before it, float32 weights and activations become float16, the graph's float32 inputs and outputs stay
 * float32 (a Cast at each edge), and the ops above stay float32 behind Casts. The opset is kept.
 */
export function convertToFp16(input: Uint8Array): RewriteReport {
  const model = decodeModel(input);
  const graph = graphOf(model);
  constantsToInitializers(graph);
  assertRewritable(graph, 'FP16');
  // A BatchNormalization after a Conv joins the Conv (in float32, before rounding to float16).
  foldBatchNorms(model);
  const types = inferElemTypes(graph);
  const isFloat = (t: string): boolean => Boolean(t) && types.get(t) === DT.FLOAT;
  const fresh = nameAllocator(graph, true);
  const graphInputs = new Set((graph.input ?? []).map((i) => i.name ?? ''));
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const keeps = (n: NodeProto): boolean => FP16_KEEP_FLOAT32.has(n.opType ?? '');

  // Where each float tensor lives after the rewrite: 'half' or 'float'.
  const home = new Map<string, 'half' | 'float'>();
  for (const i of graphInputs) if (isFloat(i)) home.set(i, 'float');
  // An initializer becomes float16 unless only float32 nodes read it.
  const halfReaders = new Map<string, boolean>();
  for (const n of graph.node) for (const i of n.input ?? []) if (i && !keeps(n)) halfReaders.set(i, true);
  let converted = 0;
  for (const t of graph.initializer) {
    if (num(t.dataType) !== DT.FLOAT || !halfReaders.get(t.name ?? '')) continue;
    const bits = toFloat16Array(readFloats(t));
    t.dataType = DT.FLOAT16;
    t.rawData = new Uint8Array(bits.buffer);
    t.floatData = [];
    home.set(t.name ?? '', 'half');
    converted++;
  }
  for (const t of graph.initializer) if (num(t.dataType) === DT.FLOAT) home.set(t.name ?? '', 'float');

  const casts = new Map<string, string>();
  const out: NodeProto[] = [];
  const castTo = (t: string, want: 'half' | 'float'): string => {
    const key = `${t}\u0000${want}`;
    let name = casts.get(key);
    if (!name) {
      name = fresh(`${t}_${want}`);
      out.push({ name: '', opType: 'Cast', input: [t], output: [name], attribute: [intAttr('to', want === 'half' ? DT.FLOAT16 : DT.FLOAT)] });
      casts.set(key, name);
    }
    return name;
  };
  const rewritten: Record<string, number> = {};
  for (const node of graph.node) {
    const want: 'half' | 'float' = keeps(node) ? 'float' : 'half';
    node.input = (node.input ?? []).map((t) => {
      const h = home.get(t);
      return h && h !== want ? castTo(t, want) : t;
    });
    if (want === 'half') {
      // Ops that name a float type in an attribute make float16 instead.
      if (node.opType === 'Cast' && num(attr(node, 'to')?.i) === DT.FLOAT) attr(node, 'to')!.i = DT.FLOAT16;
      const value = node.opType === 'ConstantOfShape' ? attr(node, 'value')?.t : undefined;
      if (value && num(value.dataType) === DT.FLOAT) {
        value.rawData = new Uint8Array(toFloat16Array(readFloats(value)).buffer);
        value.floatData = [];
        value.dataType = DT.FLOAT16;
      }
      rewritten[node.opType ?? ''] = (rewritten[node.opType ?? ''] ?? 0) + 1;
    }
    out.push(node);
    for (const o of node.output ?? []) if (isFloat(o)) home.set(o, want);
  }
  // Graph outputs stay float32: the half producer writes a new name, a Cast writes the output's name.
  for (const o of graphOutputs) {
    if (home.get(o) !== 'half') continue;
    const halfName = fresh(`${o}_half`);
    for (const n of out) {
      n.output = (n.output ?? []).map((t) => (t === o ? halfName : t));
      n.input = (n.input ?? []).map((t) => (t === o ? halfName : t));
    }
    for (const [key, value] of casts) if (value === o) casts.delete(key);
    out.push({ name: '', opType: 'Cast', input: [halfName], output: [o], attribute: [intAttr('to', DT.FLOAT)] });
  }
  if (!converted && !Object.keys(rewritten).length) {
    throw new EdgefleetError('QUANTIZE_UNSUPPORTED', 'FP16 found nothing to convert: no float32 weights or float32 operators', { details: {} });
  }
  graph.node = out;
  pruneInitializers(graph);
  compactNames(graph);
  return { bytes: encodeModel(model), rewritten, skipped: [] };
}
