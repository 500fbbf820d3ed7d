import { EdgefleetError } from '@edgefleet/shared';
import { foldBatchNorms } from './fold-batch-norm.js';
import {
  DT,
  assertRewritable,
  attrFloat,
  attrInt,
  constantsToInitializers,
  decodeModel,
  dims,
  encodeModel,
  floatTensor,
  graphOf,
  initializerMap,
  int8Tensor,
  intAttr,
  nameAllocator,
  num,
  pruneInitializers,
  readFloats,
  uint8Tensor,
  type NodeProto,
} from './onnx-graph.js';
import { upgradeToOpset13 } from './opset-upgrade.js';
import { quantizePerChannel } from './quant-math.js';

export interface DynamicInt8Options {
  /**
   * Conv weights too (ConvInteger, uint8 × uint8: the only form onnxruntime's CPU EP implements,
   * microsoft/onnxruntime#6430). Off by default: measured slower than float32 Conv on CPU (docs/quantization.md);
   * for convolutional models use static INT8.
   * @default false
   */
  conv?: boolean;
  /**
   * 7-bit weights: measured necessary on this AVX2 machine (no VNNI), where full-range u8×s8 products
   * saturate (a 2-layer MLP erred by 13% of its range, 0.2% with 7 bits); see quant-math.ts.
   * @default true
   */
  reduceRange?: boolean;
}

export interface RewriteReport {
  /** The rewritten model. */
  bytes: Buffer;
  /** Nodes rewritten, by op type. */
  rewritten: Record<string, number>;
  /** Nodes of a quantizable type left in float32, with why. */
  skipped: { node: string; op: string; reason: string }[];
}

/**
 * Dynamic INT8: weights of MatMul/Gemm (and Conv with `conv`) quantized ahead of time per output
 * channel, activations quantized at run time with DynamicQuantizeLinear, integer products
 * rescaled to float32 (DynamicQuantizeLinear → MatMulInteger → Cast → Mul, the pattern
 * onnxruntime's CPU EP fuses into one DynamicQuantizeMatMul kernel).
 */
