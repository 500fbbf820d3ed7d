import { EdgefleetError } from '@edgefleet/shared';
import { calibrate, type CalibrationMethod, type Feeds, type TensorRange } from './calibrate.js';
import { inferElemTypes } from './elem-types.js';
import { foldBatchNorms } from './fold-batch-norm.js';
import {
  DT,
  assertRewritable,
  constantsToInitializers,
  consumerCounts,
  decodeModel,
  dims,
  encodeModel,
  floatTensor,
  graphOf,
  initializerMap,
  int32Tensor,
  int8Tensor,
  intAttr,
  nameAllocator,
  num,
  compactNames,
  pruneInitializers,
  readFloats,
  uint8Tensor,
  type NodeProto,
  type TensorProto,
} from './onnx-graph.js';
import { upgradeToOpset13 } from './opset-upgrade.js';
import { int8SymmetricParams, quantizeInt8, quantizePerChannel, quantizeUint8, uint8Params, type QuantParams } from './quant-math.js';
import type { RewriteReport } from './dynamic-int8.js';

/** Ops with a weight: their float32 weight becomes int8 behind a DequantizeLinear. */
const WEIGHTED = new Set(['Conv', 'MatMul', 'Gemm']);
/**
 * Which input slots carry activations to quantize, per op. Conv/MatMul/Gemm/Add/Mul are the
 * arithmetic onnxruntime's CPU EP fuses into QLinear kernels; the rest are the ops between them that
 * can stay quantized (fused, or dropped when their Q/DQ pairs share one scale).
 */
const ACTIVATION_SLOTS: Record<string, number[] | 'all'> = {
  Conv: [0], ConvTranspose: [0], MatMul: [0, 1], Gemm: [0], Add: [0, 1], Mul: [0, 1],
  Relu: [0], Clip: [0], LeakyRelu: [0], Sigmoid: [0], MaxPool: [0], AveragePool: [0], GlobalAveragePool: [0], Concat: 'all', Resize: [0],
  Reshape: [0], Transpose: [0], Flatten: [0], Squeeze: [0], Unsqueeze: [0],
};
const ARITHMETIC = new Set(['Conv', 'ConvTranspose', 'MatMul', 'Gemm', 'Add', 'Mul']);
/** Data-movement ops: their output keeps the input's scale so onnxruntime can drop the Q/DQ around them. */
const SAME_SCALE = new Set(['MaxPool', 'Reshape', 'Transpose', 'Flatten', 'Squeeze', 'Unsqueeze', 'Resize']);

export interface StaticInt8Options {
  /** Calibration samples. */
  samples: readonly Feeds[];
  /** @default { method: 'minmax' } */
  calibration?: CalibrationMethod;
  /**
   * 7-bit weights: measured necessary on this AVX2 machine (no VNNI), where full-range u8×s8 products
   * saturate (a 2-layer MLP erred by 13% of its range, 0.2% with 7 bits); see quant-math.ts.
   * @default true
   */
  reduceRange?: boolean;
  /** Only these op types are quantized (others stay float32 behind DQ). @default every op in ACTIVATION_SLOTS */
  ops?: readonly string[];
  /** Nodes (by name) left in float32, like onnxruntime's nodes_to_exclude. @default [] */
  excludeNodes?: readonly string[];
  /** Short tensor names (smaller file); off keeps the original names, for debugging. @default true */
  compactNames?: boolean;
}

export interface StaticRewriteReport extends RewriteReport {
  /** Activation tensors given a calibrated Q/DQ pair. */
  quantizedTensors: number;
  samples: number;
}

/**
 * Static INT8 in QDQ form: BatchNormalization folded into Conv, activation ranges calibrated
 * (MinMax) on the samples, a QuantizeLinear → DequantizeLinear pair (uint8, asymmetric) on every
 * activation of the ops above, weights int8 symmetric (per output channel for Conv), biases int32 at
 * activation scale × weight scale. onnxruntime's CPU EP turns the DQ → op → Q groups into QLinearConv,
 * QLinearMatMul, QLinearAdd, … at session creation (its QDQ transformers).
 */
