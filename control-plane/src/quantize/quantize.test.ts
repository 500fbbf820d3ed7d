import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { EdgefleetError } from '@edgefleet/shared';
import { calibrate, checkAccuracy, convertToFp16, quantizeDynamicInt8, quantizeStaticInt8, thresholdFailures, type Feeds } from './index.js';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

// Small graphs built here, so each rewrite's input is obvious. Weights are deterministic pseudo-random.
interface Node { op: string; inputs: string[]; outputs: string[]; attrs?: onnxProto.onnx.IAttributeProto[]; domain?: string; name?: string }
function model(spec: { inputs: [string, number[]][]; outputs: [string, number[]][]; nodes: Node[]; weights?: Record<string, [number[], Float32Array]>; opset?: number }): Buffer {
  const vi = ([name, shape]: [string, number[]]): onnxProto.onnx.IValueInfoProto => ({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: shape.map((d) => ({ dimValue: d })) } } } });
  const m = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    graph: {
      name: 'test',
      input: spec.inputs.map(vi),
      output: spec.outputs.map(vi),
      node: spec.nodes.map((n, i) => ({ name: n.name ?? `${n.op}_${i}`, opType: n.op, input: n.inputs, output: n.outputs, attribute: n.attrs ?? [], domain: n.domain ?? '' })),
      initializer: Object.entries(spec.weights ?? {}).map(([name, [dims, values]]) => ({ name, dims, dataType: FLOAT, rawData: new Uint8Array(values.buffer) })),
    },
  });
  return Buffer.from(onnx.ModelProto.encode(m).finish());
}
function values(n: number, seed: number, scale = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648 - 0.5) * 2 * scale;
  });
}
const ints = (name: string, v: number[]): onnxProto.onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
const int = (name: string, v: number): onnxProto.onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INT, i: v });
const float = (name: string, v: number): onnxProto.onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v });
const sample = (shape: number[], seed: number, name = 'x'): Feeds => ({ [name]: new ort.Tensor('float32', values(shape.reduce((a, b) => a * b, 1), seed), shape) });

async function run(bytes: Uint8Array, feeds: Feeds): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  try {
    return (await session.run(feeds))[session.outputNames[0]!]!.data as Float32Array;
  } finally {
    await session.release();
  }
}
const ops = (bytes: Uint8Array): string[] => onnx.ModelProto.decode(bytes).graph!.node!.map((n) => n.opType ?? '');
function expectClose(actual: Float32Array, expected: Float32Array, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let range = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
    range = Math.max(range, Math.abs(expected[i]!));
  }
  expect(worst).toBeLessThanOrEqual(tolerance * Math.max(range, 1e-6));
}
function refusal(fn: () => unknown): EdgefleetError {
  try {
    fn();
  } catch (err) {
    if (err instanceof EdgefleetError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

// y = relu(x·W1 + b1)·W2ᵀ (MatMul, then Gemm with transB and a bias).
const mlp = (): Buffer =>
  model({
    inputs: [['x', [4, 32]]],
    outputs: [['y', [4, 10]]],
    weights: { w1: [[32, 16], values(512, 1, 0.5)], w2: [[10, 16], values(160, 2, 0.5)], b2: [[10], values(10, 3, 0.1)] },
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w1'], outputs: ['h'] },
      { op: 'Relu', inputs: ['h'], outputs: ['r'] },
      { op: 'Gemm', inputs: ['r', 'w2', 'b2'], outputs: ['y'], attrs: [int('transB', 1), float('alpha', 0.5)] },
    ],
  });

// Conv → BatchNorm → Relu → Conv (+ residual Add) → MaxPool → GlobalAveragePool → Flatten → Gemm.
const cnn = (): Buffer =>
  model({
    inputs: [['x', [1, 3, 16, 16]]],
    outputs: [['y', [1, 5]]],
    weights: {
      w1: [[8, 3, 3, 3], values(216, 4, 0.4)],
      gamma: [[8], Float32Array.from(values(8, 5, 0.3), (v) => 1 + v)],
      beta: [[8], values(8, 6, 0.1)],
      mean: [[8], values(8, 7, 0.1)],
      var: [[8], Float32Array.from(values(8, 8, 0.2), (v) => 1 + v)],
      w2: [[8, 8, 3, 3], values(576, 9, 0.2)],
      b2: [[8], values(8, 10, 0.1)],
      fc: [[8, 5], values(40, 11, 0.5)],
      fcb: [[5], values(5, 12, 0.1)],
    },
    nodes: [
      { op: 'Conv', inputs: ['x', 'w1'], outputs: ['c1'], attrs: [ints('pads', [1, 1, 1, 1])] },
      { op: 'BatchNormalization', inputs: ['c1', 'gamma', 'beta', 'mean', 'var'], outputs: ['bn'] },
      { op: 'Relu', inputs: ['bn'], outputs: ['r1'] },
      { op: 'Conv', inputs: ['r1', 'w2', 'b2'], outputs: ['c2'], attrs: [ints('pads', [1, 1, 1, 1])] },
      { op: 'Add', inputs: ['c2', 'r1'], outputs: ['sum'] },
      { op: 'MaxPool', inputs: ['sum'], outputs: ['p'], attrs: [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])] },
      { op: 'GlobalAveragePool', inputs: ['p'], outputs: ['g'] },
      { op: 'Flatten', inputs: ['g'], outputs: ['f'] },
      { op: 'Gemm', inputs: ['f', 'fc', 'fcb'], outputs: ['y'] },
    ],
  });