export function quantizeDynamicInt8(input: Uint8Array, options: DynamicInt8Options = {}): RewriteReport {
  const model = decodeModel(input);
  const graph = graphOf(model);
  constantsToInitializers(graph);
  assertRewritable(graph, 'dynamic INT8');
  upgradeToOpset13(model);
  if (options.conv) foldBatchNorms(model);
  const inits = initializerMap(graph);
  const fresh = nameAllocator(graph, true);
  const reduceRange = options.reduceRange ?? true;
  const rewritten: Record<string, number> = {};
  const skipped: RewriteReport['skipped'] = [];
  const dynamicQuant = new Map<string, { q: string; scale: string; zp: string }>();
  const out: NodeProto[] = [];

  const quantizeActivation = (x: string): { q: string; scale: string; zp: string } => {
    let dq = dynamicQuant.get(x);
    if (!dq) {
      dq = { q: fresh(`${x}_quantized`), scale: fresh(`${x}_scale`), zp: fresh(`${x}_zero_point`) };
      out.push({ name: fresh(`${x}_DynamicQuantizeLinear`), opType: 'DynamicQuantizeLinear', input: [x], output: [dq.q, dq.scale, dq.zp] });
      dynamicQuant.set(x, dq);
    }
    return dq;
  };
  const constFloat = (base: string, shape: number[], values: Float32Array): string => {
    const name = fresh(base);
    graph.initializer.push(floatTensor(name, shape, values));
    return name;
  };
  /** Integer result → float32 × (activation scale · weight scales) [+ bias]. */
  const rescale = (node: NodeProto, integer: string, activationScale: string, weightScales: string, y: string, bias?: string): void => {
    const base = node.name || y;
    const asFloat = fresh(`${base}_float`);
    const scale = fresh(`${base}_scale`);
    const scaled = bias ? fresh(`${base}_scaled`) : y;
    out.push({ name: fresh(`${base}_cast`), opType: 'Cast', input: [integer], output: [asFloat], attribute: [intAttr('to', DT.FLOAT)] });
    out.push({ name: fresh(`${base}_scale_mul`), opType: 'Mul', input: [activationScale, weightScales], output: [scale] });
    out.push({ name: fresh(`${base}_rescale`), opType: 'Mul', input: [asFloat, scale], output: [scaled] });
    if (bias) out.push({ name: fresh(`${base}_bias_add`), opType: 'Add', input: [scaled, bias], output: [y] });
  };

  for (const node of graph.node) {
    const op = node.opType ?? '';
    const label = node.name || node.output?.[0] || op;
    const skip = (reason: string): void => {
      skipped.push({ node: label, op, reason });
      out.push(node);
    };
    if (op === 'MatMul' || op === 'Gemm') {
      const [a, b, c] = node.input ?? [];
      const w = inits.get(b ?? '');
      if (!w || num(w.dataType) !== DT.FLOAT || dims(w).length !== 2) { skip('weight is not a constant 2-D float32 tensor'); continue; }
      if (op === 'Gemm' && attrInt(node, 'transA', 0) !== 0) { skip('transA is set'); continue; }
      let [k, n] = dims(w) as [number, number];
      let values = readFloats(w);
      if (op === 'Gemm' && attrInt(node, 'transB', 0) !== 0) {
        // Stored [N, K]; MatMulInteger wants [K, N].
        const [rows, cols] = [k, n];
        const t = new Float32Array(values.length);
        for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = values[r * cols + c]!;
        [k, n] = [cols, rows];
        values = t;
      }
      let bias: string | undefined;
      if (op === 'Gemm' && c) {
        const cInit = inits.get(c);
        if (!cInit) { skip('bias C is not a constant'); continue; }
        const beta = attrFloat(node, 'beta', 1);
        const cv = readFloats(cInit).map((v) => v * beta);
        bias = constFloat(`${c}_scaled`, dims(cInit), cv);
      }
      const { q, scales } = quantizePerChannel(values, [k, n], 1, reduceRange);
      const alpha = op === 'Gemm' ? attrFloat(node, 'alpha', 1) : 1;
      const qName = fresh(`${b}_quantized`);
      const zpName = fresh(`${b}_zero_point`);
      graph.initializer.push(int8Tensor(qName, [k, n], q), int8Tensor(zpName, [n], new Int8Array(n)));
      const scaleName = constFloat(`${b}_scale`, [n], scales.map((s) => s * alpha));
      const act = quantizeActivation(a ?? '');
      const integer = fresh(`${label}_int32`);
      out.push({ name: fresh(`${label}_MatMulInteger`), opType: 'MatMulInteger', input: [act.q, qName, act.zp, zpName], output: [integer] });
      rescale(node, integer, act.scale, scaleName, node.output?.[0] ?? '', bias);
      rewritten[op] = (rewritten[op] ?? 0) + 1;
      continue;
    }
    if (op === 'Conv' && options.conv) {
      const [x, wName, bName] = node.input ?? [];
      const w = inits.get(wName ?? '');
      if (!w || num(w.dataType) !== DT.FLOAT) { skip('weight is not a constant float32 tensor'); continue; }
      const shape = dims(w);
      const m = shape[0] ?? 0;
      const values = readFloats(w);
      // onnxruntime's ConvInteger takes one weight zero point per tensor ("Non per-tensor
      // quantization is not supported"): 128 for all, symmetric per-channel scales on top.
      const { q: signed, scales } = quantizePerChannel(values, shape, 0, reduceRange);
      const q = Uint8Array.from(signed, (v) => v + 128);
      const broadcast = [1, m, ...shape.slice(2).map(() => 1)];
      const qName = fresh(`${wName}_quantized`);
      const zpName = fresh(`${wName}_zero_point`);
      graph.initializer.push(uint8Tensor(qName, shape, q), uint8Tensor(zpName, [], Uint8Array.of(128)));
      const scaleName = constFloat(`${wName}_scale`, broadcast, scales);
      let bias: string | undefined;
      if (bName) {
        const bInit = inits.get(bName);
        if (!bInit) { skip('bias is not a constant'); continue; }
        bias = constFloat(`${bName}_broadcast`, broadcast, readFloats(bInit));
      }
      const act = quantizeActivation(x ?? '');
      const integer = fresh(`${label}_int32`);
      out.push({ ...node, name: fresh(`${label}_ConvInteger`), opType: 'ConvInteger', input: [act.q, qName, act.zp, zpName], output: [integer] });
      rescale(node, integer, act.scale, scaleName, node.output?.[0] ?? '', bias);
      rewritten[op] = (rewritten[op] ?? 0) + 1;
      continue;
    }
    out.push(node);
  }
  if (!Object.keys(rewritten).length) {
    const ops = options.conv ? 'MatMul, Gemm or Conv' : 'MatMul or Gemm';
    throw new EdgefleetError('QUANTIZE_UNSUPPORTED', `dynamic INT8 found nothing to quantize: no ${ops} node with constant float32 weights${skipped.length ? ` (${skipped.map((s) => `${s.op} '${s.node}': ${s.reason}`).join('; ')})` : ''}${options.conv ? '' : '; for convolutional models use static INT8'}`, { details: { skipped } });
  }
  graph.node = out;
  graph.valueInfo = [];
  pruneInitializers(graph);
  return { bytes: encodeModel(model), rewritten, skipped };
}