export async function quantizeStaticInt8(input: Uint8Array, options: StaticInt8Options): Promise<StaticRewriteReport> {
  const model = decodeModel(input);
  const graph = graphOf(model);
  constantsToInitializers(graph);
  assertRewritable(graph, 'static INT8');
  upgradeToOpset13(model);
  foldBatchNorms(model);
  divisionsToMultiplications(graph);
  const inits = initializerMap(graph);
  const types = inferElemTypes(graph);
  const allowed = new Set(options.ops ?? Object.keys(ACTIVATION_SLOTS));
  const excluded = new Set(options.excludeNodes ?? []);
  const slotsOf = (node: NodeProto): number[] | 'all' | undefined => (allowed.has(node.opType ?? '') && !excluded.has(node.name ?? '') ? ACTIVATION_SLOTS[node.opType ?? ''] : undefined);
  const isActivation = (t: string): boolean => Boolean(t) && !inits.has(t) && types.get(t) === DT.FLOAT;

  if (!graph.node.some((n) => WEIGHTED.has(n.opType ?? '') && inits.has(n.input?.[1] ?? ''))) {
    throw new EdgefleetError('QUANTIZE_UNSUPPORTED', 'static INT8 found nothing to quantize: no Conv, MatMul or Gemm node with constant weights', { details: {} });
  }

  // The activations to quantize: everything the arithmetic ops read or write, and what the ops
  // between them read and write where their input already is quantized (walking in topological
  // order). A Softmax or a float-only op after a quantized tensor reads its DQ output, and nothing
  // new is quantized behind it.
  const wanted = new Set<string>();
  for (const node of graph.node) {
    const op = node.opType ?? '';
    const slots = slotsOf(node);
    if (!slots) continue;
    const inputs = node.input ?? [];
    const acts = (slots === 'all' ? inputs : slots.map((s) => inputs[s] ?? '')).filter(isActivation);
    if (!ARITHMETIC.has(op) && !acts.some((t) => wanted.has(t))) continue;
    acts.forEach((t) => wanted.add(t));
    (node.output ?? []).filter(isActivation).forEach((t) => wanted.add(t));
  }
  const ranges = await calibrate(model, [...wanted], options.samples, options.calibration);
  const params = new Map<string, QuantParams>();
  for (const [name, r] of ranges) if (Number.isFinite(r.min) && Number.isFinite(r.max)) params.set(name, uint8Params(r.min, r.max));
  // A Relu/Clip that is its producer's only reader is folded into the producer's range (as
  // onnxruntime's quantizer does): the Q clamps, onnxruntime drops the activation and the requantize.
  const readers = consumerCounts(graph);
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name));
  for (const node of graph.node) {
    const x = node.input?.[0];
    const y = node.output?.[0];
    if ((node.opType === 'Relu' || node.opType === 'Clip') && x && y && params.has(y) && readers.get(x) === 1 && !graphOutputs.has(x)) params.set(x, params.get(y)!);
  }
  // Data movement keeps one scale end to end (walking in topological order).
  for (const node of graph.node) {
    const x = node.input?.[0];
    const y = node.output?.[0];
    if (SAME_SCALE.has(node.opType ?? '') && x && y && params.has(x) && params.has(y)) params.set(y, params.get(x)!);
  }

  const fresh = nameAllocator(graph, true);
  const reduceRange = options.reduceRange ?? true;
  const rewritten: Record<string, number> = {};
  const skipped: RewriteReport['skipped'] = [];
  const dequantized = new Map<string, string>();
  const qdq: NodeProto[] = [];
  const addInit = (t: TensorProto): string => {
    graph.initializer.push(t);
    return t.name ?? '';
  };
  /** Q → DQ of an activation (once per tensor); consumers read the DQ output. */
  const activationDq = (t: string): string | undefined => {
    const p = params.get(t);
    if (!p) return undefined;
    let dq = dequantized.get(t);
    if (!dq) {
      const scale = addInit(floatTensor(fresh(`${t}_scale`), [], [p.scale]));
      const zp = addInit(uint8Tensor(fresh(`${t}_zero_point`), [], Uint8Array.of(p.zeroPoint)));
      const q = fresh(`${t}_quantized`);
      dq = fresh(`${t}_dequantized`);
      qdq.push({ name: '', opType: 'QuantizeLinear', input: [t, scale, zp], output: [q] });
      qdq.push({ name: '', opType: 'DequantizeLinear', input: [q, scale, zp], output: [dq] });
      dequantized.set(t, dq);
    }
    return dq;
  };
  /** Weights and biases leave out the zero point (optional; 0 of the quantized type). */
  const dqNode = (base: string, q: string, scale: string, zp: string | undefined, axis?: number): string => {
    const out = fresh(`${base}_dequantized`);
    qdq.push({ name: '', opType: 'DequantizeLinear', input: zp ? [q, scale, zp] : [q, scale], output: [out], attribute: axis === undefined ? [] : [intAttr('axis', axis)] });
    return out;
  };
  /** int8 weight behind a DQ: per output channel (axis) or per tensor. Returns the DQ output and the scales. */
  const weightDq = (w: TensorProto, axis: number | undefined): { out: string; scales: Float32Array } => {
    const values = readFloats(w);
    const shape = dims(w);
    const base = w.name ?? 'weight';
    if (axis !== undefined) {
      const { q, scales } = quantizePerChannel(values, shape, axis, reduceRange);
      const c = shape[axis] ?? 1;
      const qn = addInit(int8Tensor(fresh(`${base}_quantized`), shape, q));
      const sn = addInit(floatTensor(fresh(`${base}_scale`), [c], scales));
      return { out: dqNode(base, qn, sn, undefined, axis), scales };
    }
    let absMax = 0;
    for (const v of values) absMax = Math.max(absMax, Math.abs(v));
    const { scale } = int8SymmetricParams(absMax, reduceRange);
    const qn = addInit(int8Tensor(fresh(`${base}_quantized`), shape, quantizeInt8(values, scale, reduceRange ? 63 : 127)));
    const sn = addInit(floatTensor(fresh(`${base}_scale`), [], [scale]));
    return { out: dqNode(base, qn, sn, undefined), scales: Float32Array.of(scale) };
  };
  /** int32 bias at (activation scale × weight scale), zero point 0: what QLinearConv takes. */
  const biasDq = (b: TensorProto, activationScale: number, weightScales: Float32Array): string => {
    const values = readFloats(b);
    const scales = Float32Array.from(values, (_, i) => activationScale * (weightScales.length === 1 ? weightScales[0]! : weightScales[i]!));
    const q = Int32Array.from(values, (v, i) => Math.round(v / scales[i]!));
    const base = b.name ?? 'bias';
    const qn = addInit(int32Tensor(fresh(`${base}_quantized`), dims(b), q));
    const sn = addInit(floatTensor(fresh(`${base}_scale`), [values.length], scales));
    return dqNode(base, qn, sn, undefined, 0);
  };

  // Each calibrated activation gets its Q → DQ right after its producer (or at the start for graph inputs).
  const emitQdq = (tensors: readonly string[]): void => {
    for (const t of tensors) if (wanted.has(t)) activationDq(t);
    out.push(...qdq.splice(0));
  };
  const out: NodeProto[] = [];
  emitQdq((graph.input ?? []).map((i) => i.name ?? ''));
  for (const node of graph.node) {
    const op = node.opType ?? '';
    const slots = slotsOf(node);
    if (!slots) {
      out.push(node);
      emitQdq(node.output ?? []);
      continue;
    }
    const inputs = [...(node.input ?? [])];
    const label = node.name || node.output?.[0] || op;
    const quantizedInputs = inputs.map((t, i) => ((slots === 'all' || slots.includes(i)) && isActivation(t) ? dequantized.get(t) : undefined));
    if (WEIGHTED.has(op)) {
      const x = inputs[0] ?? '';
      const w = inits.get(inputs[1] ?? '');
      const xp = params.get(x);
      if (w && num(w.dataType) === DT.FLOAT && xp && quantizedInputs[0]) {
        // Conv weights [M, C/g, k…]: per output channel on axis 0. MatMul/Gemm: per tensor.
        const { out: wOut, scales } = weightDq(w, op === 'Conv' ? 0 : undefined);
        inputs[1] = wOut;
        const b = inits.get(inputs[2] ?? '');
        if (b && num(b.dataType) === DT.FLOAT && dims(b).length === 1) inputs[2] = biasDq(b, xp.scale, scales);
        rewritten[op] = (rewritten[op] ?? 0) + 1;
      } else if (!w) {
        if (op !== 'MatMul') skipped.push({ node: label, op, reason: 'weight is not a constant' });
      } else {
        skipped.push({ node: label, op, reason: xp ? 'weight is not float32' : 'input range not calibrated' });
      }
    }
    // Constant inputs of Add/Mul (and MatMul's second operand) are quantized like weights (uint8, own range).
    if (op === 'Add' || op === 'Mul') {
      inputs.forEach((t, i) => {
        const c = inits.get(t);
        if (!c || num(c.dataType) !== DT.FLOAT || !inputs.some((o, j) => j !== i && quantizedInputs[j])) return;
        const values = readFloats(c);
        let min = Infinity;
        let max = -Infinity;
        for (const v of values) { min = Math.min(min, v); max = Math.max(max, v); }
        const p = uint8Params(min, max);
        const qn = addInit(uint8Tensor(fresh(`${t}_quantized`), dims(c), quantizeUint8(values, p)));
        const sn = addInit(floatTensor(fresh(`${t}_scale`), [], [p.scale]));
        const zn = addInit(uint8Tensor(fresh(`${t}_zero_point`), [], Uint8Array.of(p.zeroPoint)));
        inputs[i] = dqNode(t, qn, sn, zn);
      });
      if (quantizedInputs.some(Boolean)) rewritten[op] = (rewritten[op] ?? 0) + 1;
    }
    node.input = inputs.map((t, i) => quantizedInputs[i] ?? t);
    out.push(...qdq.splice(0), node);
    emitQdq(node.output ?? []);
  }
  // Every other reader of a quantized activation reads its DQ output too: onnxruntime fuses an op
  // into a QLinear kernel only when its output goes to QuantizeLinear alone. Graph outputs keep float.
  for (const node of out) {
    if (node.opType === 'QuantizeLinear') continue;
    node.input = (node.input ?? []).map((t) => dequantized.get(t) ?? t);
  }
  graph.node = out;
  graph.valueInfo = [];
  pruneInitializers(graph);
  if (options.compactNames ?? true) compactNames(graph);
  return { bytes: encodeModel(model), rewritten, skipped, quantizedTensors: dequantized.size, samples: options.samples.length };
}

export type { CalibrationMethod, Feeds, TensorRange };

/**
 * x / c with a constant float c becomes x · (1/c): Div has no quantized kernel, Mul has
 * (QLinearMul), so hard-swish's "/ 6" stays in int8.
 */
function divisionsToMultiplications(graph: ReturnType<typeof graphOf>): void {
  const inits = initializerMap(graph);
  const fresh = nameAllocator(graph);
  for (const node of graph.node) {
    if (node.opType !== 'Div') continue;
    const c = inits.get(node.input?.[1] ?? '');
    if (!c || num(c.dataType) !== DT.FLOAT) continue;
    const values = readFloats(c);
    if (values.some((v) => v === 0)) continue;
    const name = fresh(`${c.name}_reciprocal`);
    graph.initializer.push(floatTensor(name, dims(c), values.map((v) => 1 / v)));
    node.opType = 'Mul';
    node.input = [node.input?.[0] ?? '', name];
  }
}