describe('dynamic INT8', () => {
  it('rewrites MatMul and Gemm into DynamicQuantizeLinear + MatMulInteger, within 2% of float32', async () => {
    const fp32 = mlp();
    const { bytes, rewritten } = quantizeDynamicInt8(fp32);
    expect(rewritten).toEqual({ MatMul: 1, Gemm: 1 });
    expect(ops(bytes)).toContain('DynamicQuantizeLinear');
    expect(ops(bytes).filter((o) => o === 'MatMulInteger')).toHaveLength(2);
    const feeds = sample([4, 32], 20);
    expectClose(await run(bytes, feeds), await run(fp32, feeds), 0.02);
  });

  it('quantizes Conv into ConvInteger (uint8 weights, one zero point) when asked, within 3%', async () => {
    const fp32 = cnn();
    const { bytes, rewritten } = quantizeDynamicInt8(fp32, { conv: true });
    expect(rewritten.Conv).toBe(2);
    expect(ops(bytes)).toContain('ConvInteger');
    expect(ops(bytes)).not.toContain('BatchNormalization');
    const feeds = sample([1, 3, 16, 16], 21);
    expectClose(await run(bytes, feeds), await run(fp32, feeds), 0.03);
  });
});

describe('static INT8 (QDQ)', () => {
  it('folds BatchNorm, calibrates and puts Q/DQ around the arithmetic, within 5% of float32', async () => {
    const fp32 = cnn();
    const samples = [1, 2, 3, 4, 5, 6, 7, 8].map((s) => sample([1, 3, 16, 16], s));
    const report = await quantizeStaticInt8(fp32, { samples });
    expect(report.rewritten).toMatchObject({ Conv: 2, Gemm: 1, Add: 1 });
    const decoded = onnx.ModelProto.decode(report.bytes);
    expect(Number(decoded.opsetImport?.[0]?.version)).toBe(13);
    expect(ops(report.bytes)).toContain('QuantizeLinear');
    expect(ops(report.bytes)).not.toContain('BatchNormalization');
    // Conv weights are int8 now; the graph keeps its float32 input and output.
    expect(decoded.graph!.initializer!.filter((t) => t.dataType === onnx.TensorProto.DataType.INT8).length).toBeGreaterThanOrEqual(3);
    expect(decoded.graph!.input![0]!.name).toBe('x');
    expect(decoded.graph!.output![0]!.name).toBe('y');
    const feeds = sample([1, 3, 16, 16], 3);
    expectClose(await run(report.bytes, feeds), await run(fp32, feeds), 0.05);
  });

  it('upgrades an opset 9 graph (Clip and Slice attributes, Softmax on the 2-D view) to 13', async () => {
    const fp32 = model({
      opset: 9,
      inputs: [['x', [2, 8]]],
      outputs: [['y', [2, 4]]],
      weights: { w: [[8, 6], values(48, 13, 0.5)] },
      nodes: [
        { op: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] },
        { op: 'Clip', inputs: ['h'], outputs: ['c'], attrs: [float('min', 0), float('max', 0.6)] },
        { op: 'Slice', inputs: ['c'], outputs: ['s'], attrs: [ints('starts', [1]), ints('ends', [5]), ints('axes', [1])] },
        { op: 'Softmax', inputs: ['s'], outputs: ['y'] },
      ],
    });
    const samples = [1, 2, 3].map((s) => sample([2, 8], s));
    const report = await quantizeStaticInt8(fp32, { samples });
    expect(Number(onnx.ModelProto.decode(report.bytes).opsetImport?.[0]?.version)).toBe(13);
    expectClose(await run(report.bytes, samples[0]!), await run(fp32, samples[0]!), 0.03);
  });
});

describe('FP16', () => {
  it('keeps float32 inputs and outputs with Casts at the edges and Max in float32, within 0.5%', async () => {
    const fp32 = model({
      inputs: [['x', [1, 3, 8, 8]]],
      outputs: [['y', [1, 4, 8, 8]]],
      weights: { w: [[4, 3, 3, 3], values(108, 14, 0.4)], floor: [[1], Float32Array.of(0.05)] },
      nodes: [
        { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: [ints('pads', [1, 1, 1, 1])] },
        { op: 'Sigmoid', inputs: ['c'], outputs: ['s'] },
        { op: 'Max', inputs: ['s', 'floor'], outputs: ['y'] },
      ],
    });
    const { bytes } = convertToFp16(fp32);
    const g = onnx.ModelProto.decode(bytes).graph!;
    expect(g.input![0]!.type!.tensorType!.elemType).toBe(FLOAT);
    expect(g.output![0]!.type!.tensorType!.elemType).toBe(FLOAT);
    const weight = g.initializer!.find((t) => t.dims?.length === 4)!;
    expect(weight.dataType).toBe(onnx.TensorProto.DataType.FLOAT16);
    // Max reads float32: its constant stays float32, Sigmoid's half output is cast up.
    expect(g.initializer!.find((t) => t.dims?.length === 1)!.dataType).toBe(FLOAT);
    expect(ops(bytes).filter((o) => o === 'Cast')).toHaveLength(2);
    const feeds = sample([1, 3, 8, 8], 4);
    expectClose(await run(bytes, feeds), await run(fp32, feeds), 0.005);
  });
});

describe('refusals', () => {
  it('refuses an already quantized model, naming the node', () => {
    const q = model({
      inputs: [['x', [1, 4]]],
      outputs: [['y', [1, 4]]],
      weights: { s: [[], Float32Array.of(0.1)] },
      nodes: [{ op: 'QuantizeLinear', inputs: ['x', 's'], outputs: ['q'], name: 'quant_in' }, { op: 'DequantizeLinear', inputs: ['q', 's'], outputs: ['y'] }],
    });
    const err = refusal(() => quantizeDynamicInt8(q));
    expect(err.code).toBe('QUANTIZE_ALREADY_QUANTIZED');
    expect(err.message).toContain("QuantizeLinear node 'quant_in'");
    expect(refusal(() => convertToFp16(convertToFp16(mlp()).bytes)).code).toBe('QUANTIZE_ALREADY_QUANTIZED');
  });

  it('refuses custom-domain operators and control flow by op and node', () => {
    const custom = model({ inputs: [['x', [1, 4]]], outputs: [['y', [1, 4]]], nodes: [{ op: 'FusedGelu', domain: 'com.example', inputs: ['x'], outputs: ['y'], name: 'gelu_7' }] });
    const err = refusal(() => convertToFp16(custom));
    expect(err.code).toBe('QUANTIZE_UNSUPPORTED');
    expect(err.message).toContain("FusedGelu node 'gelu_7'");
    expect(err.message).toContain('com.example');
    const loop = model({ inputs: [['x', [1, 4]]], outputs: [['y', [1, 4]]], nodes: [{ op: 'If', inputs: ['x'], outputs: ['y'], name: 'branch' }] });
    expect(refusal(() => quantizeDynamicInt8(loop)).message).toContain("If node 'branch'");
  });

  it('refuses an opset too old, and an opset 9 operator without an upgrade rule, by name', () => {
    expect(refusal(() => quantizeDynamicInt8(model({ ...mlpSpec(), opset: 8 }))).code).toBe('QUANTIZE_OPSET_UNSUPPORTED');
    const upsample = model({
      opset: 9,
      inputs: [['x', [1, 4]]],
      outputs: [['y', [1, 4]]],
      weights: { w: [[4, 4], values(16, 15)], scales: [[2], Float32Array.of(1, 1)] },
      nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] }, { op: 'Upsample', inputs: ['h', 'scales'], outputs: ['y'], name: 'up_1' }],
    });
    const err = refusal(() => quantizeDynamicInt8(upsample));
    expect(err.code).toBe('QUANTIZE_OPSET_UNSUPPORTED');
    expect(err.message).toContain("Upsample node 'up_1'");
  });

  it('refuses a model with nothing to quantize instead of writing an unchanged copy', async () => {
    const add = model({ inputs: [['x', [1, 4]]], outputs: [['y', [1, 4]]], weights: { c: [[4], values(4, 16)] }, nodes: [{ op: 'Add', inputs: ['x', 'c'], outputs: ['y'] }] });
    expect(refusal(() => quantizeDynamicInt8(add)).code).toBe('QUANTIZE_UNSUPPORTED');
    await expect(quantizeStaticInt8(add, { samples: [sample([1, 4], 1)] })).rejects.toMatchObject({ code: 'QUANTIZE_UNSUPPORTED' });
  });
});

describe('accuracy check', () => {
  it('measures a good variant as passing and a damaged one as failing the thresholds', async () => {
    const fp32 = mlp();
    const samples = [1, 2, 3].map((s) => sample([4, 32], s));
    const good = await checkAccuracy(fp32, quantizeDynamicInt8(fp32).bytes, samples, { latencyRuns: 3 });
    expect(good.cosine).toBeGreaterThan(0.999);
    expect(good.top1Agreement).toBeGreaterThanOrEqual(0.9);
    expect(good.latencyRatio).toBeGreaterThan(0);
    expect(thresholdFailures(good, { minCosine: 0.99, minTop1: 0.9 })).toEqual([]);
    // The same graph with other weights: a variant that does not compute the model.
    const other = model({ ...mlpSpec(), weights: { ...mlpSpec().weights, w1: [[32, 16], values(512, 99, 0.5)] } });
    const bad = await checkAccuracy(fp32, other, samples, { latencyRuns: 3 });
    expect(thresholdFailures(bad, { minCosine: 0.99, minTop1: 0.98 }).length).toBeGreaterThan(0);
  });
});

function mlpSpec(): Parameters<typeof model>[0] {
  return {
    inputs: [['x', [4, 32]]],
    outputs: [['y', [4, 10]]],
    weights: { w1: [[32, 16], values(512, 1, 0.5)], w2: [[10, 16], values(160, 2, 0.5)], b2: [[10], values(10, 3, 0.1)] },
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w1'], outputs: ['h'] },
      { op: 'Relu', inputs: ['h'], outputs: ['r'] },
      { op: 'Gemm', inputs: ['r', 'w2', 'b2'], outputs: ['y'], attrs: [int('transB', 1), float('alpha', 0.5)] },
    ],
  };
}

describe('calibration', () => {
  it('percentile clips a rare outlier that MinMax keeps', async () => {
    const fp32 = model({ inputs: [['x', [1, 1000]]], outputs: [['y', [1, 1000]]], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] });
    const decoded = onnx.ModelProto.decode(fp32);
    const data = Float32Array.from({ length: 1000 }, (_, i) => (i === 7 ? 100 : (i % 10) / 10));
    const feeds = { x: new ort.Tensor('float32', data, [1, 1000]) };
    const minmax = await calibrate(decoded, ['y'], [feeds]);
    const pct = await calibrate(decoded, ['y'], [feeds], { method: 'percentile', percentile: 99.9 });
    expect(minmax.get('y')).toEqual({ min: 0, max: 100 });
    expect(pct.get('y')!.max).toBeLessThan(1);
    expect(pct.get('y')!.max).toBeGreaterThanOrEqual(0.9 - 100 / 2048);
  });
});
